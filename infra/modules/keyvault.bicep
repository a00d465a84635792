// The Key Vault holding the app's secrets: MESSAGE_SIGNING_KEYS, FIELD_ENCRYPTION_KEYS and
// API_KEYS, which the function app reads as Key Vault references with its user-assigned identity
// (Key Vault Secrets User, rbac.bicep). RBAC authorization, no access policies; purge protection,
// so a deleted secret (and the data its keys encrypt) can be recovered for 90 days. No secret is
// declared here: the postprovision hook generates each one once (infra/scripts/seed-secrets.mjs).
import { tagsType } from '../types.bicep'

param name string
param location string
param tags tagsType
param logAnalyticsWorkspaceId string

resource vault 'Microsoft.KeyVault/vaults@2026-05-15' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enablePurgeProtection: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enabledForDeployment: false
    enabledForTemplateDeployment: false
    enabledForDiskEncryption: false
    // Flex Consumption resolves references over the public endpoint unless the app is in a VNet;
    // access is by Entra ID role only.
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

// 2021-05-01-preview is the newest diagnosticSettings version, and the first with categoryGroup.
#disable-next-line use-recent-api-versions
resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: vault
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        categoryGroup: 'audit'
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

output name string = vault.name
output resourceId string = vault.id
output uri string = vault.properties.vaultUri
