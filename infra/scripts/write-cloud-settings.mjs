// Reads `azd env get-values --output json` on stdin and writes local.settings.cloud.json: the
// settings `func start` needs to run this app against the resources azd provisioned, with your
// own identity (az login) — endpoints only, no keys. Host storage and the Durable task hub stay
// on Azurite, so a local run never competes with the deployed app for orchestrations.
import { readFileSync, writeFileSync } from 'node:fs';

const env = JSON.parse(readFileSync(0, 'utf8'));
const need = (name) => {
  if (!env[name]) throw new Error(`azd env has no ${name}: run azd provision first`);
  return env[name];
};
const settings = {
  IsEncrypted: false,
  Values: {
    FUNCTIONS_WORKER_RUNTIME: 'node',
    AzureWebJobsStorage: 'UseDevelopmentStorage=true',
    DurableTaskHubName: 'localdev',
    ServiceBusConnection__fullyQualifiedNamespace: need('SERVICEBUS_FULLY_QUALIFIED_NAMESPACE'),
    CosmosConnection__accountEndpoint: need('COSMOS_ACCOUNT_ENDPOINT'),
    COSMOS_DATABASE_NAME: need('COSMOS_DATABASE_NAME'),
    EventHubConnection__fullyQualifiedNamespace: need('EVENTHUBS_FULLY_QUALIFIED_NAMESPACE'),
  },
};
writeFileSync('local.settings.cloud.json', `${JSON.stringify(settings, null, 2)}\n`);
console.log('Wrote local.settings.cloud.json (copy it to local.settings.json to run `func start` against Azure).');
