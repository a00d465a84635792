// Event Hubs over AMQP, checked with a client nobody here wrote: @azure/event-hubs, connected with
// the official emulator's connection string (UseDevelopmentEmulator=true: plain TCP, SAS through
// CBS) to the local Azure's AMQP listener in front of the embedded log. What the SDK reads is
// Event Hubs' dialect: hub and partition properties from $management; a partition key lands where
// Azure's hash puts it; events come back from the position asked for with their sequence number,
// offset and enqueued time; an owner level takes a partition from a lower one; a wrong key, an
// unknown hub and an event over 1 MB are refused.
import { EventHubConsumerClient, EventHubProducerClient, earliestEventPosition, latestEventPosition, type EventPosition, type ReceivedEventData, type Subscription } from '@azure/event-hubs';
import { createHmac } from 'node:crypto';
import { create_container, types, type Connection, type Message, type Receiver } from 'rhea';
import { AmqpListener } from '../../src/amqp/listener';
import { EventHubsAmqp, parseHubAddress, parseSelector } from '../../src/amqp/event-hubs-amqp';
import { systemClock } from '../../src/clock';
import { EmbeddedEventHubs } from '../../src/eventhubs/event-log';
import { partitionForKey } from '../../src/eventhubs/partition-key-hash';
import { HostLogger } from '../../src/host/logger';
import { GroupCommit, openDatabase } from '../../src/sqlite';

const hubDefinitions = [
  { name: 'telemetry', partitionCount: 4, messageRetentionInDays: 1, consumerGroups: ['analytics'] },
  { name: 'spread', partitionCount: 4, messageRetentionInDays: 1, consumerGroups: [] },
  { name: 'positions', partitionCount: 2, messageRetentionInDays: 1, consumerGroups: [] },
  { name: 'owners', partitionCount: 2, messageRetentionInDays: 1, consumerGroups: [] },
  { name: 'wire', partitionCount: 2, messageRetentionInDays: 1, consumerGroups: [] },
  { name: 'bulk', partitionCount: 1, messageRetentionInDays: 1, consumerGroups: [] },
];

const db = openDatabase(':memory:');
const commit = new GroupCommit(db);
const hubs = new EmbeddedEventHubs(hubDefinitions, db, commit, systemClock);
const logger = new HostLogger({ default: process.env.AMQP_LOGS ? 'debug' : 'none' });
const listener = new AmqpListener({ logger });
listener.serve(new EventHubsAmqp(hubs, listener, logger));
let port = 0;
const clients: { close(): Promise<void> }[] = [];
const retryOptions = { maxRetries: 0, timeoutInMs: 10_000 };
const connectionString = (hub: string, key = 'SAS_KEY_VALUE') =>
  `Endpoint=sb://localhost:${port};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=${key};UseDevelopmentEmulator=true;EntityPath=${hub}`;
const producer = (hub: string, key?: string) => {
  const p = new EventHubProducerClient(connectionString(hub, key), { retryOptions });
  clients.push(p);
  return p;
};
const consumer = (hub: string, group = '$Default') => {
  const c = new EventHubConsumerClient(group, connectionString(hub), { retryOptions });
  clients.push(c);
  return c;
};

beforeAll(async () => {
  port = await listener.listen(0);
});
afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  for (const c of rawConnections) c.close();
  await listener.close();
  commit.close();
  db.close();
});

/** Subscribes to one partition from a position until `n` events came (or the time is up). */
async function receive(c: EventHubConsumerClient, partition: string, startPosition: EventPosition, n: number, waitMs = 5_000): Promise<ReceivedEventData[]> {
  const got: ReceivedEventData[] = [];
  let done!: () => void;
  const enough = new Promise<void>((r) => (done = r));
  const sub = c.subscribe(
    partition,
    {
      processEvents: async (events) => {
        got.push(...events);
        if (got.length >= n) done();
      },
      processError: async () => undefined,
    },
    { startPosition, maxWaitTimeInSeconds: 1, maxBatchSize: 50 },
  );
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([enough, new Promise((r) => (timer = setTimeout(r, waitMs)))]);
  clearTimeout(timer);
  await sub.close();
  return got;
}

test('addresses and selectors as the SDKs write them', () => {
  expect(parseHubAddress('telemetry')).toEqual({ kind: 'send', hub: 'telemetry' });
  expect(parseHubAddress('amqp://localhost:5672/telemetry/Partitions/2')).toEqual({ kind: 'send', hub: 'telemetry', partition: '2' });
  expect(parseHubAddress('telemetry/ConsumerGroups/$default/Partitions/0')).toEqual({ kind: 'receive', hub: 'telemetry', group: '$default', partition: '0' });
  // Azure.Messaging.EventHubs: the endpoint's absolute path.
  expect(parseHubAddress('/telemetry/ConsumerGroups/$Default/Partitions/3')).toEqual({ kind: 'receive', hub: 'telemetry', group: '$Default', partition: '3' });
  expect(parseHubAddress('$management')).toEqual({ kind: 'management' });
  expect(parseSelector("amqp.annotation.x-opt-offset > '-1'")).toEqual({ on: 'offset', inclusive: false, value: '-1' });
  expect(parseSelector("amqp.annotation.x-opt-sequence-number >= '12'")).toEqual({ on: 'sequence', inclusive: true, value: '12' });
  // Azure.Messaging.EventHubs writes numbers bare.
  expect(parseSelector('amqp.annotation.x-opt-sequence-number > -1')).toEqual({ on: 'sequence', inclusive: false, value: '-1' });
  expect(parseSelector("amqp.annotation.x-opt-enqueued-time > '1700000000000'")).toEqual({ on: 'enqueued', inclusive: false, value: '1700000000000' });
  expect(parseSelector('x-opt-offset = 3')).toBeUndefined();
});

test('hub and partition properties, as $management answers them', async () => {
  const p = producer('telemetry');
  const props = await p.getEventHubProperties();
  expect(props.name).toBe('telemetry');
  expect(props.partitionIds).toEqual(['0', '1', '2', '3']);
  expect(props.createdOn).toBeInstanceOf(Date);
  expect(props.createdOn.getTime()).toBeLessThanOrEqual(Date.now());

  const empty = await p.getPartitionProperties('3');
  expect(empty).toMatchObject({ eventHubName: 'telemetry', partitionId: '3', isEmpty: true, lastEnqueuedSequenceNumber: -1 });

  await p.sendBatch([{ body: 'a' }, { body: 'b' }], { partitionId: '1' });
  const [, second] = hubs.read('telemetry', 1, -1, 10);
  const one = await p.getPartitionProperties('1');
  expect(one).toMatchObject({ eventHubName: 'telemetry', partitionId: '1', isEmpty: false, beginningSequenceNumber: 0, lastEnqueuedSequenceNumber: 1, lastEnqueuedOffset: String(second!.offset) });
  expect(one.lastEnqueuedOnUtc.getTime()).toBe(second!.enqueuedTime.getTime());

  await expect(p.getPartitionProperties('9')).rejects.toThrow(/partition '9' is invalid/);
});

test('a partition key lands on the partition Azure hashes it to; a partition id on that partition', async () => {
  const p = producer('telemetry');
  const keys = ['device-1', 'device-2', 'order-42', 'ünïcode-kéy', 'a much longer partition key than twelve bytes'];
  for (const key of keys) {
    const batch = await p.createBatch({ partitionKey: key });
    expect(batch.tryAdd({ body: { key }, messageId: `pk-${key}` })).toBe(true);
    await p.sendBatch(batch);
    // Also a single event array with the key (its own envelope).
    await p.sendBatch([{ body: { key }, messageId: `pk2-${key}` }], { partitionKey: key });
  }
  for (const key of keys) {
    const expected = partitionForKey(key, 4);
    const on = [0, 1, 2, 3].filter((part) => hubs.read('telemetry', part, -1, 1000).some((e) => e.messageId === `pk-${key}` || e.messageId === `pk2-${key}`));
    expect(on).toEqual([expected]);
    expect(
      hubs
        .read('telemetry', expected, -1, 1000)
        .filter((e) => e.messageId?.endsWith(key))
        .map((e) => e.partitionKey),
    ).toEqual([key, key]);
  }
  await p.sendBatch([{ body: 'to two', messageId: 'pid-2' }], { partitionId: '2' });
  expect(hubs.read('telemetry', 2, -1, 1000).some((e) => e.messageId === 'pid-2')).toBe(true);
});

test('without key or partition, events go round robin', async () => {
  const p = producer('spread');
  for (let i = 0; i < 8; i++) await p.sendBatch([{ body: i, messageId: `rr-${i}` }]);
  const counts = [0, 1, 2, 3].map((part) => hubs.read('spread', part, -1, 100).length);
  expect(counts).toEqual([2, 2, 2, 2]);
});

test('an event comes back with body, properties, message id, content type and its place in the log', async () => {
  const p = producer('telemetry');
  const c = consumer('telemetry', 'analytics');
  await p.sendBatch([{ body: { temperature: 21.5 }, properties: { unit: 'C', sensor: 7, calibrated: true }, messageId: 'roundtrip-1', contentType: 'application/json', correlationId: 'corr-1' }], {
    partitionKey: 'roundtrip',
  });
  const partition = String(partitionForKey('roundtrip', 4));
  const got = (await receive(c, partition, earliestEventPosition, 100, 1_500)).find((e) => e.messageId === 'roundtrip-1');
  const stored = hubs.read('telemetry', Number(partition), -1, 1000).find((e) => e.messageId === 'roundtrip-1')!;
  expect(got).toMatchObject({
    body: { temperature: 21.5 },
    properties: { unit: 'C', sensor: 7, calibrated: true },
    contentType: 'application/json',
    correlationId: 'corr-1',
    partitionKey: 'roundtrip',
    sequenceNumber: stored.sequenceNumber,
    offset: String(stored.offset),
  });
  expect(typeof got!.offset).toBe('string');
  expect(got!.enqueuedTimeUtc.getTime()).toBe(stored.enqueuedTime.getTime());
});

test('reading from earliest, latest, a sequence number, an offset and an enqueued time', async () => {
  const p = producer('positions');
  const c = consumer('positions');
  for (let i = 0; i < 5; i++) await p.sendBatch([{ body: `e${i}`, messageId: `pos-${i}` }], { partitionId: '0' });
  const log = hubs.read('positions', 0, -1, 100);
  const ids = (events: ReceivedEventData[]) => events.map((e) => e.messageId);

  expect(ids(await receive(c, '0', earliestEventPosition, 5))).toEqual(['pos-0', 'pos-1', 'pos-2', 'pos-3', 'pos-4']);
  expect(ids(await receive(c, '0', { sequenceNumber: 2 }, 2))).toEqual(['pos-3', 'pos-4']);
  expect(ids(await receive(c, '0', { sequenceNumber: 2, isInclusive: true }, 3))).toEqual(['pos-2', 'pos-3', 'pos-4']);
  expect(ids(await receive(c, '0', { offset: String(log[1]!.offset) }, 3))).toEqual(['pos-2', 'pos-3', 'pos-4']);
  expect(ids(await receive(c, '0', { offset: String(log[1]!.offset), isInclusive: true }, 4))).toEqual(['pos-1', 'pos-2', 'pos-3', 'pos-4']);

  // An enqueued time: the events enqueued after it.
  await new Promise((r) => setTimeout(r, 20));
  const mark = new Date();
  await new Promise((r) => setTimeout(r, 20));
  await p.sendBatch([{ body: 'late', messageId: 'pos-late' }], { partitionId: '0' });
  expect(ids(await receive(c, '0', { enqueuedOn: mark }, 1))).toEqual(['pos-late']);

  // Latest: only what is published once the reader is there, pushed as it is committed.
  const got: ReceivedEventData[] = [];
  let opened!: () => void;
  const ready = new Promise<void>((r) => (opened = r));
  const sub: Subscription = c.subscribe(
    '0',
    {
      processInitialize: async () => opened(),
      processEvents: async (events) => void got.push(...events),
      processError: async () => undefined,
    },
    { startPosition: latestEventPosition, maxWaitTimeInSeconds: 1 },
  );
  await ready;
  await new Promise((r) => setTimeout(r, 500));
  await p.sendBatch([{ body: 'new', messageId: 'pos-new' }], { partitionId: '0' });
  for (let i = 0; i < 50 && !got.length; i++) await new Promise((r) => setTimeout(r, 100));
  await sub.close();
  expect(ids(got)).toEqual(['pos-new']);
});

test('an owner level takes the partition from a lower one; a lower one is then refused', async () => {
  // One client each: a client keeps one subscriber per partition itself.
  const [c1, c2, c3] = [consumer('owners'), consumer('owners'), consumer('owners')];
  const errors: { low: unknown[]; lower: unknown[] } = { low: [], lower: [] };
  const closed: string[] = [];
  const handlers = (into: unknown[]) => ({
    processEvents: async () => undefined,
    processError: async (e: Error) => void into.push(e),
    processClose: async (reason: string) => void closed.push(reason),
  });
  const low = c1.subscribe('0', handlers(errors.low), { ownerLevel: 1, startPosition: earliestEventPosition, maxWaitTimeInSeconds: 1 });
  await new Promise((r) => setTimeout(r, 1_000));
  const high = c2.subscribe('0', { processEvents: async () => undefined, processError: async () => undefined }, { ownerLevel: 2, startPosition: earliestEventPosition, maxWaitTimeInSeconds: 1 });
  for (let i = 0; i < 50 && !errors.low.length; i++) await new Promise((r) => setTimeout(r, 100));
  expect(errors.low[0]).toMatchObject({ code: 'ReceiverDisconnectedError' });
  for (let i = 0; i < 20 && !closed.length; i++) await new Promise((r) => setTimeout(r, 100));
  expect(closed).toContain('OwnershipLost');

  const lower = c3.subscribe('0', handlers(errors.lower), { ownerLevel: 1, startPosition: earliestEventPosition, maxWaitTimeInSeconds: 1 });
  for (let i = 0; i < 50 && !errors.lower.length; i++) await new Promise((r) => setTimeout(r, 100));
  expect(errors.lower[0]).toMatchObject({ code: 'ReceiverDisconnectedError' });
  expect(String((errors.lower[0] as Error).message)).toMatch(/higher epoch '2'/);
  await Promise.all([low.close(), high.close(), lower.close()]);
});

test('an unknown consumer group is not found', async () => {
  const c = consumer('owners', 'nobody');
  const errors: Error[] = [];
  const sub = c.subscribe('0', { processEvents: async () => undefined, processError: async (e) => void errors.push(e) }, { startPosition: earliestEventPosition, maxWaitTimeInSeconds: 1 });
  for (let i = 0; i < 50 && !errors.length; i++) await new Promise((r) => setTimeout(r, 100));
  await sub.close();
  expect(errors[0]?.message).toMatch(/owners\/ConsumerGroups\/nobody' could not be found/);
});

test('a wrong key is refused', async () => {
  const p = producer('telemetry', 'not-the-key');
  await expect(p.getEventHubProperties()).rejects.toThrow(/InvalidSignature|signature does not match/);
  await expect(p.sendBatch([{ body: 'x' }])).rejects.toThrow();
  expect([0, 1, 2, 3].flatMap((part) => hubs.read('telemetry', part, -1, 1000)).some((e) => e.body.toString() === 'x')).toBe(false);
});

test('an unknown hub is not found', async () => {
  const p = producer('nohub');
  await expect(p.getEventHubProperties()).rejects.toThrow(/'nohub' could not be found/);
  await expect(p.sendBatch([{ body: 'x' }], { partitionId: '0' })).rejects.toThrow(/'nohub' could not be found/);
});

test('an event over 1 MB is refused; the link says so to batches', async () => {
  const p = producer('spread');
  const batch = await p.createBatch();
  expect(batch.maxSizeInBytes).toBe(1024 * 1024);
  expect(batch.tryAdd({ body: Buffer.alloc(1_100_000, 1) })).toBe(false);
  const before = [0, 1, 2, 3].map((part) => hubs.read('spread', part, -1, 1000).length);
  await expect(p.sendBatch([{ body: Buffer.alloc(1_100_000, 1) }])).rejects.toMatchObject({ code: 'MessageTooLargeError' });
  expect([0, 1, 2, 3].map((part) => hubs.read('spread', part, -1, 1000).length)).toEqual(before);
});

test('with trackLastEnqueuedEventProperties, deliveries say what the partition last enqueued', async () => {
  const p = producer('positions');
  const c = consumer('positions');
  await p.sendBatch([{ body: 'tracked' }], { partitionId: '1' });
  const last = hubs.read('positions', 1, -1, 1000).at(-1)!;
  let seen: { sequenceNumber?: number; offset?: string; enqueuedOn?: Date } | undefined;
  let done!: () => void;
  const got = new Promise<void>((r) => (done = r));
  const sub = c.subscribe(
    '1',
    {
      processEvents: async (events, context) => {
        if (!events.length) return;
        seen = { ...context.lastEnqueuedEventProperties };
        done();
      },
      processError: async () => undefined,
    },
    { startPosition: earliestEventPosition, maxWaitTimeInSeconds: 1, trackLastEnqueuedEventProperties: true },
  );
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([got, new Promise((r) => (timer = setTimeout(r, 5_000)))]);
  clearTimeout(timer);
  await sub.close();
  expect(seen).toMatchObject({ sequenceNumber: last.sequenceNumber, offset: String(last.offset) });
  expect(seen!.enqueuedOn!.getTime()).toBe(last.enqueuedTime.getTime());
});

// The wire as another client (Azure.Messaging.EventHubs) writes it: whole URIs as link addresses.
const raw = create_container({ id: 'raw-client' });
const rawConnections: Connection[] = [];
// The crashed-process test drops a socket on purpose.
raw.on('disconnected', () => undefined);
function sas(audience: string): string {
  const sr = encodeURIComponent(audience);
  const se = Math.floor(Date.now() / 1000) + 600;
  const sig = encodeURIComponent(createHmac('sha256', 'SAS_KEY_VALUE').update(`${sr}\n${se}`).digest('base64'));
  return `SharedAccessSignature sr=${sr}&sig=${sig}&se=${se}&skn=RootManageSharedAccessKey`;
}
async function rawConnection(audience: string): Promise<Connection> {
  const connection = raw.connect({ host: '127.0.0.1', port, reconnect: false } as Parameters<typeof raw.connect>[0]);
  rawConnections.push(connection);
  await new Promise((r) => connection.once('connection_open', r));
  const cbs = connection.open_receiver({ source: { address: '$cbs' }, target: { address: 'cbs-reply' } });
  const put = connection.open_sender({ target: { address: '$cbs' } });
  await new Promise((r) => put.once('sendable', r));
  const reply = new Promise<Message>((r) => cbs.once('message', (ctx) => r(ctx.message!)));
  put.send({ body: sas(audience), reply_to: 'cbs-reply', message_id: 'put-1', application_properties: { operation: 'put-token', type: 'servicebus.windows.net:sastoken', name: audience } });
  expect((await reply).application_properties).toMatchObject({ 'status-code': 202 });
  return connection;
}
/** Attached and still open a moment later (a refusal is an attach followed by a detach with the error). */
const attached = (link: Receiver) =>
  new Promise<void>((resolve, reject) => {
    link.once('receiver_open', () => setTimeout(resolve, 200));
    link.once('receiver_close', () => {
      const error = link.error as { condition?: string; description?: string } | undefined;
      reject(new Error(`${error?.condition ?? 'closed'}: ${error?.description ?? ''}`));
    });
  });

test('whole URIs as addresses; events pre-settled with a long sequence number, a string offset and a timestamp', async () => {
  const base = `amqp://localhost:${port}`;
  const connection = await rawConnection(`sb://localhost:${port}/wire`);
  const sender = connection.open_sender({ target: { address: `${base}/wire/Partitions/1` } });
  await new Promise((r) => sender.once('sendable', r));
  expect(Number(sender.max_message_size)).toBe(1024 * 1024);
  const accepted = new Promise((r) => sender.once('accepted', r));
  sender.send({ body: 'on the wire', message_id: 'wire-1', application_properties: { at: new Date(1_700_000_000_000) } });
  await accepted;

  const receiver = connection.open_receiver({
    source: {
      address: `${base}/wire/ConsumerGroups/$Default/Partitions/1`,
      filter: { 'apache.org:selector-filter:string': types.wrap_described("amqp.annotation.x-opt-offset > '-1'", 0x468c00000004) },
    },
    credit_window: 0,
    autoaccept: false,
  } as Parameters<Connection['open_receiver']>[0]);
  const delivered = new Promise<{ message: Message; settled: boolean }>((r) => receiver.once('message', (ctx) => r({ message: ctx.message!, settled: Boolean(ctx.delivery?.remote_settled) })));
  await attached(receiver);
  receiver.add_credit(10);
  const { message, settled } = await delivered;
  expect(settled).toBe(true);
  const annotations = message.message_annotations as Record<string, unknown>;
  expect(annotations['x-opt-sequence-number']).toBe(0);
  expect(annotations['x-opt-offset']).toBe('0');
  expect(annotations['x-opt-enqueued-time']).toBeInstanceOf(Date);
  expect(message.message_id).toBe('wire-1');
  expect(message.application_properties).toEqual({ at: 1_700_000_000_000 });
  connection.close();
});

test("a dropped connection's epoch reader does not hold the partition", async () => {
  const address = 'wire/ConsumerGroups/$Default/Partitions/0';
  const first = await rawConnection(`sb://localhost:${port}/wire`);
  const epochReader = first.open_receiver({ source: { address }, properties: { 'com.microsoft:epoch': types.wrap_long(5) }, credit_window: 0 } as Parameters<Connection['open_receiver']>[0]);
  await attached(epochReader);
  const second = await rawConnection(`sb://localhost:${port}/wire`);
  await expect(attached(second.open_receiver({ source: { address }, credit_window: 0 } as Parameters<Connection['open_receiver']>[0]))).rejects.toThrow(/epoch of '5'/);
  // The socket goes without a detach (a crashed process).
  (first as unknown as { socket: { destroy(): void } }).socket.destroy();
  await new Promise((r) => setTimeout(r, 200));
  await attached(second.open_receiver({ source: { address }, credit_window: 0 } as Parameters<Connection['open_receiver']>[0]));
  second.close();
});

test('$management: a request may carry its own token (as Azure.Messaging.EventHubs sends it); without one for the hub, 401', async () => {
  // A connection whose only claim is for another hub.
  const connection = await rawConnection(`sb://localhost:${port}/positions`);
  const replies = connection.open_receiver({ source: { address: '$management' }, target: { address: 'mgmt-reply' } });
  const requests = connection.open_sender({ target: { address: '$management' } });
  await new Promise((r) => requests.once('sendable', r));
  const ask = (id: string, props: Record<string, unknown>) => {
    const reply = new Promise<Message>((resolve) => {
      const onMessage = (ctx: { message?: Message }) => {
        if (ctx.message?.correlation_id !== id) return;
        replies.removeListener('message', onMessage);
        resolve(ctx.message);
      };
      replies.on('message', onMessage);
    });
    requests.send({ body: Buffer.from('[]'), message_id: id, reply_to: 'mgmt-reply', application_properties: { operation: 'READ', ...props } });
    return reply;
  };
  const denied = await ask('m-1', { name: 'wire', type: 'com.microsoft:eventhub' });
  expect(denied.application_properties).toMatchObject({ 'status-code': 401, 'error-condition': 'amqp:unauthorized-access' });

  const token = sas(`amqps://localhost:${port}/wire`);
  const hub = await ask('m-2', { name: 'wire', type: 'com.microsoft:eventhub', security_token: token });
  expect(hub.application_properties).toMatchObject({ 'status-code': 200 });
  expect(hub.body).toMatchObject({ name: 'wire', partition_count: 2, partition_ids: ['0', '1'] });
  expect((hub.body as { created_at: unknown }).created_at).toBeInstanceOf(Date);

  const partition = await ask('m-3', { name: 'wire', type: 'com.microsoft:partition', partition: '1', security_token: token });
  const last = hubs.read('wire', 1, -1, 1000).at(-1)!;
  expect(partition.body).toMatchObject({
    name: 'wire',
    partition: '1',
    begin_sequence_number: 0,
    last_enqueued_sequence_number: last.sequenceNumber,
    last_enqueued_offset: String(last.offset),
    is_partition_empty: false,
  });
  expect((partition.body as { last_enqueued_time_utc: Date }).last_enqueued_time_utc.getTime()).toBe(last.enqueuedTime.getTime());

  const unknown = await ask('m-4', { name: 'nohub', type: 'com.microsoft:eventhub', security_token: sas(`amqps://localhost:${port}/nohub`) });
  expect(unknown.application_properties).toMatchObject({ 'status-code': 404, 'error-condition': 'amqp:not-found' });
  expect(String(unknown.application_properties?.['status-description'])).toMatch(/The messaging entity 'nohub' could not be found/);

  // Sending needs the hub's own claim on the connection.
  const sender = connection.open_sender({ target: { address: 'wire' } });
  const refused = await new Promise<{ condition?: string }>((r) => sender.once('sender_close', () => r(sender.error as { condition?: string })));
  expect(refused.condition).toBe('amqp:unauthorized-access');
  connection.close();
});

test('a drain gets what the partition holds, then the credit back', async () => {
  const connection = await rawConnection(`sb://localhost:${port}/wire`);
  const receiver = connection.open_receiver({ source: { address: 'wire/ConsumerGroups/$Default/Partitions/1' }, credit_window: 0 } as Parameters<Connection['open_receiver']>[0]);
  await attached(receiver);
  const got: Message[] = [];
  receiver.on('message', (ctx) => void got.push(ctx.message!));
  const drained = new Promise((r) => receiver.once('receiver_drained', r));
  receiver.add_credit(10);
  receiver.drain_credit();
  await drained;
  expect(got.map((m) => m.message_id)).toEqual(hubs.read('wire', 1, -1, 100).map((e) => e.messageId));
  expect((receiver as unknown as { credit: number }).credit).toBe(0);
  connection.close();
});

test('a selector that is no event position is refused', async () => {
  const connection = await rawConnection(`sb://localhost:${port}/wire`);
  for (const selector of ["amqp.annotation.x-opt-sequence-number > 'abc'", "amqp.annotation.x-opt-offset = '3'", 'x-opt-offset > 0']) {
    const receiver = connection.open_receiver({
      source: { address: 'wire/ConsumerGroups/$Default/Partitions/0', filter: { 'apache.org:selector-filter:string': types.wrap_described(selector, 0x468c00000004) } },
      credit_window: 0,
    } as Parameters<Connection['open_receiver']>[0]);
    await expect(attached(receiver)).rejects.toThrow(/amqp:invalid-field/);
  }
  connection.close();
});

test('more $management requests on one link than rhea keeps unsettled deliveries (2,048) are all answered', async () => {
  const connection = await rawConnection(`sb://localhost:${port}/wire/$management`);
  // A session of their own, as the SDKs open one per request/response pair (on this branch the
  // listener's CBS reply still goes unsettled and would hold the window of a shared session).
  const session = connection.create_session();
  session.begin();
  const replies = session.attach_receiver({ source: { address: '$management' }, target: { address: 'many-replies' } });
  const requests = session.attach_sender({ target: { address: '$management' } });
  await new Promise((r) => requests.once('sendable', r));
  const total = 2_100;
  let answered = 0;
  const all = new Promise<void>((resolve) =>
    replies.on('message', (ctx) => {
      if ((ctx.message?.application_properties as Record<string, unknown>)?.['status-code'] === 200 && ++answered === total) resolve();
    }),
  );
  let sent = 0;
  const sendSome = () => {
    while (sent < total && requests.sendable()) {
      requests.send({
        body: Buffer.from('[]'),
        message_id: `many-${sent++}`,
        reply_to: 'many-replies',
        application_properties: { operation: 'READ', name: 'wire', type: 'com.microsoft:partition', partition: '0' },
      });
    }
  };
  requests.on('sendable', sendSome);
  sendSome();
  await all;
  expect(answered).toBe(total);
  connection.close();
}, 60_000);

test('one receiver link takes more events than rhea keeps deliveries in a window (2,048)', async () => {
  const total = 3_000;
  await hubs.publish(
    'bulk',
    Array.from({ length: total }, (_, i) => ({ body: Buffer.from(String(i)) })),
  );
  const got = await receive(consumer('bulk'), '0', earliestEventPosition, total, 30_000);
  expect(got.length).toBe(total);
  expect(got.map((e) => e.sequenceNumber)).toEqual(Array.from({ length: total }, (_, i) => i));
}, 60_000);
