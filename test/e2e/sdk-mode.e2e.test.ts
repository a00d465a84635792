// SDK mode (npm start -- --sdk, LOCAL_AZURE_SDK_MODE=true): the host serves its wire endpoints
// before the app loads and points the app's "UseEmbeddedHost=true" connections at them, in the
// shape the emulators document — so the app's production adapters (@azure/service-bus,
// @azure/cosmos, @azure/event-hubs) do its work over AMQP and the Cosmos REST API while the
// triggers stay with the host. jest's sdk-mode project runs the app's e2e suites this way; this
// suite shows that the work does go over the wire, not around it.
import { CosmosClient } from '@azure/cosmos';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { EmbeddedHost } from '@backbone/local-azure/host/host';
import { postJson, startHost, waitFor, type RunningHost } from '../support/host';
import { repoRoot } from '../support/messaging-harness';

const CONNECTIONS = ['ServiceBusConnection', 'CosmosConnection', 'EventHubConnection'];
let running: RunningHost;
const before: Record<string, string | undefined> = {};

beforeAll(async () => {
  process.env.SAGA_AUTOSTART = 'false';
  for (const name of CONNECTIONS) before[name] = process.env[name];
  running = await startHost(repoRoot, { sdkMode: true });
});
afterAll(async () => {
  await running?.stop();
  delete process.env.SAGA_AUTOSTART;
});

test("each connection a binding names is an emulator connection string for this host's endpoint of its service", () => {
  const bound = running.host.wire!.bound;
  expect(process.env.ServiceBusConnection).toBe(`Endpoint=sb://localhost:${bound.amqp};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;`);
  expect(process.env.ServiceBusConnection__administrationConnectionString).toContain(`Endpoint=sb://localhost:${bound.serviceBusAdmin};`);
  expect(process.env.EventHubConnection).toBe(process.env.ServiceBusConnection);
  expect(process.env.CosmosConnection).toMatch(new RegExp(`^AccountEndpoint=http://localhost:${bound.cosmos}/;AccountKey=[A-Za-z0-9+/=]+;$`));
  for (const name of CONNECTIONS) expect(running.logs.some((r) => r.message.startsWith(`SDK mode: ${name} → `))).toBe(true);
});

test("an order's commands, events and integration events go through the app's Azure SDK clients", async () => {
  const health = (await (await fetch(running.url('/api/health'))).json()) as { checks: { messaging: { adapter: string } } };
  expect(health.checks.messaging.adapter).toBe('azure');

  const cosmosRequests = running.host.cosmosRest!.requests;
  const orderId = `sdk-${Date.now()}`;
  const created = await postJson(running.url('/api/orders'), { orderId, customerId: 'cust-sdk', items: [{ sku: 'SKU-A', quantity: 1, unitPrice: 10 }] });
  expect(created.status).toBe(201);
  // The append went to Cosmos DB's REST API (the app's @azure/cosmos), and the store behind it has it.
  expect(running.host.cosmosRest!.requests).toBeGreaterThan(cosmosRequests);
  const client = new CosmosClient(process.env.CosmosConnection!);
  const { resources } = await client
    .database('integration')
    .container('events')
    .items.query({ query: 'SELECT c.id FROM c WHERE CONTAINS(c.streamId, @id)', parameters: [{ name: '@id', value: orderId }] })
    .fetchAll();
  client.dispose();
  expect(resources.length).toBeGreaterThan(0);

  expect((await postJson(running.url(`/api/orders/${orderId}/submit`), {})).status).toBe(200);
  // The outbox (a host-run change feed trigger) publishes with the app's @azure/event-hubs client.
  await waitFor(
    () => [0, 1, 2, 3].some((p) => running.host.eventHubs.read('integration-events', p, -1, 1_000).some((e) => e.body.toString().includes(orderId))),
    `the integration event of ${orderId}`,
  );

  // A message through the ESB: the app's router sends with @azure/service-bus over AMQP.
  const sample = JSON.parse(readFileSync(join(repoRoot, 'config', 'samples', 'order-placed.json'), 'utf8')) as Record<string, unknown>;
  const sent = await postJson(running.url('/api/messages'), { ...sample, messageId: `${orderId}-msg` });
  expect(sent.status).toBe(202);
  await waitFor(() => running.logs.some((r) => r.message.startsWith(`Routed OrderPlaced ${orderId}-msg`)), 'the message routed');
  expect(running.host.amqp!.connections).toBeGreaterThan(0);
});

test('stopping the host gives the settings back as they were', async () => {
  await running.stop();
  // As local.settings.json had them (the host leaves what it read from there in the environment, as func start does).
  for (const name of CONNECTIONS) expect(process.env[name]).toBe(before[name] ?? 'UseEmbeddedHost=true');
  expect(process.env.ServiceBusConnection__administrationConnectionString).toBeUndefined();
});

test('a port an endpoint needs that another process holds fails the start in SDK mode (without SDK mode the host runs without it)', async () => {
  const blocker = createServer();
  const port = await new Promise<number>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as { port: number }).port)));
  try {
    await expect(EmbeddedHost.start({ appDir: repoRoot, database: ':memory:', port: 0, sdkMode: true, cosmosPort: port, logWriter: () => undefined })).rejects.toThrow(
      /SDK mode needs Cosmos DB's REST API: port/,
    );
  } finally {
    blocker.close();
  }
});
