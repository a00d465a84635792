// The function app on Flex Consumption (FC1, Node 22): deployed from a blob container through the
// user-assigned identity, every connection identity-based, every secret a Key Vault reference. `appSettings` lists each setting the
// app reads in Azure (src/config/app-settings.ts); the drift test checks both lists agree.
param name string
param location string
param tags object
param appServicePlanId string
param identityId string
param identityClientId string
param storageAccountName string
param deploymentContainerName string
param applicationInsightsName string
param logAnalyticsWorkspaceId string
param serviceBusNamespaceFqdn string
param cosmosEndpoint string
param cosmosDatabaseName string
param eventHubsNamespaceFqdn string
param taskHubName string
@description('The vault whose secrets the app settings reference (read with the user-assigned identity).')
param keyVaultName string
param instanceMemoryMB int = 2048
param maximumInstanceCount int = 100

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

var appSettings = {
  ServiceBusConnection__fullyQualifiedNamespace: serviceBusNamespaceFqdn
  ServiceBusConnection__credential: 'managedidentity'
  ServiceBusConnection__clientId: identityClientId
  CosmosConnection__accountEndpoint: cosmosEndpoint
  CosmosConnection__credential: 'managedidentity'
  CosmosConnection__clientId: identityClientId
  EventHubConnection__fullyQualifiedNamespace: eventHubsNamespaceFqdn
  EventHubConnection__credential: 'managedidentity'
  EventHubConnection__clientId: identityClientId
  AzureWebJobsStorage__blobServiceUri: storage.properties.primaryEndpoints.blob
  AzureWebJobsStorage__queueServiceUri: storage.properties.primaryEndpoints.queue
  AzureWebJobsStorage__tableServiceUri: storage.properties.primaryEndpoints.table
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  COSMOS_DATABASE_NAME: cosmosDatabaseName
  DurableTaskHubName: taskHubName
  // Secrets stay in Key Vault: the platform resolves each reference with the user-assigned identity
  // (keyVaultAccessIdentityResourceId below) and refreshes it within 24 hours of a new version.
  MESSAGE_SIGNING_KEYS: '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=message-signing-keys)'
  FIELD_ENCRYPTION_KEYS: '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=field-encryption-keys)'
  API_KEYS: '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=api-keys)'
}

module api 'br/public:avm/res/web/site:0.15.1' = {
  name: '${name}-flex-consumption'
  params: {
    kind: 'functionapp,linux'
    name: name
    location: location
    tags: union(tags, {
      'azd-service-name': 'api'
    })
    serverFarmResourceId: appServicePlanId
    managedIdentities: {
      systemAssigned: false
      userAssignedResourceIds: [
        identityId
      ]
    }
    // The identity that resolves Key Vault references (the site's keyVaultReferenceIdentity).
    keyVaultAccessIdentityResourceId: identityId
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'node'
        version: '22'
      }
      // Zero-downtime deployments (preview): instances drain in batches, finishing what they run,
      // while new ones start on the new build. The default, Recreate, restarts every instance at
      // once and cuts in-flight executions. Durable versioning (host.json) covers the sagas.
      siteUpdateStrategy: {
        type: 'RollingUpdate'
      }
    }
    siteConfig: {
      alwaysOn: false
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
    httpsOnly: true
    basicPublishingCredentialsPolicies: [
      {
        name: 'ftp'
        allow: false
      }
      {
        name: 'scm'
        allow: false
      }
    ]
    appSettingsKeyValuePairs: appSettings
    diagnosticSettings: [
      {
        workspaceResourceId: logAnalyticsWorkspaceId
      }
    ]
  }
}

output name string = api.outputs.name
output defaultHostname string = api.outputs.defaultHostname
