// The whole app on Azure: one resource group with monitoring, storage, Service Bus, Cosmos DB,
// Event Hubs, a Key Vault and the Flex Consumption function app, all reached with the app's
// user-assigned managed identity — no keys, no connection strings; the app's own secrets (message
// signing, field encryption, API keys) are Key Vault references. `azd up` provisions it and deploys the app.
// The messaging topology, the containers and the event hubs mirror config/ (npm run infra:sync
// writes them; the drift test in `npm test` checks they agree).
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; names and tags derive from it.')
param environmentName string

@minLength(1)
@description('Azure region (one that offers Flex Consumption).')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of the deploying user: given the same data roles as the app when grantDeveloperAccess is true, so `func start` works against the cloud resources right after `azd provision`.')
param principalId string = ''

@description('Grant the deploying user data access to Service Bus, Cosmos DB, Event Hubs and storage.')
param grantDeveloperAccess bool = true

@allowed([
  'Standard'
  'Premium'
])
param serviceBusSku string = 'Standard'

@allowed([
  'serverless'
  'autoscale'
])
param cosmosThroughputMode string = 'serverless'

@description('Maximum RU/s of the database when cosmosThroughputMode is autoscale.')
param cosmosAutoscaleMaxThroughput int = 4000

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Where alert notifications go (empty: alerts fire without notifications).')
param alertEmail string = ''

var abbrs = loadJsonContent('./abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var functionAppName = '${abbrs.webSitesFunctions}api-${resourceToken}'
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}-${take(toLower(uniqueString(functionAppName, resourceToken)), 7)}'
var databaseName = 'integration'
// Names are computed here, not read from module outputs, so what-if predicts every resource id
// (the linter's what-if-short-circuiting rule); the modules that need others say so in dependsOn.
var identityName = '${abbrs.managedIdentityUserAssignedIdentities}api-${resourceToken}'
var storageAccountName = '${abbrs.storageStorageAccounts}${resourceToken}'
var applicationInsightsName = '${abbrs.insightsComponents}${resourceToken}'
var serviceBusNamespaceName = '${abbrs.serviceBusNamespaces}${resourceToken}'
var cosmosAccountName = '${abbrs.documentDBDatabaseAccounts}${resourceToken}'
var eventHubsNamespaceName = '${abbrs.eventHubNamespaces}${resourceToken}'
var keyVaultName = '${abbrs.keyVaultVaults}${resourceToken}'
var taskHubName = 'orders${resourceToken}'

resource rg 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity './modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: identityName
    location: location
    tags: tags
  }
}

module monitoring './modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    location: location
    tags: tags
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: applicationInsightsName
  }
}

module storage './modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: storageAccountName
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
  }
}

module messaging './modules/messaging.bicep' = {
  name: 'messaging'
  scope: rg
  params: {
    name: serviceBusNamespaceName
    location: location
    tags: tags
    sku: serviceBusSku
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
  }
}

module cosmos './modules/cosmos.bicep' = {
  name: 'cosmos'
  scope: rg
  params: {
    name: cosmosAccountName
    location: location
    tags: tags
    databaseName: databaseName
    throughputMode: cosmosThroughputMode
    autoscaleMaxThroughput: cosmosAutoscaleMaxThroughput
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
  }
}

module eventHubs './modules/eventhubs.bicep' = {
  name: 'eventhubs'
  scope: rg
  params: {
    name: eventHubsNamespaceName
    location: location
    tags: tags
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
  }
}

module keyVault './modules/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: keyVaultName
    location: location
    tags: tags
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
  }
}

module api './app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: functionAppName
    location: location
    tags: tags
    planName: '${abbrs.webServerFarms}${resourceToken}'
    identityId: identity.outputs.resourceId
    identityClientId: identity.outputs.clientId
    storageAccountName: storageAccountName
    deploymentContainerName: deploymentContainerName
    applicationInsightsName: applicationInsightsName
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
    serviceBusNamespaceFqdn: messaging.outputs.fullyQualifiedNamespace
    cosmosEndpoint: cosmos.outputs.endpoint
    cosmosDatabaseName: databaseName
    eventHubsNamespaceFqdn: eventHubs.outputs.fullyQualifiedNamespace
    taskHubName: taskHubName
    keyVaultName: keyVaultName
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
  }
  dependsOn: [
    storage
    keyVault
  ]
}

module rbac './app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    appIdentityName: identityName
    developerPrincipalId: grantDeveloperAccess ? principalId : ''
    storageAccountName: storageAccountName
    serviceBusNamespaceName: serviceBusNamespaceName
    cosmosAccountName: cosmosAccountName
    eventHubsNamespaceName: eventHubsNamespaceName
    applicationInsightsName: applicationInsightsName
    keyVaultName: keyVaultName
    keyVaultSeederPrincipalId: principalId
  }
  dependsOn: [
    identity
    storage
    messaging
    cosmos
    eventHubs
    monitoring
    keyVault
  ]
}

module alerts './modules/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    location: location
    tags: tags
    actionGroupName: '${abbrs.insightsActionGroups}${resourceToken}'
    alertEmail: alertEmail
    serviceBusNamespaceId: messaging.outputs.resourceId
    applicationInsightsId: monitoring.outputs.applicationInsightsId
  }
}

module workbook './modules/workbook.bicep' = {
  name: 'workbook'
  scope: rg
  params: {
    location: location
    tags: tags
    applicationInsightsId: monitoring.outputs.applicationInsightsId
  }
}

// What azd keeps in the environment (azd env get-values): the app's name, and the endpoints the
// postprovision hook writes into local.settings.cloud.json for `func start` against the cloud.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output SERVICE_API_NAME string = api.outputs.name
output AZURE_FUNCTION_NAME string = api.outputs.name
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.applicationInsightsConnectionString
output SERVICEBUS_FULLY_QUALIFIED_NAMESPACE string = messaging.outputs.fullyQualifiedNamespace
output COSMOS_ACCOUNT_ENDPOINT string = cosmos.outputs.endpoint
output COSMOS_DATABASE_NAME string = databaseName
output EVENTHUBS_FULLY_QUALIFIED_NAMESPACE string = eventHubs.outputs.fullyQualifiedNamespace
output AZURE_STORAGE_BLOB_ENDPOINT string = storage.outputs.blobEndpoint
output AZURE_STORAGE_QUEUE_ENDPOINT string = storage.outputs.queueEndpoint
output AZURE_STORAGE_TABLE_ENDPOINT string = storage.outputs.tableEndpoint
output DURABLE_TASK_HUB_NAME string = taskHubName
// The vault the postprovision hook seeds with generated keys (names only; values never leave it).
output KEY_VAULT_NAME string = keyVault.outputs.name
