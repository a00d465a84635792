// Every role assignment, in one place: exactly the data roles the app's identity needs, and —
// when developerPrincipalId is given — the same for the deploying user, so `func start` runs
// against the cloud resources with `az login` right after `azd provision`.
//   Storage        Blob Data Owner, Queue Data Contributor, Table Data Contributor
//                  (Functions host, deployment package, Durable task hub, Event Hubs checkpoints)
//   Service Bus    Data Sender, Data Receiver; Data Owner for the ops endpoints' queue depths
//                  (runtime properties are a management read)
//   Event Hubs     Data Sender (integration events), Data Receiver (the sales metric)
//   Cosmos DB      Built-in Data Contributor (data plane)
//   App Insights   Monitoring Metrics Publisher (telemetry with Entra ID; local auth is off)
//   Key Vault      Secrets User for the app (its settings are Key Vault references); Secrets
//                  Officer for whoever provisions, so the postprovision hook can seed missing
//                  secrets (never given to the app)
@description('The app\'s user-assigned identity, which every data role below goes to.')
param appIdentityName string
param developerPrincipalId string = ''
param storageAccountName string
param serviceBusNamespaceName string
param cosmosAccountName string
param eventHubsNamespaceName string
param applicationInsightsName string
param keyVaultName string
@description('Who runs azd provision (a developer or the pipeline): may create the secrets the app reads. Empty: nobody.')
param keyVaultSeederPrincipalId string = ''

var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  serviceBusDataSender: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'
  serviceBusDataReceiver: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'
  serviceBusDataOwner: '090c5cfd-751d-490a-894a-3ce6f1109419'
  eventHubsDataSender: '2b629674-e913-4c01-ae53-ef4638d8f975'
  eventHubsDataReceiver: 'a638d3c7-ab3a-418d-83e6-5f17a39d4fde'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
}

// The Cosmos DB built-in data-plane role "Cosmos DB Built-in Data Contributor".
var cosmosDataContributor = '00000000-0000-0000-0000-000000000002'

resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: appIdentityName
}

// Who gets the data roles, as values known before deployment (the loops below need them, and
// each assignment's name derives from `key`, so what-if can predict it): the app's identity by
// its resource id, and the developer by object id.
var principals principalType[] = empty(developerPrincipalId)
  ? [
      {
        key: appIdentity.id
        type: 'ServicePrincipal'
      }
    ]
  : [
      {
        key: appIdentity.id
        type: 'ServicePrincipal'
      }
      {
        key: developerPrincipalId
        type: 'User'
      }
    ]

type principalType = {
  @description('What names the assignments: the identity\'s resource id, or the developer\'s object id.')
  key: string
  type: 'ServicePrincipal' | 'User'
}

// The object id each principal's assignments grant (the identity's is known once it exists).
func principalObjectId(principal principalType, appPrincipalId string) string =>
  principal.type == 'User' ? principal.key : appPrincipalId

resource storage 'Microsoft.Storage/storageAccounts@2026-09-01' existing = {
  name: storageAccountName
}

resource serviceBus 'Microsoft.ServiceBus/namespaces@2026-01-01' existing = {
  name: serviceBusNamespaceName
}

resource eventHubs 'Microsoft.EventHub/namespaces@2026-01-01' existing = {
  name: eventHubsNamespaceName
}

resource cosmos 'Microsoft.DocumentDB/databaseAccounts@2026-03-15' existing = {
  name: cosmosAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource keyVault 'Microsoft.KeyVault/vaults@2026-05-15' existing = {
  name: keyVaultName
}

resource storageRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for assignment in flatten(map(principals, p => map([roles.storageBlobDataOwner, roles.storageQueueDataContributor, roles.storageTableDataContributor], r => {
    principal: p
    role: r
  }))): {
    name: guid(storage.id, assignment.principal.key, assignment.role)
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', assignment.role)
      principalId: principalObjectId(assignment.principal, appIdentity.properties.principalId)
      principalType: assignment.principal.type
    }
  }
]

resource serviceBusRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for assignment in flatten(map(principals, p => map([roles.serviceBusDataSender, roles.serviceBusDataReceiver, roles.serviceBusDataOwner], r => {
    principal: p
    role: r
  }))): {
    name: guid(serviceBus.id, assignment.principal.key, assignment.role)
    scope: serviceBus
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', assignment.role)
      principalId: principalObjectId(assignment.principal, appIdentity.properties.principalId)
      principalType: assignment.principal.type
    }
  }
]

resource eventHubsRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for assignment in flatten(map(principals, p => map([roles.eventHubsDataSender, roles.eventHubsDataReceiver], r => {
    principal: p
    role: r
  }))): {
    name: guid(eventHubs.id, assignment.principal.key, assignment.role)
    scope: eventHubs
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', assignment.role)
      principalId: principalObjectId(assignment.principal, appIdentity.properties.principalId)
      principalType: assignment.principal.type
    }
  }
]

resource cosmosRoles 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2026-03-15' = [
  for principal in principals: {
    parent: cosmos
    name: guid(cosmos.id, principal.key, cosmosDataContributor)
    properties: {
      roleDefinitionId: '${cosmos.id}/sqlRoleDefinitions/${cosmosDataContributor}'
      principalId: principalObjectId(principal, appIdentity.properties.principalId)
      scope: cosmos.id
    }
  }
]

resource telemetryRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, appIdentity.id, roles.monitoringMetricsPublisher)
  scope: applicationInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource secretsUserRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(keyVault.id, appIdentity.id, roles.keyVaultSecretsUser)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// No principalType: the seeder is a user (azd up) or the pipeline's service principal.
resource secretsSeederRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(keyVaultSeederPrincipalId)) {
  name: guid(keyVault.id, keyVaultSeederPrincipalId, roles.keyVaultSecretsOfficer)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
    principalId: keyVaultSeederPrincipalId
  }
}
