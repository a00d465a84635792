// Service Bus over AMQP, checked with a client nobody here wrote: @azure/service-bus, connected with
// the official emulator's connection string (UseDevelopmentEmulator=true: plain TCP, SAS through
// CBS) to the local Azure's AMQP listener in front of its broker. What the SDK does and reads is
// Service Bus' dialect: a send is accepted once on disk; peek-lock deliveries carry the lock token,
// sequence number, enqueued time and locked-until; complete, abandon and dead-letter settle as the
// service does (the SDK waits for the disposition); an unknown entity is amqp:not-found; a wrong
// key is refused.
import { ServiceBusClient, type ServiceBusReceivedMessage } from '@azure/service-bus';
import { parseTopology } from '@backbone/azure-model/topology';
import { AmqpListener } from '../../src/amqp/listener';
import { ServiceBusAmqp } from '../../src/amqp/service-bus-amqp';
import { EmbeddedBroker } from '../../src/broker/broker';
import { EntityTable } from '../../src/broker/entities';
import { systemClock } from '../../src/clock';
import { HostLogger } from '../../src/host/logger';
import { GroupCommit, openDatabase } from '../../src/sqlite';

const TOPOLOGY = `
serviceBus:
  queues:
    - { name: orders, maxDeliveryCount: 3 }
    - { name: empty }
    - { name: jobs, requiresSession: true }
  topics:
    - name: events
      subscriptions:
        - { name: all }
`;

const db = openDatabase(':memory:');
const commit = new GroupCommit(db);
const broker = new EmbeddedBroker(db, new EntityTable(parseTopology(TOPOLOGY, 'test')), systemClock, commit, { sweepIntervalMs: 0 });
const logger = new HostLogger({ default: 'none' });
const listener = new AmqpListener({ logger });
listener.serve(new ServiceBusAmqp(broker, listener, logger));
let client: ServiceBusClient;
let port = 0;
const connectionString = (key = 'SAS_KEY_VALUE') => `Endpoint=sb://localhost:${port};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=${key};UseDevelopmentEmulator=true;`;

beforeAll(async () => {
  port = await listener.listen(0);
  client = new ServiceBusClient(connectionString(), { retryOptions: { maxRetries: 0, timeoutInMs: 10_000 } });
});
afterAll(async () => {
  await client?.close();
  await listener.close();
  broker.close();
  commit.close();
  db.close();
});

async function receiveAll(receiver: ReturnType<ServiceBusClient['createReceiver']>, n: number): Promise<ServiceBusReceivedMessage[]> {
  const got: ServiceBusReceivedMessage[] = [];
  for (let i = 0; i < 10 && got.length < n; i++) got.push(...(await receiver.receiveMessages(n - got.length, { maxWaitTimeInMs: 1_000 })));
  return got;
}

test('a message sent through the SDK is on the broker, with its properties', async () => {
  const sender = client.createSender('orders');
  await sender.sendMessages({ body: { orderId: 'o-1' }, messageId: 'm-1', contentType: 'application/json', subject: 'OrderPlaced', correlationId: 'c-1', applicationProperties: { priority: 2 } });
  await sender.close();
  const [peeked] = broker.peek('orders');
  expect(peeked).toMatchObject({ messageId: 'm-1', contentType: 'application/json', subject: 'OrderPlaced', correlationId: 'c-1', applicationProperties: { priority: 2 } });
  // Drain it for the next tests.
  const receiver = client.createReceiver('orders', { receiveMode: 'receiveAndDelete' });
  const [got] = await receiveAll(receiver, 1);
  await receiver.close();
  expect(got?.body).toEqual({ orderId: 'o-1' });
});

test('a batch is one transfer of several messages, each stored on its own', async () => {
  const sender = client.createSender('orders');
  const batch = await sender.createMessageBatch();
  for (let i = 0; i < 3; i++) expect(batch.tryAddMessage({ body: `b-${i}`, messageId: `batch-${i}` })).toBe(true);
  await sender.sendMessages(batch);
  await sender.close();
  expect(broker.peek('orders', { maxMessageCount: 10 }).map((m) => m.messageId)).toEqual(['batch-0', 'batch-1', 'batch-2']);
  const drain = client.createReceiver('orders', { receiveMode: 'receiveAndDelete' });
  expect((await receiveAll(drain, 3)).map((m) => m.body)).toEqual(['b-0', 'b-1', 'b-2']);
  await drain.close();
});

test('peek-lock: the delivery carries lock token, sequence number, enqueued time and locked-until; complete removes it', async () => {
  await broker.send('orders', [{ body: Buffer.from('"to complete"'), messageId: 'pl-1' }]);
  const receiver = client.createReceiver('orders');
  const [m] = await receiveAll(receiver, 1);
  expect(m).toBeDefined();
  expect(m!.messageId).toBe('pl-1');
  expect(m!.lockToken).toMatch(/^[0-9a-f-]{36}$/);
  expect(Number(m!.sequenceNumber)).toBeGreaterThan(0);
  expect(m!.enqueuedTimeUtc).toBeInstanceOf(Date);
  expect(m!.lockedUntilUtc!.getTime()).toBeGreaterThan(Date.now());
  expect(m!.deliveryCount).toBe(0);
  await receiver.completeMessage(m!);
  await receiver.close();
  expect(broker.runtimeProperties('orders')).toMatchObject({ activeMessageCount: 0 });
});

test('abandon puts it back with its delivery count up; dead-letter moves it with the reason', async () => {
  await broker.send('orders', [{ body: Buffer.from('"unlucky"'), messageId: 'ab-1' }]);
  const receiver = client.createReceiver('orders');
  const [first] = await receiveAll(receiver, 1);
  await receiver.abandonMessage(first!);
  const [again] = await receiveAll(receiver, 1);
  expect(again!.messageId).toBe('ab-1');
  expect(again!.deliveryCount).toBe(1);
  await receiver.deadLetterMessage(again!, { deadLetterReason: 'Unroutable', deadLetterErrorDescription: 'no route for it' });
  await receiver.close();
  const dlq = client.createReceiver('orders', { subQueueType: 'deadLetter' });
  const [dead] = await receiveAll(dlq, 1);
  expect(dead).toMatchObject({ messageId: 'ab-1', deadLetterReason: 'Unroutable', deadLetterErrorDescription: 'no route for it' });
  await dlq.completeMessage(dead!);
  await dlq.close();
});

test('a topic fans out to its subscription, received at topic/Subscriptions/name', async () => {
  const sender = client.createSender('events');
  await sender.sendMessages({ body: 'hello', messageId: 'ev-1' });
  await sender.close();
  const receiver = client.createReceiver('events', 'all');
  const [m] = await receiveAll(receiver, 1);
  expect(m).toMatchObject({ messageId: 'ev-1', body: 'hello' });
  await receiver.completeMessage(m!);
  await receiver.close();
});

test('an unknown entity is amqp:not-found (MessagingEntityNotFound in the SDK)', async () => {
  const sender = client.createSender('no-such-queue');
  await expect(sender.sendMessages({ body: 'x' })).rejects.toMatchObject({ code: 'MessagingEntityNotFound' });
  await sender.close();
});

test('a token signed with another key is refused', async () => {
  const wrong = new ServiceBusClient(connectionString('not-the-key'), { retryOptions: { maxRetries: 0, timeoutInMs: 5_000 } });
  const sender = wrong.createSender('orders');
  await expect(sender.sendMessages({ body: 'x' })).rejects.toMatchObject({ code: 'UnauthorizedAccess' });
  await wrong.close();
});

describe('$management operations, as the SDK calls them', () => {
  test('renew lock moves locked-until on', async () => {
    await broker.send('orders', [{ body: Buffer.from('"renew me"'), messageId: 'rn-1' }]);
    const receiver = client.createReceiver('orders', { maxAutoLockRenewalDurationInMs: 0 });
    const [m] = await receiveAll(receiver, 1);
    const before = m!.lockedUntilUtc!.getTime();
    await new Promise((r) => setTimeout(r, 20));
    const renewed = await receiver.renewMessageLock(m!);
    expect(renewed.getTime()).toBeGreaterThan(before);
    await receiver.completeMessage(m!);
    await receiver.close();
  });

  test('peek shows messages without locking them, from a sequence number', async () => {
    await broker.send('orders', [
      { body: Buffer.from('"p1"'), messageId: 'pk-1' },
      { body: Buffer.from('"p2"'), messageId: 'pk-2' },
    ]);
    const receiver = client.createReceiver('orders', { receiveMode: 'receiveAndDelete' });
    const peeked = await receiver.peekMessages(10);
    expect(peeked.map((m) => m.messageId)).toEqual(['pk-1', 'pk-2']);
    expect(peeked[0]!.lockToken).toBeUndefined();
    const from = await receiver.peekMessages(10, { fromSequenceNumber: peeked[1]!.sequenceNumber });
    expect(from.map((m) => m.messageId)).toEqual(['pk-2']);
    expect((await receiveAll(receiver, 2)).map((m) => m.messageId)).toEqual(['pk-1', 'pk-2']);
    expect(await receiver.peekMessages(10)).toEqual([]);
    await receiver.close();
  });

  test('scheduled messages appear at their time; a cancelled one never does', async () => {
    const sender = client.createSender('orders');
    const later = new Date(Date.now() + 60_000);
    const [keep, drop] = await sender.scheduleMessages(
      [
        { body: 'later', messageId: 'sc-1' },
        { body: 'never', messageId: 'sc-2' },
      ],
      later,
    );
    expect(Number(keep)).toBeGreaterThan(0);
    expect(broker.runtimeProperties('orders')).toMatchObject({ scheduledMessageCount: 2 });
    await sender.cancelScheduledMessages(drop!);
    expect(broker.runtimeProperties('orders')).toMatchObject({ scheduledMessageCount: 1 });
    await sender.cancelScheduledMessages(keep!);
    await sender.close();
  });

  test('a deferred message comes back only by its sequence number, and is settled there', async () => {
    await broker.send('orders', [{ body: Buffer.from('"later please"'), messageId: 'df-1' }]);
    const receiver = client.createReceiver('orders');
    const [m] = await receiveAll(receiver, 1);
    await receiver.deferMessage(m!);
    expect(await receiver.receiveMessages(1, { maxWaitTimeInMs: 300 })).toEqual([]);
    const [back] = await receiver.receiveDeferredMessages(m!.sequenceNumber!);
    expect(back).toMatchObject({ messageId: 'df-1', body: 'later please' });
    await receiver.completeMessage(back!);
    expect(broker.runtimeProperties('orders')).toMatchObject({ activeMessageCount: 0 });
    // A number that names no deferred message fails the whole request, as Service Bus does.
    await expect(receiver.receiveDeferredMessages(m!.sequenceNumber!)).rejects.toMatchObject({ code: 'MessageNotFound' });
    await receiver.close();
  });
});

describe('sessions', () => {
  test('accepting a session gets its messages only, in order; its state is kept; a held session cannot be accepted again', async () => {
    const sender = client.createSender('jobs');
    await sender.sendMessages([
      { body: 'a1', sessionId: 's-a', messageId: 'a1' },
      { body: 'b1', sessionId: 's-b', messageId: 'b1' },
      { body: 'a2', sessionId: 's-a', messageId: 'a2' },
    ]);
    await sender.close();
    const a = await client.acceptSession('jobs', 's-a');
    expect(a.sessionId).toBe('s-a');
    expect(a.sessionLockedUntilUtc!.getTime()).toBeGreaterThan(Date.now());
    const got = await receiveAll(a as unknown as ReturnType<ServiceBusClient['createReceiver']>, 2);
    expect(got.map((m) => m.body)).toEqual(['a1', 'a2']);
    for (const m of got) await a.completeMessage(m);
    await a.setSessionState('step-2');
    expect(await a.getSessionState()).toBe('step-2');
    const before = a.sessionLockedUntilUtc!.getTime();
    await new Promise((r) => setTimeout(r, 20));
    await a.renewSessionLock();
    expect(a.sessionLockedUntilUtc!.getTime()).toBeGreaterThan(before);
    await expect(client.acceptSession('jobs', 's-a')).rejects.toMatchObject({ code: 'SessionCannotBeLocked' });
    await a.close();
    // The next available session is the other one.
    const next = await client.acceptNextSession('jobs');
    expect(next.sessionId).toBe('s-b');
    const [b1] = await receiveAll(next as unknown as ReturnType<ServiceBusClient['createReceiver']>, 1);
    expect(b1?.body).toBe('b1');
    await next.completeMessage(b1!);
    await next.close();
    // Released: s-a can be accepted again, with its state.
    const again = await client.acceptSession('jobs', 's-a');
    expect(await again.getSessionState()).toBe('step-2');
    await again.close();
  }, 30_000);
});

describe("a subscription's rules over $management (ServiceBusRuleManager)", () => {
  const all = async <T>(items: AsyncIterable<T>): Promise<T[]> => {
    const out: T[] = [];
    for await (const item of items) out.push(item);
    return out;
  };

  test('listed with their filters and actions; added (SQL, correlation, with an action) and removed; the subscription then gets what they select', async () => {
    const rules = client.createRuleManager('events', 'all');
    // The default rule: a TrueFilter, which the SDK reads as 1=1.
    expect(await all(rules.listRules())).toEqual([expect.objectContaining({ name: '$Default', filter: { sqlExpression: '1=1' } })]);
    await rules.createRule('red', { sqlExpression: "color = 'red'" });
    await rules.createRule('shipped-eu', { subject: 'Shipped', applicationProperties: { region: 'EU', priority: 2 } });
    await rules.createRule('tagged', { sqlExpression: "kind = 'x'" }, { sqlExpression: "SET tag = 'seen'" });
    await expect(rules.createRule('red', { sqlExpression: '1=1' })).rejects.toMatchObject({ code: 'MessagingEntityAlreadyExists' });
    await expect(rules.createRule('broken', { sqlExpression: 'color = ' })).rejects.toThrow();
    await rules.deleteRule('$Default');
    await expect(rules.deleteRule('$Default')).rejects.toMatchObject({ code: 'MessagingEntityNotFound' });

    const listed = await all(rules.listRules());
    expect(listed.map((r) => r.name)).toEqual(['red', 'shipped-eu', 'tagged']);
    expect(listed[0]).toMatchObject({ filter: { sqlExpression: "color = 'red'" } });
    expect(listed[0]!.action).toEqual({});
    expect(listed[1]!.filter).toMatchObject({ subject: 'Shipped', applicationProperties: { region: 'EU', priority: 2 } });
    expect(listed[2]).toMatchObject({ filter: { sqlExpression: "kind = 'x'" }, action: { sqlExpression: "SET tag = 'seen'" } });
    // Page by page (top and skip on the wire).
    const pages = await all(rules.listRules().byPage({ maxPageSize: 2 }));
    expect(pages.map((page) => page.map((r) => r.name))).toEqual([['red', 'shipped-eu'], ['tagged']]);

    const sender = client.createSender('events');
    await sender.sendMessages([
      { body: 'r', messageId: 'rule-red', applicationProperties: { color: 'red' } },
      { body: 'b', messageId: 'rule-blue', applicationProperties: { color: 'blue' } },
      { body: 's', messageId: 'rule-shipped', subject: 'Shipped', applicationProperties: { region: 'EU', priority: 2 } },
      { body: 's2', messageId: 'rule-shipped-us', subject: 'Shipped', applicationProperties: { region: 'US', priority: 2 } },
      { body: 'x', messageId: 'rule-tagged', applicationProperties: { kind: 'x' } },
    ]);
    await sender.close();
    const receiver = client.createReceiver('events', 'all', { receiveMode: 'receiveAndDelete' });
    const got = await receiveAll(receiver, 3);
    expect(await receiver.receiveMessages(5, { maxWaitTimeInMs: 300 })).toEqual([]);
    await receiver.close();
    expect(got.map((m) => m.messageId)).toEqual(['rule-red', 'rule-shipped', 'rule-tagged']);
    // The action's copy carries what it set and the rule's name.
    expect(got[2]!.applicationProperties).toMatchObject({ kind: 'x', tag: 'seen', RuleName: 'tagged' });

    // Back as the topology declared it, for whoever runs after.
    for (const r of listed) await rules.deleteRule(r.name);
    await rules.createRule('$Default', { sqlExpression: '1=1' });
    expect((await all(rules.listRules())).map((r) => r.name)).toEqual(['$Default']);
  });
});
