// Event Hubs over AMQP on the embedded host: the connection string the host logs reaches the same
// event log its eventHubTrigger functions read and its eventHub output binding writes — an event
// an Azure SDK client sends triggers the function; an event the binding publishes is read back by
// an Azure SDK consumer.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventHubConsumerClient, EventHubProducerClient, earliestEventPosition } from '@azure/event-hubs';
import { postJson, startHost, waitFor, type RunningHost } from '../support/host';
import { repoRoot } from '../support/messaging-harness';

const appDir = join(repoRoot, 'test', 'fixtures', 'host-app');
const fixture = () => (globalThis as unknown as { __fixture: { calls: { fn: string; message?: unknown }[] } }).__fixture;

let dir: string;
let running: RunningHost;
let connection: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'eventhubs-amqp-'));
  running = await startHost(appDir, { database: join(dir, 'embedded.sqlite'), amqpPort: 0 });
  const line = running.logs.map((r) => r.message).find((m) => m.startsWith('Event Hubs (AMQP 1.0): '));
  const logged = /Endpoint=sb:\/\/localhost:\d+;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;/.exec(line ?? '');
  expect(logged).not.toBeNull();
  connection = `${logged![0]}EntityPath=fixture-hub`;
});
afterAll(async () => {
  await running?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('an event sent with @azure/event-hubs to the logged endpoint triggers the eventHubTrigger function', async () => {
  const producer = new EventHubProducerClient(connection, { retryOptions: { maxRetries: 0 } });
  try {
    expect((await producer.getEventHubProperties()).partitionIds).toEqual(['0', '1']);
    await producer.sendBatch([{ body: { key: 'over-amqp' }, properties: { Source: 'sdk' } }], { partitionKey: 'k-amqp' });
  } finally {
    await producer.close();
  }
  const call = await waitFor(() => fixture()?.calls.find((c) => c.fn === 'ehOne' && (c.message as { key?: string })?.key === 'over-amqp'), 'ehOne invoked with the event sent over AMQP');
  expect(call.message).toEqual({ key: 'over-amqp' });
});

test('an event the eventHub output binding publishes is read by an @azure/event-hubs consumer', async () => {
  expect((await postJson(`${running.host.baseUrl}/api/hub`, { value: { from: 'binding' } })).status).toBe(202);
  const consumer = new EventHubConsumerClient('$Default', connection, { retryOptions: { maxRetries: 0 } });
  const bodies: unknown[] = [];
  const subscription = consumer.subscribe(
    { processEvents: async (events) => void bodies.push(...events.map((e) => e.body)), processError: async () => undefined },
    { startPosition: earliestEventPosition, maxWaitTimeInSeconds: 1 },
  );
  try {
    await waitFor(() => bodies.some((b) => (b as { from?: string })?.from === 'binding'), 'the binding’s event read over AMQP');
  } finally {
    await subscription.close();
    await consumer.close();
  }
});
