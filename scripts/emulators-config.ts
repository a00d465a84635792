// npm run emulators:config
// Writes the Service Bus and Event Hubs emulators' Config.json from config/ (emulators/*/Config.json,
// committed; the test suite checks they are current), and local.settings.emulator.json (not
// committed) with the settings `func start` needs to run this app against the emulators of
// docker-compose.yml — with development signing and encryption keys, generated the first time
// and kept on later runs (new keys would strand what the emulators hold). Prints the values the
// Service Bus emulator's limits made it change.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventHubsEmulatorConfig, serviceBusEmulatorConfig } from '../src/infra/emulators';
import { DEV_SECRETS } from '../src/security/dev-secrets';
import { appRoot } from '../src/shared/app-paths';
import { parseScriptArgs } from './support/cli-args';

// The emulators' fixed development credentials, published in their documentation. They only
// open the emulators on your machine; they are not secrets of any Azure resource.
const SERVICE_BUS_EMULATOR = 'Endpoint=sb://localhost;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;';
const EVENT_HUBS_EMULATOR = 'Endpoint=sb://localhost:5673;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;';
export const COSMOS_EMULATOR_ENDPOINT = 'https://localhost:8081/';
export const COSMOS_EMULATOR_KEY = ['C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVT', 'qobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=='].join('');

export function writeEmulatorConfig(root: string): string[] {
  const sb = serviceBusEmulatorConfig(join(root, 'config'));
  mkdirSync(join(root, 'emulators', 'servicebus'), { recursive: true });
  mkdirSync(join(root, 'emulators', 'eventhubs'), { recursive: true });
  writeFileSync(join(root, 'emulators', 'servicebus', 'Config.json'), `${JSON.stringify(sb.config, null, 2)}\n`);
  writeFileSync(join(root, 'emulators', 'eventhubs', 'Config.json'), `${JSON.stringify(eventHubsEmulatorConfig(join(root, 'config')), null, 2)}\n`);
  return sb.notes;
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
  console.log('Wrote emulators/servicebus/Config.json, emulators/eventhubs/Config.json and local.settings.emulator.json.');
  if (notes.length) console.log(`The Service Bus emulator's limits changed:\n  ${notes.join('\n  ')}`);
}
