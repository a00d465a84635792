// npm run emulators:config
// Writes the Service Bus and Event Hubs emulators' Config.json from config/ (emulators/*/Config.json,
// committed; the test suite checks they are current), and two settings files (not committed) for
// `func start` (Core Tools): local.settings.emulator.json runs this app against the emulators of
// docker-compose.yml — with development signing and encryption keys, generated the first time
// and kept on later runs (new keys would strand what the emulators hold); its variant
// local.settings.local-azure.json runs it against `npm start -- --services-only` instead, with the
// keys `npm start` keeps in .data/dev-secrets.json (so both read what either signed). Prints the
// values the Service Bus emulator's limits made it change.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { amqpConnectionString, cosmosConnectionString } from '@backbone/local-azure/host/emulator-connections';
import { EMULATOR_KEY } from '@backbone/local-azure/cosmos-rest/auth';
import { eventHubsEmulatorConfig, serviceBusEmulatorConfig } from '../src/infra/emulators';
import { DEV_SECRETS, loadDevSecrets } from '../src/security/dev-secrets';
import { appRoot } from '../src/shared/app-paths';
import { parseScriptArgs } from './support/cli-args';

// The emulators' fixed development credentials, published in their documentation. They only
// open the emulators on your machine; they are not secrets of any Azure resource.
const SERVICE_BUS_EMULATOR = 'Endpoint=sb://localhost;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;';
const EVENT_HUBS_EMULATOR = 'Endpoint=sb://localhost:5673;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;';
export const COSMOS_EMULATOR_ENDPOINT = 'https://localhost:8081/';
export const COSMOS_EMULATOR_KEY = EMULATOR_KEY;

export function writeEmulatorConfig(root: string): string[] {
  const sb = serviceBusEmulatorConfig(join(root, 'config'));
  mkdirSync(join(root, 'emulators', 'servicebus'), { recursive: true });
  mkdirSync(join(root, 'emulators', 'eventhubs'), { recursive: true });
  writeFileSync(join(root, 'emulators', 'servicebus', 'Config.json'), `${JSON.stringify(sb.config, null, 2)}\n`);
  writeFileSync(join(root, 'emulators', 'eventhubs', 'Config.json'), `${JSON.stringify(eventHubsEmulatorConfig(join(root, 'config')), null, 2)}\n`);
  return sb.notes;
}

export interface LocalAzurePorts {
  amqp: number;
  serviceBusAdmin: number;
  cosmos: number;
}

/** The emulators' ports, which `npm start -- --services-only` takes by default. */
export const LOCAL_AZURE_PORTS: LocalAzurePorts = { amqp: 5672, serviceBusAdmin: 5300, cosmos: 8081 };

/**
 * `func start` against the local Azure's services: the same connection settings as for the
 * emulators, on the local Azure's ports (Service Bus and Event Hubs share its one AMQP port), the
 * Cosmos DB extension in Gateway mode (the local Azure serves the REST API, not Direct mode's
 * TCP protocol), and the keys given.
 */
export function localAzureSettings(ports: LocalAzurePorts, keys: Record<string, string>) {
  return {
    IsEncrypted: false,
    Values: {
      FUNCTIONS_WORKER_RUNTIME: 'node',
      // Durable Functions' task hub, timer schedules and Event Hubs checkpoints: Azurite (the local Azure does not serve Storage).
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      DurableTaskHubName: 'localazure',
      ServiceBusConnection: amqpConnectionString(ports.amqp),
      ServiceBusConnection__administrationConnectionString: amqpConnectionString(ports.serviceBusAdmin),
      CosmosConnection: cosmosConnectionString(ports.cosmos),
      COSMOS_DATABASE_NAME: 'integration',
      EventHubConnection: amqpConnectionString(ports.amqp),
      AzureFunctionsJobHost__extensions__cosmosDB__connectionMode: 'Gateway',
      ...keys,
    },
  };
}

/** The development keys `npm start` keeps in <dataDir>/dev-secrets.json, created there if it has none yet. */
export function localAzureKeys(dataDir: string): Record<string, string> {
  const scratch: NodeJS.ProcessEnv = {};
  loadDevSecrets(dataDir, scratch);
  return Object.fromEntries(Object.keys(DEV_SECRETS).map((name) => [name, scratch[name]!]));
}

if (require.main === module) {
  parseScriptArgs('npm run emulators:config', {});
  const root = appRoot();
  const notes = writeEmulatorConfig(root);
  const file = join(root, 'local.settings.emulator.json');
  const previous = existsSync(file) ? ((JSON.parse(readFileSync(file, 'utf8')) as { Values?: Record<string, string> }).Values ?? {}) : {};
  const keys = Object.fromEntries(Object.entries(DEV_SECRETS).map(([name, generate]) => [name, previous[name] || generate()]));
  const settings = {
    IsEncrypted: false,
    Values: {
      FUNCTIONS_WORKER_RUNTIME: 'node',
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      DurableTaskHubName: 'emulators',
      ServiceBusConnection: SERVICE_BUS_EMULATOR,
      CosmosConnection: `AccountEndpoint=${COSMOS_EMULATOR_ENDPOINT};AccountKey=${COSMOS_EMULATOR_KEY};`,
      COSMOS_DATABASE_NAME: 'integration',
      EventHubConnection: EVENT_HUBS_EMULATOR,
      ...keys,
    },
  };
  writeFileSync(file, `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
  const variant = localAzureSettings(LOCAL_AZURE_PORTS, localAzureKeys(resolve(root, process.env.DATA_DIR || '.data')));
  writeFileSync(join(root, 'local.settings.local-azure.json'), `${JSON.stringify(variant, null, 2)}\n`, { mode: 0o600 });
  console.log(
    'Wrote emulators/servicebus/Config.json, emulators/eventhubs/Config.json, local.settings.emulator.json (Docker emulators) and local.settings.local-azure.json (npm start -- --services-only).',
  );
  if (notes.length) console.log(`The Service Bus emulator's limits changed:\n  ${notes.join('\n  ')}`);
}
