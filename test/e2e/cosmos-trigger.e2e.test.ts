// cosmosDBTrigger on the embedded host, as the Cosmos DB extension behaves: leases per function
// (leaseContainerPrefix), startFromBeginning versus "now", batches of maxItemsPerInvocation in
// change order, the checkpoint after each invocation (also after a failure), retry policies,
// and redelivery of a batch that was running when the host stopped.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCosmosDefinition } from '@backbone/azure-model/cosmos';
import type { Document } from '../../src/ports/documents';
import { systemClock } from '@backbone/local-azure/clock';
import { EmbeddedDocumentStore } from '@backbone/local-azure/docstore/store';
import { GroupCommit, openDatabase } from '@backbone/local-azure/sqlite';
import { repoRoot } from '../support/messaging-harness';
import { startHost, waitFor, type RunningHost } from '../support/host';

const appDir = join(repoRoot, 'test', 'fixtures', 'host-app');

interface Call {
  fn: string;
  message?: unknown;
  metadata?: Record<string, unknown>;
  retryContext?: { retryCount: number; maxRetryCount: number };
}
interface Fixture {
  calls: Call[];
  holds: Record<string, () => void>;
  released: Record<string, boolean>;
}
const fixture = () => (globalThis as unknown as { __fixture: Fixture }).__fixture;
const calls = (fn: string) => (fixture()?.calls ?? []).filter((c) => c.fn === fn);
const batchesOf = (fn: string) => calls(fn).map((c) => (c.message as (Document | string)[]).map((d) => (typeof d === 'string' ? d : d.id)));
const delivered = (fn: string) => batchesOf(fn).flat();

let dir: string;
let database: string;
let running: RunningHost;
const items = () => running.host.documents.container('items');
const start = async () => (running = await startHost(appDir, { database }));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cosmos-trigger-'));
  database = join(dir, 'embedded.sqlite');
  // Items written before the host ever ran: only a startFromBeginning lease sees them.
  const db = openDatabase(database);
  const commit = new GroupCommit(db);
  const definition = loadCosmosDefinition(join(appDir, 'config', 'cosmos.yaml'));
  const store = new EmbeddedDocumentStore(definition.cosmos.databaseName, definition.cosmos.containers, db, commit, systemClock);
  for (let i = 1; i <= 7; i++) await store.container('items').create({ id: `pre-${i}`, pk: 'p', n: i });
  commit.close();
  db.close();
  await start();
});
afterAll(async () => {
  await running?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('startFromBeginning delivers what was there before, in batches of maxItemsPerInvocation, in change order', async () => {
  await waitFor(() => delivered('changes').length >= 7, 'the seven existing items');
  expect(batchesOf('changes').slice(0, 3)).toEqual([['pre-1', 'pre-2', 'pre-3'], ['pre-4', 'pre-5', 'pre-6'], ['pre-7']]);
  const [first] = calls('changes')[0]!.message as Document[];
  // The latest version of each item with its system properties; no binding data.
  expect(first).toMatchObject({ id: 'pre-1', pk: 'p', n: 1 });
  expect(Object.keys(first!)).toEqual(expect.arrayContaining(['_rid', '_self', '_etag', '_attachments', '_ts', '_lsn']));
  expect(calls('changes')[0]!.metadata).toEqual({});
});

test('a lease without startFromBeginning starts from "now": earlier items never reach it, later ones do', async () => {
  await items().create({ id: 'live-1', pk: 'p' });
  await waitFor(() => delivered('changesFromNow').includes('live-1'), 'live-1 on the "now" lease');
  await waitFor(() => delivered('changes').includes('live-1'), 'live-1 on the other lease');
  expect(delivered('changesFromNow').filter((id) => id.startsWith('pre-'))).toEqual([]);
});

test('each function keeps its own lease document, holding the checkpoint', async () => {
  const leases = running.host.documents.container('leases');
  const id = 'changes-embedded.documents.localhost_fixture_items..0';
  const lease = await waitFor(() => leases.read<Document & { ContinuationToken: string; Owner: string; LeaseToken: string; Mode: string }>(id, id), 'the lease');
  expect(lease).toMatchObject({ LeaseToken: '0', Mode: 'Incremental Feed', FeedRange: { Range: { min: '', max: 'FF' } } });
  expect(lease.Owner).toMatch(new RegExp(`^embedded-${process.pid}-`));
  expect(lease.ContinuationToken).toMatch(/^"\d+"$/);
  expect(await leases.read('changes-embedded.documents.localhost_fixture_items.info', 'changes-embedded.documents.localhost_fixture_items.info')).toBeDefined();
  for (const prefix of ['now-', 'retry-']) {
    const other = `${prefix}embedded.documents.localhost_fixture_items..0`;
    expect(await leases.read(other, other)).toBeDefined();
  }
});

test('a batch whose function throws is checkpointed anyway (no retry policy): it is not delivered again', async () => {
  await items().create({ id: 'bad', pk: 'p', fail: true });
  await waitFor(() => delivered('changes').includes('bad'), 'the failing batch');
  await items().create({ id: 'after-bad', pk: 'p' });
  await waitFor(() => delivered('changes').includes('after-bad'), 'the next batch');
  expect(delivered('changes').filter((id) => id === 'bad')).toHaveLength(1);
  expect(running.logs.some((l) => /Lease 0 encountered an unhandled user exception during processing/.test(l.message))).toBe(true);
});

test('with a retry policy the batch is run again (retryContext counts) before the checkpoint', async () => {
  await items().create({ id: 'flaky', pk: 'p', flaky: true });
  await waitFor(() => delivered('changesWithRetry').filter((id) => id === 'flaky').length === 3, 'three attempts');
  const attempts = calls('changesWithRetry').filter((c) => (c.message as string[]).includes('flaky'));
  expect(attempts.map((a) => a.retryContext?.retryCount)).toEqual([0, 1, 2]);
  expect(attempts[0]!.retryContext?.maxRetryCount).toBe(2);
});

test('after a restart each lease resumes from its checkpoint; a batch running at the stop is delivered again', async () => {
  await items().create({ id: 'held', pk: 'p', hold: true });
  await waitFor(() => fixture().holds.held, 'the held batch to start');
  const before = delivered('changes').length;
  const stopping = running.stop();
  fixture().released.held = true;
  fixture().holds.held!();
  await stopping;

  await start();
  await waitFor(() => delivered('changes').length > before, 'the redelivered batch');
  await items().create({ id: 'after-restart', pk: 'p' });
  await waitFor(() => delivered('changes').includes('after-restart'), 'a new item after the restart');
  const all = delivered('changes');
  expect(all.filter((id) => id === 'held')).toHaveLength(2);
  // Checkpointed batches stay checkpointed.
  for (const id of ['pre-1', 'pre-7', 'live-1', 'bad', 'after-bad']) expect(all.filter((x) => x === id)).toHaveLength(1);
});
