// Log Analytics and workspace-based Application Insights. Local authentication is off: telemetry
// is accepted only from Entra ID identities (the app sends it with its managed identity, which
// rbac.bicep makes a Monitoring Metrics Publisher).
param location string
param tags object
param logAnalyticsName string
param applicationInsightsName string

module logAnalytics 'br/public:avm/res/operational-insights/workspace:0.11.1' = {
  name: 'loganalytics'
  params: {
    name: logAnalyticsName
    location: location
    tags: tags
    dataRetention: 30
  }
}

module applicationInsights 'br/public:avm/res/insights/component:0.6.0' = {
  name: 'applicationinsights'
  params: {
    name: applicationInsightsName
    location: location
    tags: tags
    workspaceResourceId: logAnalytics.outputs.resourceId
    disableLocalAuth: true
  }
}

output logAnalyticsWorkspaceId string = logAnalytics.outputs.resourceId
output applicationInsightsId string = applicationInsights.outputs.resourceId
output applicationInsightsName string = applicationInsights.outputs.name
output applicationInsightsConnectionString string = applicationInsights.outputs.connectionString
