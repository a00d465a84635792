# azd postprovision hook: seeds the Key Vault with the app's generated keys where they are missing,
# writes local.settings.cloud.json from the provisioned endpoints, and turns on rolling updates.
$ErrorActionPreference = 'Stop'
azd env get-values --output json | node ./infra/scripts/seed-secrets.mjs
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
azd env get-values --output json | node ./infra/scripts/write-cloud-settings.mjs
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
# Rolling updates (Flex Consumption, preview) through the CLI: the property is in no Microsoft.Web
# API version the pinned Bicep compiler knows (infra/app/api.bicep says why).
if (Get-Command az -ErrorAction SilentlyContinue) {
  $values = azd env get-values --output json | ConvertFrom-Json
  az functionapp update-strategy config set --name $values.AZURE_FUNCTION_NAME --resource-group $values.AZURE_RESOURCE_GROUP --type RollingUpdate --only-show-errors --output none
  if ($LASTEXITCODE -ne 0) { Write-Warning 'Could not set the rolling update strategy; deployments restart every instance (Recreate).' }
} else {
  Write-Host 'az CLI not found: the app keeps the Recreate update strategy (az functionapp update-strategy config set --type RollingUpdate sets it).'
}
