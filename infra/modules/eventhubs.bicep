// The Event Hubs namespace with the hubs and consumer groups of config/eventhubs.yaml. SAS
// authentication is off (data-plane roles only).
param name string
param location string
param tags object
param logAnalyticsWorkspaceId string

// <generated source="config/eventhubs.yaml"> written by npm run infra:sync; edit config/eventhubs.yaml, not this block
var eventHubs = [
  {
    name: 'integration-events'
    partitionCount: 4
    messageRetentionInDays: 1
    consumergroups: [
      {
        name: '$Default'
      }
      {
        name: 'sales-metrics'
      }
    ]
  }
]
// </generated>

module namespace 'br/public:avm/res/event-hub/namespace:0.15.0' = {
  name: 'eventhubs'
  params: {
    name: name
    location: location
    tags: tags
    skuName: 'Standard'
    skuCapacity: 1
    zoneRedundant: false
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
    eventhubs: eventHubs
    diagnosticSettings: [
      {
        workspaceResourceId: logAnalyticsWorkspaceId
        logCategoriesAndGroups: [
          {
            categoryGroup: 'allLogs'
          }
        ]
        metricCategories: [
          {
            category: 'AllMetrics'
          }
        ]
      }
    ]
  }
}

output name string = namespace.outputs.name
output resourceId string = namespace.outputs.resourceId
output fullyQualifiedNamespace string = '${namespace.outputs.name}.servicebus.windows.net'
