// The Key Vault holding the app's secrets: MESSAGE_SIGNING_KEYS, FIELD_ENCRYPTION_KEYS and
// API_KEYS, which the function app reads as Key Vault references with its user-assigned identity
// (Key Vault Secrets User, rbac.bicep). RBAC authorization, no access policies; purge protection,
// so a deleted secret (and the data its keys encrypt) can be recovered for 90 days. No secret is
// declared here: the postprovision hook generates each one once (infra/scripts/seed-secrets.mjs).
param name string
param location string
param tags object
param logAnalyticsWorkspaceId string

module vault 'br/public:avm/res/key-vault/vault:0.14.0' = {
  name: 'keyvault'
  params: {
    name: name
    location: location
    tags: tags
    sku: 'standard'
    enableRbacAuthorization: true
    enablePurgeProtection: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enableVaultForDeployment: false
    enableVaultForTemplateDeployment: false
    enableVaultForDiskEncryption: false
    // Flex Consumption resolves references over the public endpoint unless the app is in a VNet;
    // access is by Entra ID role only.
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
    diagnosticSettings: [
      {
        workspaceResourceId: logAnalyticsWorkspaceId
      }
    ]
  }
}

output name string = vault.outputs.name
output resourceId string = vault.outputs.resourceId
output uri string = vault.outputs.uri
