#!/bin/sh
# azd postprovision hook: seeds the Key Vault with the app's generated keys where they are missing,
# writes local.settings.cloud.json from the provisioned endpoints, and turns on rolling updates.
set -e
azd env get-values --output json | node ./infra/scripts/seed-secrets.mjs
azd env get-values --output json | node ./infra/scripts/write-cloud-settings.mjs
# Rolling updates (Flex Consumption, preview) through the CLI: the property is in no Microsoft.Web
# API version the pinned Bicep compiler knows (infra/app/api.bicep says why).
if command -v az >/dev/null 2>&1; then
  eval "$(azd env get-values)"
  az functionapp update-strategy config set --name "$AZURE_FUNCTION_NAME" --resource-group "$AZURE_RESOURCE_GROUP" --type RollingUpdate --only-show-errors --output none \
    || echo "Could not set the rolling update strategy; deployments restart every instance (Recreate)."
else
  echo "az CLI not found: the app keeps the Recreate update strategy (az functionapp update-strategy config set --type RollingUpdate sets it)."
fi
