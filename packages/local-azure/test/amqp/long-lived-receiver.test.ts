// A peek-lock receiver link that lives long: thousands of messages received and completed on one
// link, as a Functions host's receiver or a worker does all day. rhea keeps a session's unsettled
// outgoing deliveries in a window of 2,048 and throws past it; found by `npm run bench:amqp`, where
// the host process died after about 2,000 completions on one receiver (the SDK never sends a
// closing disposition in rcv-settle-mode second, so nothing left that window). A client that holds
// more locks than the window without settling gets the rest once it settles, and the host lives.
import { ServiceBusClient, type ServiceBusReceivedMessage } from '@azure/service-bus';
import { parseTopology } from '@backbone/azure-model/topology';
import { AmqpListener } from '../../src/amqp/listener';
import { ServiceBusAmqp } from '../../src/amqp/service-bus-amqp';
import { EmbeddedBroker } from '../../src/broker/broker';
import { EntityTable } from '../../src/broker/entities';
import { systemClock } from '../../src/clock';
import { HostLogger } from '../../src/host/logger';
import { GroupCommit, openDatabase } from '../../src/sqlite';

const WINDOW = 2048;
const db = openDatabase(':memory:');
const commit = new GroupCommit(db);
const broker = new EmbeddedBroker(
  db,
  new EntityTable(
    parseTopology('serviceBus:\n  queues:\n    - { name: work, lockDuration: PT5M }\n    - { name: drains, lockDuration: PT5M }\n    - { name: slow, lockDuration: PT5M }\n  topics: []\n', 'test'),
  ),
  systemClock,
  commit,
  {
    sweepIntervalMs: 0,
  },
);
// Receives from 'slow' take 80 ms before they lock anything, as on a busy disk.
const SLOW_RECEIVE_MS = 80;
const realReceive = broker.receive.bind(broker);
broker.receive = async (path, options) => {
  if (path === 'slow') await new Promise((resolve) => setTimeout(resolve, SLOW_RECEIVE_MS));
  return realReceive(path, options);
};
const logger = new HostLogger({ default: 'none' });
const listener = new AmqpListener({ logger });
listener.serve(new ServiceBusAmqp(broker, listener, logger));
let client: ServiceBusClient;

beforeAll(async () => {
  const port = await listener.listen(0);
  client = new ServiceBusClient(`Endpoint=sb://localhost:${port};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;`, {
    retryOptions: { maxRetries: 0, timeoutInMs: 20_000 },
  });
});
afterAll(async () => {
  await client.close();
  await listener.close();
  broker.close();
  commit.close();
  db.close();
});

async function fill(n: number, prefix: string, queue = 'work'): Promise<void> {
  for (let i = 0; i < n; i += 500)
    await broker.send(
      queue,
      Array.from({ length: Math.min(500, n - i) }, (_, k) => ({ body: Buffer.from('x'), messageId: `${prefix}-${i + k}` })),
    );
}

test('more messages than the session window, received and completed on one link', async () => {
  const total = WINDOW + 700;
  await fill(total, 'a');
  const receiver = client.createReceiver('work');
  let completed = 0;
  while (completed < total) {
    const got = await receiver.receiveMessages(100, { maxWaitTimeInMs: 2_000 });
    expect(got.length).toBeGreaterThan(0);
    await Promise.all(got.map((m) => receiver.completeMessage(m)));
    completed += got.length;
  }
  await receiver.close();
  expect(completed).toBe(total);
  expect(broker.runtimeProperties('work')).toMatchObject({ activeMessageCount: 0 });
}, 60_000);

test('a client holding more locks than the session window: the host lives, and what it holds back comes once they are settled', async () => {
  const total = WINDOW + 100;
  await fill(total, 'b');
  const receiver = client.createReceiver('work');
  const held: ServiceBusReceivedMessage[] = [];
  for (let i = 0; i < 100 && held.length < total; i++) {
    // Batches of 100: the client decodes each in one go, and this test runs client and host in one
    // process — a long decode under a loaded machine would make the SDK's own 200 ms drain deadline
    // fire before it reads the answer (its timers run before its I/O), which no host can prevent.
    const got = await receiver.receiveMessages(100, { maxWaitTimeInMs: 500 });
    if (got.length === 0) break;
    held.push(...got);
  }
  // At least a window's worth unsettled at once (the SDK may spread them over links), each once.
  expect(held.length).toBeGreaterThanOrEqual(WINDOW);
  expect(new Set(held.map((m) => m.messageId)).size).toBe(held.length);
  await Promise.all(held.map((m) => receiver.completeMessage(m)));
  let completed = held.length;
  while (completed < total) {
    const got = await receiver.receiveMessages(100, { maxWaitTimeInMs: 5_000 });
    expect(got.length).toBeGreaterThan(0);
    await Promise.all(got.map((m) => receiver.completeMessage(m)));
    completed += got.length;
  }
  await receiver.close();
  expect(completed).toBe(total);
  expect(broker.runtimeProperties('work')).toMatchObject({ activeMessageCount: 0 });
}, 60_000);

test('a drain that arrives as the last credited message goes out is answered: receives that end early keep their link, and every lock they took can be settled', async () => {
  // @azure/service-bus drains at the end of every receiveMessages that did not fill up, and closes
  // the link when the drain is not answered within 200 ms; the messages it received there are then
  // settled on the next link of the same name, where they are unknown, and time out after 20 s.
  // rhea does not answer a drain once the credit is used up, which short waits make likely.
  const total = 1_500;
  await fill(total, 'c', 'drains');
  const receiver = client.createReceiver('drains');
  const held: ServiceBusReceivedMessage[] = [];
  for (let i = 0; i < 200 && held.length < total; i++) {
    for (const wait of [20, 50]) held.push(...(await receiver.receiveMessages(100, { maxWaitTimeInMs: wait })));
  }
  expect(held.length).toBe(total);
  const settled = await Promise.allSettled(held.map((m) => receiver.completeMessage(m)));
  expect(settled.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
  await receiver.close();
  expect(broker.runtimeProperties('drains')).toMatchObject({ activeMessageCount: 0 });
}, 60_000);

test("a drain is answered within the client's deadline even when each batch of locks is slow to take", async () => {
  // The client asks for 500 and drains when its wait ends; were the drain answered only after the
  // host had locked and sent all 500 credits (five slow batches of 100, 400 ms), @azure/service-bus
  // would have given up on the link after 200 ms and every lock taken there could not be settled.
  const total = 1_000;
  await fill(total, 'd', 'slow');
  const receiver = client.createReceiver('slow');
  const held: ServiceBusReceivedMessage[] = [];
  for (let i = 0; i < 100 && held.length < total; i++) held.push(...(await receiver.receiveMessages(500, { maxWaitTimeInMs: 120 })));
  expect(held.length).toBe(total);
  expect(new Set(held.map((m) => m.messageId)).size).toBe(total);
  const settled = await Promise.allSettled(held.map((m) => receiver.completeMessage(m)));
  expect(settled.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
  await receiver.close();
  expect(broker.runtimeProperties('slow')).toMatchObject({ activeMessageCount: 0 });
}, 60_000);
