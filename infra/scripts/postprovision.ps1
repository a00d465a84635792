# azd postprovision hook: seeds the Key Vault with the app's generated keys where they are missing,
# then writes local.settings.cloud.json from the provisioned endpoints.
$ErrorActionPreference = 'Stop'
azd env get-values --output json | node ./infra/scripts/seed-secrets.mjs
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
azd env get-values --output json | node ./infra/scripts/write-cloud-settings.mjs
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
