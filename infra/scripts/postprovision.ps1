# azd postprovision hook: writes local.settings.cloud.json from the provisioned endpoints.
$ErrorActionPreference = 'Stop'
azd env get-values --output json | node ./infra/scripts/write-cloud-settings.mjs
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
