// Event Hubs on the embedded host, as the Event Hubs extension behaves for a Node.js worker:
// partition assignment (key hash, explicit id, round-robin), one processor per partition and
// consumer group, cardinality one and many with the extension's trigger metadata, checkpoints
// after every invocation (also a failed one), resumption from the checkpoint after a restart,
// and the eventHub output binding (round-robin, no partition key, one event per array element).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { partitionForKey } from '@backbone/local-azure/eventhubs/partition-key-hash';
import { postJson, startHost, waitFor, type RunningHost } from '../support/host';
import { repoRoot } from '../support/messaging-harness';

const appDir = join(repoRoot, 'test', 'fixtures', 'host-app');

interface Call {
  fn: string;
  message?: unknown;
  metadata?: Record<string, unknown>;
  retryContext?: { retryCount: number };
}
const fixture = () => (globalThis as unknown as { __fixture: { calls: Call[] } }).__fixture;
const calls = (fn: string) => (fixture()?.calls ?? []).filter((c) => c.fn === fn);
const seen = (fn: string) => calls(fn).flatMap((c) => (Array.isArray(c.message) ? c.message : [c.message])) as { n?: number; key?: string }[];

let dir: string;
let running: RunningHost;
const start = async () => (running = await startHost(appDir, { database: join(dir, 'embedded.sqlite') }));
const publish = (events: object[], options: { partitionKey?: string; partitionId?: string } = {}) =>
  running.host.eventHubs.publish(
    'fixture-hub',
    events.map((e) => ({ body: Buffer.from(JSON.stringify(e)), properties: { Source: 'test' } })),
    options,
  );

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'eventhubs-'));
  await start();
});
afterAll(async () => {
  await running?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the event log', () => {
  test('one partition key always lands on the same partition, in order; without one, round-robin', async () => {
    const stored = await publish([{ n: 1 }, { n: 2 }, { n: 3 }], { partitionKey: 'order-42' });
    expect(new Set(stored.map((e) => e.partition))).toEqual(new Set([partitionForKey('order-42', 2)]));
    expect(stored.map((e) => e.sequenceNumber)).toEqual([stored[0]!.sequenceNumber, stored[0]!.sequenceNumber + 1, stored[0]!.sequenceNumber + 2]);
    const a = await publish([{ n: 4 }]);
    const b = await publish([{ n: 5 }]);
    expect(a[0]!.partition).not.toBe(b[0]!.partition);
    const explicit = await publish([{ n: 6 }], { partitionId: '1' });
    expect(explicit[0]!.partition).toBe(1);
    await expect(publish([{ n: 7 }], { partitionId: '9' })).rejects.toThrow(/does not exist/);
  });
});

describe('eventHubTrigger', () => {
  test('cardinality one (the default): one invocation per event, JSON bodies parsed, single-event metadata', async () => {
    await publish([{ key: 'one-1' }], { partitionKey: 'k-one' });
    const call = await waitFor(() => calls('ehOne').find((c) => (c.message as { key?: string }).key === 'one-1'), 'the event');
    const m = call.metadata!;
    expect(m.partitionContext).toMatchObject({ eventHubName: 'fixture-hub', consumerGroup: '$Default', partitionId: String(partitionForKey('k-one', 2)) });
    expect(m.partitionKey).toBe('k-one');
    expect(typeof m.sequenceNumber).toBe('number');
    expect(typeof m.offset).toBe('number');
    // The host writes EnqueuedTimeUtc without a zone (a DateTime of unspecified kind).
    expect(m.enqueuedTimeUtc).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?$/);
    expect(m.properties).toEqual({ source: 'test' }); // the library lower-cases the first letter of every key
    expect(m.systemProperties).toMatchObject({ 'x-opt-sequence-number': m.sequenceNumber, 'x-opt-partition-key': 'k-one', sequenceNumber: m.sequenceNumber });
    expect(String((m.systemProperties as Record<string, unknown>)['x-opt-enqueued-time'])).toMatch(/\+00:00$/);
  });

  test('cardinality many: batches in partition order with array metadata', async () => {
    await publish(
      Array.from({ length: 5 }, (_, i) => ({ key: 'many', n: i })),
      { partitionKey: 'k-many' },
    );
    await waitFor(() => seen('ehMany').filter((e) => e.key === 'many').length === 5, 'five events');
    const batches = calls('ehMany').filter((c) => (c.message as { key?: string }[]).some((e) => e.key === 'many'));
    expect(batches.flatMap((b) => (b.message as { n: number }[]).map((e) => e.n))).toEqual([0, 1, 2, 3, 4]);
    const m = batches[0]!.metadata!;
    const size = (batches[0]!.message as unknown[]).length;
    expect(m.partitionContext).toMatchObject({ consumerGroup: 'batch' });
    expect(m.sequenceNumberArray).toHaveLength(size);
    expect(m.offsetArray).toHaveLength(size);
    expect(m.enqueuedTimeUtcArray).toHaveLength(size);
    expect(m.partitionKeyArray).toEqual(Array(size).fill('k-many'));
    expect((m.systemPropertiesArray as Record<string, unknown>[])[0]).toMatchObject({ 'x-opt-partition-key': 'k-many' });
  });

  test('a batch whose function throws is checkpointed anyway: it is not delivered again', async () => {
    await publish([{ key: 'bad', fail: true }], { partitionId: '0' });
    await waitFor(() => seen('ehFailing').some((e) => e.key === 'bad'), 'the failing batch');
    await publish([{ key: 'after-bad' }], { partitionId: '0' });
    await waitFor(() => seen('ehFailing').some((e) => e.key === 'after-bad'), 'the next batch');
    expect(seen('ehFailing').filter((e) => e.key === 'bad')).toHaveLength(1);
  });

  test('cardinality many without dataType cannot bind a body that is not JSON: the invocation fails, the batch is checkpointed', async () => {
    await running.host.eventHubs.publish('fixture-hub', [{ body: Buffer.from('not json') }], { partitionId: '1' });
    await waitFor(() => running.logs.some((l) => /Binding parameters to complex objects/.test(l.message)), 'the binding failure');
    await publish([{ key: 'after-text' }], { partitionId: '1' });
    await waitFor(() => seen('ehMany').some((e) => e.key === 'after-text'), 'the next event');
  });

  test('after a restart every consumer group resumes from its checkpoint', async () => {
    await waitFor(() => seen('ehOne').some((e) => e.key === 'one-1') && seen('ehMany').some((e) => e.key === 'after-text'), 'the earlier events');
    const before = { one: seen('ehOne').length, many: seen('ehMany').length };
    await running.stop();
    await start();
    await publish([{ key: 'after-restart' }], { partitionKey: 'k-restart' });
    await waitFor(() => seen('ehOne').some((e) => e.key === 'after-restart') && seen('ehMany').some((e) => e.key === 'after-restart'), 'the new event');
    expect(seen('ehOne').length).toBe(before.one + 1);
    expect(seen('ehMany').length).toBe(before.many + 1);
  });
});

describe('eventHub output binding', () => {
  test('an array becomes one event per element, objects as indented JSON, round-robin with no partition key', async () => {
    const from = [0, 1].map((p) => running.host.eventHubs.read('fixture-hub', p, -1, 10_000).length);
    const res = await postJson(running.url('/api/hub'), { value: [{ key: 'out', n: 1 }, 'plain text', 42] });
    expect(res.status).toBe(202);
    const written = [0, 1].flatMap((p) => running.host.eventHubs.read('fixture-hub', p, -1, 10_000).slice(from[p]!));
    expect(written.map((e) => e.body.toString()).sort()).toEqual(['42', 'plain text', '{\n  "key": "out",\n  "n": 1\n}'].sort());
    expect(written.every((e) => e.partitionKey === undefined)).toBe(true);
    expect(new Set(written.map((e) => e.partition)).size).toBe(2);
  });
});
