// Service Bus' administration API (HTTP, ATOM), checked with a client nobody here wrote:
// ServiceBusAdministrationClient from @azure/service-bus, built from the official emulator's
// connection string naming the local Azure's administration port. @azure/service-bus 7.9 talks
// HTTPS to that endpoint whatever the connection string says; later releases use plain HTTP when it
// says UseDevelopmentEmulator=true (Azure/azure-sdk-for-js#32771), as the .NET client does — the
// one pipeline policy below does what they do. Messages go through the broker itself, so the
// runtime properties count what the broker holds.
import { ServiceBusAdministrationClient, type SqlRuleFilter, type CorrelationRuleFilter } from '@azure/service-bus';
import { RestError } from '@azure/core-rest-pipeline';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTopology } from '@backbone/azure-model/topology';
import { EmbeddedBroker } from '../../src/broker/broker';
import { EntityTable } from '../../src/broker/entities';
import { systemClock } from '../../src/clock';
import { GroupCommit, openDatabase, type Db } from '../../src/sqlite';
import { ServiceBusAdminServer } from '../../src/servicebus-admin/atom-api';

const TOPOLOGY = `
serviceBus:
  queues:
    - { name: declared, maxDeliveryCount: 3 }
  topics:
    - name: declared-topic
      subscriptions:
        - { name: all }
`;

const dir = mkdtempSync(join(tmpdir(), 'sb-admin-'));
const file = join(dir, 'broker.sqlite');
let db: Db;
let commit: GroupCommit;
let broker: EmbeddedBroker;
let server: ServiceBusAdminServer;
let port = 0;

const connectionString = (key = 'SAS_KEY_VALUE') => `Endpoint=sb://localhost:${port};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=${key};UseDevelopmentEmulator=true;`;

function adminClient(key?: string): ServiceBusAdministrationClient {
  const admin = new ServiceBusAdministrationClient(connectionString(key));
  admin.pipeline.addPolicy({
    name: 'developmentEmulatorHttp',
    sendRequest: (request, next) => {
      request.url = request.url.replace(/^https:/, 'http:');
      request.allowInsecureConnection = true;
      return next(request);
    },
  });
  return admin;
}

async function open(): Promise<void> {
  db = openDatabase(file);
  commit = new GroupCommit(db);
  broker = new EmbeddedBroker(db, new EntityTable(parseTopology(TOPOLOGY, 'test')), systemClock, commit, { sweepIntervalMs: 0 });
  server = new ServiceBusAdminServer({ broker });
  port = await server.listen(port);
}

async function close(): Promise<void> {
  await server.close();
  broker.close();
  commit.close();
  db.close();
}

let admin: ServiceBusAdministrationClient;
beforeAll(async () => {
  await open();
  admin = adminClient();
});
afterAll(async () => {
  await close();
  rmSync(dir, { recursive: true, force: true });
});

async function statusOf(call: Promise<unknown>): Promise<{ status: number | undefined; code: string | undefined }> {
  try {
    await call;
  } catch (error) {
    expect(error).toBeInstanceOf(RestError);
    return { status: (error as RestError).statusCode, code: (error as RestError).code };
  }
  throw new Error('expected the call to fail');
}

test('a queue is created, read, updated and deleted, and exists only in between', async () => {
  expect(await admin.queueExists('orders')).toBe(false);
  const created = await admin.createQueue('orders', { lockDuration: 'PT45S', maxDeliveryCount: 5, requiresSession: false, deadLetteringOnMessageExpiration: true, userMetadata: 'team=a' });
  expect(created).toMatchObject({ name: 'orders', lockDuration: 'PT45S', maxDeliveryCount: 5, deadLetteringOnMessageExpiration: true, userMetadata: 'team=a', status: 'Active' });
  expect(await admin.queueExists('orders')).toBe(true);
  // The broker takes the settings at once.
  expect(broker.entities.get('orders')).toMatchObject({ kind: 'queue', receiver: { lockDurationMs: 45_000, maxDeliveryCount: 5, deadLetterOnExpiration: true } });

  const got = await admin.getQueue('orders');
  expect(got).toMatchObject({ name: 'orders', lockDuration: 'PT45S', defaultMessageTimeToLive: 'P10675199DT2H48M5.4775807S', requiresDuplicateDetection: false });
  got.maxDeliveryCount = 7;
  got.lockDuration = 'PT1M';
  const updated = await admin.updateQueue(got);
  expect(updated).toMatchObject({ maxDeliveryCount: 7, lockDuration: 'PT1M' });
  expect(broker.entities.get('orders')).toMatchObject({ receiver: { lockDurationMs: 60_000, maxDeliveryCount: 7 } });

  await admin.deleteQueue('orders');
  expect(await admin.queueExists('orders')).toBe(false);
  expect(() => broker.entities.sending('orders')).toThrow(/could not be found/);
});

test('a declared queue is there too, with its declared settings', async () => {
  expect(await admin.getQueue('declared')).toMatchObject({ name: 'declared', maxDeliveryCount: 3, lockDuration: 'PT1M' });
});

test('runtime properties count what the broker holds: active, scheduled, dead-lettered, and the size', async () => {
  await admin.createQueue('counted');
  await broker.send('counted', [{ body: Buffer.from('one') }, { body: Buffer.from('two') }, { body: Buffer.from('three') }]);
  await broker.schedule('counted', [{ body: Buffer.from('later') }], Date.now() + 3_600_000);
  const [m] = await broker.receive('counted', { maxMessages: 1 });
  await broker.deadLetter(m!.lockToken!, { deadLetterReason: 'test' });
  const props = await admin.getQueueRuntimeProperties('counted');
  expect(props).toMatchObject({
    name: 'counted',
    activeMessageCount: 2,
    deadLetterMessageCount: 1,
    scheduledMessageCount: 1,
    transferMessageCount: 0,
    transferDeadLetterMessageCount: 0,
    totalMessageCount: 4,
  });
  expect(props.sizeInBytes).toBeGreaterThan(0);
  expect(props.createdAt.getTime()).toBeLessThanOrEqual(props.accessedAt.getTime());
  const listed = [];
  for await (const q of admin.listQueuesRuntimeProperties()) listed.push(q);
  expect(listed.find((q) => q.name === 'counted')).toMatchObject({ activeMessageCount: 2 });
  // Deleting the queue takes its messages: a queue of the same name starts empty.
  await admin.deleteQueue('counted');
  await admin.createQueue('counted');
  expect(await admin.getQueueRuntimeProperties('counted')).toMatchObject({ activeMessageCount: 0, deadLetterMessageCount: 0, scheduledMessageCount: 0, totalMessageCount: 0 });
  await admin.deleteQueue('counted');
});

test('topics and subscriptions: create, get, update, list, runtime properties, delete', async () => {
  const topic = await admin.createTopic('events', { defaultMessageTimeToLive: 'P1D', requiresDuplicateDetection: true, duplicateDetectionHistoryTimeWindow: 'PT5M' });
  expect(topic).toMatchObject({ name: 'events', defaultMessageTimeToLive: 'P1D', requiresDuplicateDetection: true, duplicateDetectionHistoryTimeWindow: 'PT5M' });
  expect(await admin.topicExists('events')).toBe(true);
  const sub = await admin.createSubscription('events', 'audit', { maxDeliveryCount: 4, requiresSession: false });
  expect(sub).toMatchObject({ topicName: 'events', subscriptionName: 'audit', maxDeliveryCount: 4, status: 'Active' });
  expect(await admin.subscriptionExists('events', 'audit')).toBe(true);
  expect(await admin.subscriptionExists('events', 'nope')).toBe(false);

  const got = await admin.getSubscription('events', 'audit');
  got.maxDeliveryCount = 9;
  expect(await admin.updateSubscription(got)).toMatchObject({ maxDeliveryCount: 9 });
  const t = await admin.getTopic('events');
  t.defaultMessageTimeToLive = 'PT2H';
  expect(await admin.updateTopic(t)).toMatchObject({ defaultMessageTimeToLive: 'PT2H' });
  // A subscription's time to live is capped by its topic's.
  expect(broker.entities.get('events/subscriptions/audit')).toMatchObject({ receiver: { maxDeliveryCount: 9, defaultTtlMs: 2 * 3_600_000 } });

  await broker.send('events', [{ body: Buffer.from('e1') }, { body: Buffer.from('e2') }]);
  expect(await admin.getSubscriptionRuntimeProperties('events', 'audit')).toMatchObject({ topicName: 'events', subscriptionName: 'audit', activeMessageCount: 2, totalMessageCount: 2 });
  expect(await admin.getTopicRuntimeProperties('events')).toMatchObject({ name: 'events', subscriptionCount: 1, scheduledMessageCount: 0 });

  const topics = [];
  for await (const x of admin.listTopics()) topics.push(x.name);
  expect(topics.sort()).toEqual(['declared-topic', 'events']);
  const subs = [];
  for await (const x of admin.listSubscriptions('declared-topic')) subs.push(x.subscriptionName);
  expect(subs).toEqual(['all']);

  await admin.deleteSubscription('events', 'audit');
  expect(await admin.subscriptionExists('events', 'audit')).toBe(false);
  await admin.createSubscription('events', 'again');
  await admin.deleteTopic('events');
  expect(await admin.topicExists('events')).toBe(false);
  expect(broker.entities.get('events/subscriptions/again')).toBeUndefined();
});

test('rules: a SQL filter and a correlation filter select what reaches the subscription; $Default is a TrueFilter', async () => {
  await admin.createTopic('routed');
  await admin.createSubscription('routed', 'eu');
  const defaults = await admin.getRule('routed', 'eu', '$Default');
  expect(defaults).toMatchObject({ name: '$Default', filter: { sqlExpression: '1=1' } });
  await admin.deleteRule('routed', 'eu', '$Default');
  const sql = await admin.createRule('routed', 'eu', 'region', { sqlExpression: "region = 'eu' AND priority > 1" });
  expect(sql).toMatchObject({ name: 'region', filter: { sqlExpression: "region = 'eu' AND priority > 1" } });
  const correlation = await admin.createRule('routed', 'eu', 'vip', { correlationId: 'vip', applicationProperties: { tier: 'gold', level: 3, active: true } });
  expect(correlation.filter).toMatchObject({ correlationId: 'vip', applicationProperties: { tier: 'gold', level: 3, active: true } });
  expect(await admin.ruleExists('routed', 'eu', 'vip')).toBe(true);
  expect(await admin.ruleExists('routed', 'eu', '$Default')).toBe(false);

  const names = [];
  for await (const r of admin.listRules('routed', 'eu')) names.push(r.name);
  expect(names).toEqual(['region', 'vip']);

  await broker.send('routed', [
    { body: Buffer.from('1'), applicationProperties: { region: 'eu', priority: 2 } },
    { body: Buffer.from('2'), applicationProperties: { region: 'us', priority: 2 } },
    { body: Buffer.from('3'), correlationId: 'vip', applicationProperties: { tier: 'gold', level: 3, active: true } },
    { body: Buffer.from('4'), correlationId: 'vip', applicationProperties: { tier: 'silver', level: 3, active: true } },
  ]);
  const got = broker.peek('routed/subscriptions/eu', { maxMessageCount: 10 }).map((m) => m.body.toString());
  expect(got).toEqual(['1', '3']);

  const region = await admin.getRule('routed', 'eu', 'region');
  (region.filter as SqlRuleFilter).sqlExpression = "region = 'us'";
  expect(await admin.updateRule('routed', 'eu', region)).toMatchObject({ filter: { sqlExpression: "region = 'us'" } });
  const vip = await admin.getRule('routed', 'eu', 'vip');
  expect((vip.filter as CorrelationRuleFilter).correlationId).toBe('vip');

  // What the broker cannot do is refused, not ignored.
  expect(await statusOf(admin.createRule('routed', 'eu', 'broken', { sqlExpression: 'region = = 1' }))).toMatchObject({ status: 400 });
  expect(await statusOf(admin.createRule('routed', 'eu', 'stamped', { sqlExpression: '1=1' }, { sqlExpression: 'SET sys.SequenceNumber = 1' }))).toMatchObject({ status: 400 });
  expect(await statusOf(admin.createRule('routed', 'eu', 'stamped', { sqlExpression: '1=1', sqlParameters: { '@p': 1 } }))).toMatchObject({ status: 400 });
  await admin.deleteTopic('routed');
});

test('a rule with an action leaves an annotated copy of its own, named in RuleName; rules without actions leave one copy between them', async () => {
  await admin.createTopic('annotated');
  await admin.createSubscription('annotated', 'sub');
  await admin.createRule('annotated', 'sub', 'also-true', { sqlExpression: '1=1' });
  const created = await admin.createRule('annotated', 'sub', 'stamp', { sqlExpression: 'priority > 1' }, { sqlExpression: "SET sys.Label = 'urgent'; SET escalated = priority * 10; REMOVE secret" });
  expect(created.action).toMatchObject({ sqlExpression: "SET sys.Label = 'urgent'; SET escalated = priority * 10; REMOVE secret" });
  await broker.send('annotated', [
    { body: Buffer.from('a'), subject: 'normal', applicationProperties: { priority: 2, secret: 'x' } },
    { body: Buffer.from('b'), applicationProperties: { priority: 1 } },
  ]);
  const got = broker.peek('annotated/subscriptions/sub', { maxMessageCount: 10 }).map((m) => ({ body: m.body.toString(), subject: m.subject, props: m.applicationProperties }));
  expect(got).toEqual([
    { body: 'a', subject: 'normal', props: { priority: 2, secret: 'x' } },
    { body: 'a', subject: 'urgent', props: { priority: 2, escalated: 20, RuleName: 'stamp' } },
    { body: 'b', subject: undefined, props: { priority: 1 } },
  ]);
  expect(await admin.getSubscriptionRuntimeProperties('annotated', 'sub')).toMatchObject({ activeMessageCount: 3 });
  await admin.deleteTopic('annotated');
});

test('a subscription created with a default rule filters with it', async () => {
  await admin.createTopic('filtered');
  await admin.createSubscription('filtered', 'high', { defaultRuleOptions: { name: 'ignored', filter: { sqlExpression: 'priority >= 5' } } });
  const rules = [];
  for await (const r of admin.listRules('filtered', 'high')) rules.push(r);
  expect(rules).toMatchObject([{ name: '$Default', filter: { sqlExpression: 'priority >= 5' } }]);
  await broker.send('filtered', [
    { body: Buffer.from('low'), applicationProperties: { priority: 1 } },
    { body: Buffer.from('high'), applicationProperties: { priority: 7 } },
  ]);
  expect(broker.peek('filtered/subscriptions/high', { maxMessageCount: 10 }).map((m) => m.body.toString())).toEqual(['high']);
  await admin.deleteTopic('filtered');
});

test('errors: 404 for what is missing, 409 for what exists, 400 for what is invalid', async () => {
  expect(await statusOf(admin.getQueue('missing'))).toEqual({ status: 404, code: 'MessageEntityNotFoundError' });
  expect(await statusOf(admin.getSubscription('declared-topic', 'missing'))).toMatchObject({ status: 404 });
  expect(await statusOf(admin.deleteQueue('missing'))).toMatchObject({ status: 404 });
  expect(await statusOf(admin.getRule('declared-topic', 'all', 'missing'))).toMatchObject({ status: 404 });
  expect(await statusOf(admin.createSubscription('missing-topic', 'x'))).toMatchObject({ status: 404 });
  expect(await statusOf(admin.createQueue('declared'))).toEqual({ status: 409, code: 'MessageEntityAlreadyExistsError' });
  // Queues and topics share one namespace of names.
  expect(await statusOf(admin.createTopic('declared'))).toMatchObject({ status: 409 });
  expect(await statusOf(admin.createSubscription('declared-topic', 'all'))).toMatchObject({ status: 409 });
  expect(await statusOf(admin.createRule('declared-topic', 'all', '$Default', { sqlExpression: '1=1' }))).toMatchObject({ status: 409 });
  expect(await statusOf(admin.createQueue('bad', { lockDuration: 'PT10M' }))).toMatchObject({ status: 400 });
  expect(await statusOf(admin.createQueue('bad', { forwardTo: 'declared' }))).toMatchObject({ status: 400 });
  const declared = await admin.getQueue('declared');
  expect(await statusOf(admin.updateQueue({ ...declared, requiresSession: true }))).toMatchObject({ status: 400 });
  expect(await statusOf(admin.updateQueue({ ...declared, name: 'never-created' }))).toMatchObject({ status: 404 });
  expect(await admin.queueExists('bad')).toBe(false);
});

test('a malformed body is 400, and no token or a wrong key is 401', async () => {
  const url = `http://localhost:${port}/raw?api-version=2021-05`;
  const admin401 = adminClient('not-the-key');
  expect(await statusOf(admin401.getQueue('declared'))).toEqual({ status: 401, code: 'UnauthorizedRequestError' });
  expect(await statusOf(admin401.createQueue('sneaky'))).toMatchObject({ status: 401 });
  const anonymous = await fetch(url);
  expect(anonymous.status).toBe(401);
  expect(await anonymous.text()).toMatch(/<Error><Code>401<\/Code><Detail>MissingToken/);
  // A valid signature (the SDK's own signing) on a body that is not XML.
  let authorization = '';
  const signer = adminClient();
  signer.pipeline.addPolicy(
    {
      name: 'capture',
      sendRequest: (request, next) => {
        authorization = request.headers.get('authorization') ?? '';
        return next(request);
      },
    },
    { afterPolicies: ['signingPolicy'] },
  );
  await signer.queueExists('declared');
  const bad = await fetch(`http://localhost:${port}/declared-2?api-version=2021-05`, { method: 'PUT', headers: { authorization, 'content-type': 'application/atom+xml' }, body: '<entry><content>' });
  expect(bad.status).toBe(401);
  // The token was for /declared; a token for the namespace (no path) grants every entity.
  const namespaceToken = signature(`http://localhost:${port}/`);
  const malformed = await fetch(`http://localhost:${port}/declared-2?api-version=2021-05`, { method: 'PUT', headers: { authorization: namespaceToken }, body: '<entry><content>' });
  expect(malformed.status).toBe(400);
  expect(await malformed.text()).toMatch(/<Error><Code>400<\/Code><Detail>The request body is not well-formed XML/);
});

function signature(audience: string): string {
  const sr = encodeURIComponent(audience.toLowerCase());
  const se = Math.round(Date.now() / 1000) + 300;
  const sig = encodeURIComponent(createHmac('sha256', 'SAS_KEY_VALUE').update(`${sr}\n${se}`).digest('base64'));
  return `SharedAccessSignature sr=${sr}&sig=${sig}&se=${se}&skn=RootManageSharedAccessKey`;
}

test('lists page with $skip and $top', async () => {
  const names = Array.from({ length: 23 }, (_, i) => `paged-${String(i).padStart(2, '0')}`);
  for (const name of names) await admin.createQueue(name);
  const pages: string[][] = [];
  for await (const page of admin.listQueues().byPage({ maxPageSize: 10 })) pages.push(page.map((q) => q.name).filter((n) => n.startsWith('paged-')));
  expect(pages.map((p) => p.length)).toEqual([9, 10, 4]);
  expect(pages.flat()).toEqual(names);
  const all = [];
  for await (const q of admin.listQueues()) all.push(q.name);
  expect(all.filter((n) => n.startsWith('paged-'))).toEqual(names);
  await admin.createTopic('many');
  for (let i = 0; i < 12; i++) await admin.createSubscription('many', `s${i}`);
  const subPages: number[] = [];
  for await (const page of admin.listSubscriptions('many').byPage({ maxPageSize: 5 })) subPages.push(page.length);
  expect(subPages).toEqual([5, 5, 2]);
  for (const name of names) await admin.deleteQueue(name);
  await admin.deleteTopic('many');
});

test('the namespace describes itself', async () => {
  expect(await admin.getNamespaceProperties()).toMatchObject({ name: 'localhost', messagingSku: 'Standard' });
});

test('entities made through the API survive a restart, as the messages do; deletions too', async () => {
  await admin.createQueue('durable', { maxDeliveryCount: 6 });
  await admin.createTopic('durable-topic');
  await admin.createSubscription('durable-topic', 'sub');
  await admin.deleteRule('durable-topic', 'sub', '$Default');
  await admin.createRule('durable-topic', 'sub', 'only-b', { correlationId: 'b' });
  await admin.deleteSubscription('declared-topic', 'all');
  await broker.send('durable', [{ body: Buffer.from('kept') }]);
  await close();
  await open();
  admin = adminClient();
  expect(await admin.getQueue('durable')).toMatchObject({ maxDeliveryCount: 6 });
  expect(await admin.getQueueRuntimeProperties('durable')).toMatchObject({ activeMessageCount: 1 });
  const rules = [];
  for await (const r of admin.listRules('durable-topic', 'sub')) rules.push(r.name);
  expect(rules).toEqual(['only-b']);
  expect(await admin.subscriptionExists('declared-topic', 'all')).toBe(false);
  await broker.send('durable-topic', [
    { body: Buffer.from('a'), correlationId: 'a' },
    { body: Buffer.from('b'), correlationId: 'b' },
  ]);
  expect(broker.peek('durable-topic/subscriptions/sub', { maxMessageCount: 10 }).map((m) => m.body.toString())).toEqual(['b']);
});
