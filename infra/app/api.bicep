// The function app on its Flex Consumption plan (FC1, Node 22): deployed from a blob container through the
// user-assigned identity, every connection identity-based, every secret a Key Vault reference. `appSettings` lists each setting the
// app reads in Azure (src/config/app-settings.ts); the drift test checks both lists agree.
import { tagsType } from '../types.bicep'

param name string
param location string
param tags tagsType
@description('The Flex Consumption plan (FC1) the app runs on.')
param planName string
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
@description('Share of orders whose whole trace is sent to Application Insights; every failed transaction\'s trace is sent besides (src/observability/failed-trace-keeper.ts). Telemetry was most of the bill unsampled: docs/cost.md.')
param telemetrySamplingRatio string = '0.1'
param maximumInstanceCount int = 100

resource storage 'Microsoft.Storage/storageAccounts@2026-09-01' existing = {
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
  TELEMETRY_SAMPLING_RATIO: telemetrySamplingRatio
  // host.json says Information for local runs; in Azure the host's Executing/Executed records of every
  // execution were a third of the telemetry bill. Failures still log at Warning and above.
  AzureFunctionsJobHost__logging__logLevel__Function: 'Warning'
  COSMOS_DATABASE_NAME: cosmosDatabaseName
  DurableTaskHubName: taskHubName
  // The host refuses a larger body before the app runs: the largest the app takes is a 5 MB CSV
  // batch (INPUT_MAX_BATCH_BYTES); the host's own default is 100 MB.
  FUNCTIONS_REQUEST_BODY_SIZE_LIMIT: '6291456'
  // Secrets stay in Key Vault: the platform resolves each reference with the user-assigned identity
  // (keyVaultAccessIdentityResourceId below) and refreshes it within 24 hours of a new version.
  MESSAGE_SIGNING_KEYS: '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=message-signing-keys)'
  FIELD_ENCRYPTION_KEYS: '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=field-encryption-keys)'
  API_KEYS: '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=api-keys)'
}

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    // Linux.
    reserved: true
  }
}

resource api 'Microsoft.Web/sites@2025-03-01' = {
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // The identity that resolves Key Vault references in the app settings.
    keyVaultReferenceIdentity: identityId
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
    }
    // Zero-downtime deployments (rolling updates, preview) are not set here: functionAppConfig's
    // siteUpdateStrategy is in no Microsoft.Web API version the pinned Bicep compiler has types
    // for, so an older API version would drop it silently. The postprovision hook sets it with
    // `az functionapp update-strategy config set --type RollingUpdate`.
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
  }
}

resource appSettingsConfig 'Microsoft.Web/sites/config@2025-03-01' = {
  parent: api
  name: 'appsettings'
  properties: appSettings
}

// No publishing with user names and passwords: deployments authenticate with Entra ID.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: api
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: api
  name: 'scm'
  properties: {
    allow: false
  }
}

// 2021-05-01-preview is the newest diagnosticSettings version, and the first with categoryGroup.
#disable-next-line use-recent-api-versions
resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: api
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        category: 'FunctionAppLogs'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

output name string = api.name
output defaultHostname string = api.properties.defaultHostName
