#!/bin/sh
# azd postprovision hook: writes local.settings.cloud.json from the provisioned endpoints.
set -e
azd env get-values --output json | node ./infra/scripts/write-cloud-settings.mjs
