// Core Tools users: `npm start -- --services-only` serves Service Bus, Event Hubs and Cosmos DB
// and runs no function, and local.settings.local-azure.json (npm run emulators:config) gives
// `func start` the settings that reach them. Core Tools cannot run here (no network to install
// it), so what is proven is what `func start` would be handed: each connection setting of the file,
// taken as it is, opens the Azure SDK client the Functions extensions use (Service Bus, its
// administration API through the app's own adapter, Event Hubs, Cosmos DB) against the services.
import { CosmosClient } from '@azure/cosmos';
import { EventHubProducerClient } from '@azure/event-hubs';
import { ServiceBusClient } from '@azure/service-bus';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServicesOnly, type ServicesOnly } from '@backbone/local-azure/host/services-only';
import { AzureServiceBusMessaging } from '../../src/adapters/azure/service-bus';
import { localAzureKeys, localAzureSettings } from '../../scripts/emulators-config';
import { repoRoot } from '../support/messaging-harness';

let dir: string;
let services: ServicesOnly;
let values: Record<string, string>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'services-only-'));
  services = await startServicesOnly({ appDir: repoRoot, database: join(dir, 'embedded.sqlite'), ports: { amqpPort: 0 }, env: {}, logWriter: () => undefined, sweepIntervalMs: 0 });
  const { amqp, serviceBusAdmin, cosmos } = services.wire.bound;
  values = localAzureSettings({ amqp: amqp!, serviceBusAdmin: serviceBusAdmin!, cosmos: cosmos! }, localAzureKeys(dir)).Values;
});
afterAll(async () => {
  await services?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('the keys are the ones npm start keeps beside its data, so func start and npm start verify what the other signed', () => {
  const stored = JSON.parse(readFileSync(join(dir, 'dev-secrets.json'), 'utf8')) as Record<string, string>;
  expect(values.MESSAGE_SIGNING_KEYS).toBe(stored.MESSAGE_SIGNING_KEYS);
  expect(values.FIELD_ENCRYPTION_KEYS).toBe(stored.FIELD_ENCRYPTION_KEYS);
  expect(localAzureKeys(dir)).toEqual({ MESSAGE_SIGNING_KEYS: values.MESSAGE_SIGNING_KEYS, FIELD_ENCRYPTION_KEYS: values.FIELD_ENCRYPTION_KEYS });
  // The local Azure serves Cosmos DB's REST API, not Direct mode's TCP protocol: the extension must use Gateway mode.
  expect(values.AzureFunctionsJobHost__extensions__cosmosDB__connectionMode).toBe('Gateway');
});

test('ServiceBusConnection: a message sent to a queue of config/topology.yaml stays there, as no function runs', async () => {
  const client = new ServiceBusClient(values.ServiceBusConnection!);
  try {
    await client.createSender('inbound').sendMessages({ body: 'for func start', messageId: 'core-tools-1' });
    const receiver = client.createReceiver('inbound');
    const [received] = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5_000 });
    expect(received?.messageId).toBe('core-tools-1');
    await receiver.completeMessage(received!);
  } finally {
    await client.close();
  }
});

test("ServiceBusConnection__administrationConnectionString: the app's adapter lists the entities config/ declares", async () => {
  const adapter = new AzureServiceBusMessaging({ connection: 'ServiceBusConnection', env: values });
  try {
    const entities = await adapter.listEntities();
    expect(entities.map((e) => e.path)).toEqual(expect.arrayContaining(['inbound', 'order-commands', 'order-events/subscriptions/analytics']));
  } finally {
    await adapter.close();
  }
});

test('EventHubConnection: the integration-events hub takes an event', async () => {
  const producer = new EventHubProducerClient(values.EventHubConnection!, 'integration-events');
  try {
    const before = await producer.getPartitionProperties('0');
    await producer.sendBatch([{ body: { eventType: 'Probe' } }], { partitionId: '0' });
    const after = await producer.getPartitionProperties('0');
    expect(after.lastEnqueuedSequenceNumber).toBe(before.lastEnqueuedSequenceNumber + 1);
  } finally {
    await producer.close();
  }
});

test('CosmosConnection: the database and containers of config/cosmos.yaml, read and written', async () => {
  const client = new CosmosClient(values.CosmosConnection!);
  try {
    const { resources } = await client.database(values.COSMOS_DATABASE_NAME!).containers.readAll().fetchAll();
    expect(resources.map((c) => c.id)).toEqual(expect.arrayContaining(['events', 'views', 'leases', 'idempotency', 'ledgers']));
    const leases = client.database(values.COSMOS_DATABASE_NAME!).container('leases');
    await leases.items.create({ id: 'core-tools-lease', owner: 'func' });
    const { resource } = await leases.item('core-tools-lease', 'core-tools-lease').read<{ owner: string }>();
    expect(resource?.owner).toBe('func');
  } finally {
    client.dispose();
  }
});
