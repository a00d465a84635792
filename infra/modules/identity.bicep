// The app's user-assigned managed identity: every connection (Service Bus, Cosmos DB, Event Hubs,
// storage, Application Insights, Key Vault references, the deployment package) authenticates as
// it, so no key or connection string exists anywhere (roles in app/rbac.bicep).
import { tagsType } from '../types.bicep'

param name string
param location string
param tags tagsType

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: name
  location: location
  tags: tags
}

output name string = identity.name
output resourceId string = identity.id
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
