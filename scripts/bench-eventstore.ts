// npm run bench:eventstore [-- --streams 200 --events 100 --concurrency 16 --queries 400]
// The event store beside a peer measured in the same run on the same disk: Emmett's SQLite event
// store (@event-driven-io/emmett-sqlite, on one connection), and the physical floor (the same
// rows written straight with better-sqlite3, one transaction per append). All durable alike (WAL,
// synchronous=FULL; ours with group commit). Prints, as ratios:
//  - append throughput (events/s), one event per append (as commands write), one stream at a
//    time for all three (Emmett's store takes one writer), and ours with C streams at once;
//  - load throughput (events folded into state per second), ours with and without snapshots,
//    Emmett's aggregateStream (it has no snapshots), the floor's one query;
//  - query API latency (p50/p99) through the embedded host over HTTP (sent and timed by a client in
//    a worker thread: a heap and a thread of its own), beside the host's cheapest
//    HTTP answer (GET /api/health) and Emmett's in-process aggregateStream of the same orders.
// Results are also written to bench/results/.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { getSQLiteEventStore, sqliteConnection } from '@event-driven-io/emmett-sqlite';
import Table from 'cli-table3';
import type { ContainerDefinition } from '@backbone/azure-model/cosmos';
import { systemClock } from '@backbone/local-azure/clock';
import { EmbeddedDocumentStore } from '@backbone/local-azure/docstore/store';
import { EmbeddedHost } from '@backbone/local-azure/host/host';
import { GroupCommit, openDatabase } from '@backbone/local-azure/sqlite';
import { CommandHandler } from '../src/eventstore/command-handler';
import type { Decider } from '../src/eventstore/decider';
import { DocumentEventStore } from '../src/eventstore/event-store';
import { percentile } from '../src/projections/projector';
import { appRoot } from '../src/shared/app-paths';
import { forEachLimit } from '../src/shared/concurrency';
import { parseScriptArgs } from './support/cli-args';
import type { LatencyWorkerData, LatencyWorkerMessage } from './support/http-latency-worker';
import { progress } from './support/progress';

const { values } = parseScriptArgs('npm run bench:eventstore [-- --streams 200 --events 100 --concurrency 16 --queries 400]', {
  options: {
    streams: { type: 'string', default: '200' },
    events: { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '16' },
    queries: { type: 'string', default: '400' },
  },
});
const STREAMS = Number(values.streams);
const EVENTS = Number(values.events);
const CONCURRENCY = Number(values.concurrency);
const QUERIES = Number(values.queries);
const SNAPSHOT_EVERY = 50;

// A counter aggregate: the same events and fold for both stores.
type Counted = { type: 'Counted'; data: { by: number; note: string } };
interface Count {
  n: number;
  total: number;
}
const evolve = (s: Count, e: { data: { by: number } }): Count => ({ n: s.n + 1, total: s.total + e.data.by });
const initialState = (): Count => ({ n: 0, total: 0 });
const decider: Decider<never, Counted, Count> = { decide: () => [], evolve: (s, e) => evolve(s, e), initialState };
const event = (i: number): Counted => ({ type: 'Counted', data: { by: i % 7, note: `event ${i} of a benchmark stream` } });

// No colour codes when the output is a file or a CI log.
const plain = process.stdout.isTTY ? undefined : { head: [], border: [] };
const rate = (count: number, ms: number) => Math.round(count / (ms / 1000));
const fmt = (n: number) => n.toLocaleString('en-US');
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;

interface EventStoreUnderTest {
  append(stream: string, e: Counted, expected: number): Promise<void>;
  load(stream: string): Promise<Count>;
  close(): Promise<void>;
}

function ours(dir: string, snapshotEvery: number): EventStoreUnderTest & { writeSnapshots(): Promise<void>; loadWith(snapshots: boolean, stream: string): Promise<Count> } {
  const db = openDatabase(join(dir, 'ours.sqlite'));
  const commit = new GroupCommit(db);
  const containers: ContainerDefinition[] = [{ name: 'events', partitionKey: '/streamId' }];
  const docs = new EmbeddedDocumentStore('bench', containers, db, commit, systemClock);
  const store = new DocumentEventStore(docs.container('events'));
  const options = { schemas: { current: {}, upcasters: {} }, stateSchemaVersion: 1 };
  const withSnapshots = new CommandHandler(store, decider, { ...options, snapshotEvery });
  const without = new CommandHandler(store, decider, { ...options, snapshotEvery: 0 });
  return {
    async append(stream, e, expected) {
      await store.append(stream, [e], { expectedVersion: expected });
    },
    load: async (stream) => (await without.load(stream)).state,
    loadWith: async (snapshots, stream) => (await (snapshots ? withSnapshots : without).load(stream)).state,
    async writeSnapshots() {
      // What the command handler leaves behind after N events: a snapshot at the last multiple of N.
      for (let s = 0; s < STREAMS; s++) {
        const stream = `counter-${s}`;
        const at = Math.floor(EVENTS / snapshotEvery) * snapshotEvery;
        if (at === 0) continue;
        const events = await store.readStream(stream, { toVersion: at });
        await store.writeSnapshot({ streamId: stream, version: at, schemaVersion: 1, state: events.reduce((st, e) => evolve(st, e as unknown as Counted), initialState()) });
      }
    },
    async close() {
      commit.close();
      db.close();
    },
  };
}

/**
 * Emmett's store on one connection for its lifetime, set up as ours is (WAL, synchronous=FULL, a
 * busy timeout), each pragma awaited. Left to itself it opens a connection per operation and does
 * not wait for the WAL pragma it issues there; sqlite3 runs a connection's statements in parallel,
 * so a COMMIT could meet that pragma still in progress — "SQLITE_BUSY: cannot commit transaction -
 * SQL statements in progress" after a few hundred appends, the failure that made this benchmark
 * exit 1. One connection handed over as a singleton is the configuration Emmett 0.42 offers.
 */
async function emmettStore(file: string): Promise<{ store: ReturnType<typeof getSQLiteEventStore>; close(): void }> {
  const connection = sqliteConnection({ fileName: file });
  for (const pragma of ['PRAGMA journal_mode = WAL', 'PRAGMA synchronous = FULL', 'PRAGMA busy_timeout = 5000', 'SELECT 1']) await connection.command(pragma);
  const store = getSQLiteEventStore({ fileName: file, schema: { autoMigration: 'CreateOrUpdate' }, connectionOptions: { singleton: true, connection } });
  return { store, close: () => connection.close() };
}

async function emmett(dir: string): Promise<EventStoreUnderTest> {
  const { store, close } = await emmettStore(join(dir, 'emmett.sqlite'));
  return {
    async append(stream, e, expected) {
      await store.appendToStream(stream, [e], { expectedStreamVersion: BigInt(expected) });
    },
    async load(stream) {
      const { state } = await store.aggregateStream<Count, Counted>(stream, { evolve, initialState });
      return state;
    },
    async close() {
      close();
    },
  };
}

/**
 * The physical floor: the same events as rows written straight with better-sqlite3 — one
 * transaction per append, the same durability as ours (WAL, synchronous=FULL) — and read back
 * with one query. What an append cannot go below on this disk, whatever the store does.
 */
function floor(dir: string): EventStoreUnderTest {
  const db = openDatabase(join(dir, 'floor.sqlite'));
  db.exec('CREATE TABLE events (stream TEXT NOT NULL, version INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (stream, version)) WITHOUT ROWID');
  const insert = db.prepare('INSERT INTO events (stream, version, body) VALUES (?, ?, ?)');
  const read = db.prepare('SELECT body FROM events WHERE stream = ? ORDER BY version').pluck();
  return {
    async append(stream, e, expected) {
      insert.run(stream, expected + 1, JSON.stringify(e));
    },
    async load(stream) {
      return (read.all(stream) as string[]).reduce((s, b) => evolve(s, JSON.parse(b) as Counted), initialState());
    },
    async close() {
      db.close();
    },
  };
}

async function appendAll(label: string, store: EventStoreUnderTest, concurrency: number, prefix = 'counter'): Promise<number> {
  const bar = progress(`append: ${label}`, STREAMS * EVENTS);
  const streams = Array.from({ length: STREAMS }, (_, s) => `${prefix}-${s}`);
  const started = performance.now();
  await forEachLimit(streams, concurrency, async (stream) => {
    for (let v = 0; v < EVENTS; v++) {
      await store.append(stream, event(v), v);
      bar.increment();
    }
  });
  const ms = performance.now() - started;
  bar.stop();
  return rate(STREAMS * EVENTS, ms);
}

async function loadAll(label: string, load: (stream: string) => Promise<Count>, concurrency: number): Promise<number> {
  const bar = progress(`load: ${label}`, STREAMS);
  const started = performance.now();
  await forEachLimit(
    Array.from({ length: STREAMS }, (_, s) => `counter-${s}`),
    concurrency,
    async (stream) => {
      const state = await load(stream);
      if (state.n !== EVENTS) throw new Error(`${label}: ${stream} folded ${state.n} events, not ${EVENTS}`);
      bar.increment();
    },
  );
  const ms = performance.now() - started;
  bar.stop();
  return rate(STREAMS * EVENTS, ms);
}

async function latencies(label: string, n: number, call: (i: number) => Promise<void>): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < Math.min(50, n); i++) await call(i); // warm-up
  const samples: number[] = [];
  const bar = progress(label, n);
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await call(i);
    samples.push(performance.now() - t);
    bar.increment();
  }
  bar.stop();
  return { p50: percentile(samples, 50)!, p99: percentile(samples, 99)! };
}

/**
 * p50/p99 of sequential GETs of `paths`, sent and timed by a worker thread (a client with a heap
 * and a thread of its own), so they measure the host's HTTP path rather than the host and an
 * in-process client sharing one event loop and one garbage collector.
 */
function httpLatencies(label: string, baseUrl: string, paths: string[]): Promise<{ p50: number; p99: number }> {
  const bar = progress(label, paths.length);
  return new Promise((resolve, reject) => {
    const worker = new Worker(join(__dirname, 'support', 'http-latency-worker.js'), { workerData: { baseUrl, paths, warmUp: 50 } satisfies LatencyWorkerData });
    worker.on('message', (m: LatencyWorkerMessage) => {
      if (m.kind === 'progress') bar.update(m.done);
      else if (m.kind === 'failed') reject(new Error(m.error));
      else {
        bar.stop();
        resolve({ p50: percentile(m.samples, 50)!, p99: percentile(m.samples, 99)! });
      }
    });
    worker.on('error', reject);
    worker.on('exit', (code) => {
      if (code !== 0) reject(new Error(`${label}: the client worker exited with ${code}`));
    });
  });
}

async function queryBenchmark(dir: string) {
  // Submitted orders stay submitted (the wait below looks for that), and no saga runs beside the queries.
  const sagaAutostart = process.env.SAGA_AUTOSTART;
  process.env.SAGA_AUTOSTART = 'false';
  const host = await EmbeddedHost.start({ appDir: appRoot(), port: 0, database: join(dir, 'host.sqlite'), logWriter: () => undefined });
  const { store: peer, close: closePeer } = await emmettStore(join(dir, 'emmett-orders.sqlite'));
  try {
    const base = `${host.baseUrl}/api`;
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (res.status >= 300) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    };
    const ORDERS = 200;
    const bar = progress('seed orders', ORDERS);
    await forEachLimit(
      Array.from({ length: ORDERS }, (_, i) => i),
      8,
      async (i) => {
        const items = [
          { sku: `SKU-${i % 20}`, quantity: 1 + (i % 3), unitPrice: 9.99 },
          { sku: `SKU-${(i + 7) % 20}`, quantity: 1, unitPrice: 4.5 },
        ];
        await post('/orders', { orderId: `bench-${i}`, customerId: `cust-${i % 25}`, items });
        await post(`/orders/bench-${i}/items`, { sku: `SKU-${(i + 3) % 20}`, quantity: 2, unitPrice: 1.25 });
        await post(`/orders/bench-${i}/submit`, {});
        bar.increment();
      },
    );
    bar.stop();
    // The same order histories in Emmett (one writer at a time), for the in-process reference.
    for (let i = 0; i < ORDERS; i++) {
      const items = [
        { sku: `SKU-${i % 20}`, quantity: 1 + (i % 3), unitPrice: 9.99 },
        { sku: `SKU-${(i + 7) % 20}`, quantity: 1, unitPrice: 4.5 },
      ];
      await peer.appendToStream(`order-bench-${i}`, [
        { type: 'OrderCreated', data: { orderId: `bench-${i}`, customerId: `cust-${i % 25}` } },
        ...items.map((it) => ({ type: 'ItemAdded', data: it })),
        { type: 'ItemAdded', data: { sku: `SKU-${(i + 3) % 20}`, quantity: 2, unitPrice: 1.25 } },
        { type: 'OrderSubmitted', data: {} },
      ]);
    }
    for (let s = 0; s < 20; s++) await post(`/inventory/SKU-${s}/receipts`, { quantity: 100 });
    // Wait until every order is in the view.
    for (let i = 0; i < ORDERS; i++) {
      for (;;) {
        const res = await fetch(`${base}/orders/bench-${i}`);
        if (res.headers.get('x-read-model') === 'view' && ((await res.json()) as { status: string }).status === 'submitted') break;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    const paths = (path: (i: number) => string) => Array.from({ length: QUERIES }, (_, i) => `/api${path(i)}`);
    const summaryFold = (s: { lines: number }, e: { type: string }) => ({ lines: s.lines + (e.type === 'ItemAdded' ? 1 : 0) });
    return {
      floor: await httpLatencies(
        'GET /api/health',
        host.baseUrl,
        paths(() => '/health'),
      ),
      order: await httpLatencies(
        'GET /api/orders/{id}',
        host.baseUrl,
        paths((i) => `/orders/bench-${i % ORDERS}`),
      ),
      customer: await httpLatencies(
        'GET customers/{id}/orders',
        host.baseUrl,
        paths((i) => `/customers/cust-${i % 25}/orders?limit=20`),
      ),
      sales: await httpLatencies(
        'GET /api/reports/sales',
        host.baseUrl,
        paths(() => '/reports/sales?limit=20'),
      ),
      inventory: await httpLatencies(
        'GET /api/inventory/{sku}',
        host.baseUrl,
        paths((i) => `/inventory/SKU-${i % 20}`),
      ),
      history: await httpLatencies(
        'GET orders/{id}/events',
        host.baseUrl,
        paths((i) => `/orders/bench-${i % ORDERS}/events?asOf=3`),
      ),
      emmett: await latencies('Emmett aggregateStream', QUERIES, async (i) => {
        await peer.aggregateStream(`order-bench-${i % ORDERS}`, { evolve: summaryFold, initialState: () => ({ lines: 0 }) });
      }),
    };
  } finally {
    closePeer();
    await host.stop();
    if (sagaAutostart === undefined) delete process.env.SAGA_AUTOSTART;
    else process.env.SAGA_AUTOSTART = sagaAutostart;
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-eventstore-'));
  try {
    console.log(`Event store benchmark: ${STREAMS} streams × ${EVENTS} events, ${CONCURRENCY} streams at a time, snapshots every ${SNAPSHOT_EVERY}`);
    console.log(`Machine: ${cpus()[0]?.model} × ${cpus().length}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}\n`);
    const a = ours(dir, SNAPSHOT_EVERY);
    const b = await emmett(dir);
    const f = floor(dir);
    // Emmett's store takes one writer at a time on its connection: the side-by-side figures are
    // one stream at a time. Ours is also measured with CONCURRENCY streams at once (group commit),
    // which is how the host runs.
    const appendOurs = await appendAll('ours', a, 1);
    const appendEmmett = await appendAll('Emmett SQLite', b, 1);
    const appendFloor = await appendAll('floor (better-sqlite3)', f, 1);
    const appendOursConcurrent = await appendAll(`ours ×${CONCURRENCY}`, a, CONCURRENCY, 'concurrent');
    await a.writeSnapshots();
    const loadOurs = await loadAll('ours, no snapshots', (s) => a.loadWith(false, s), 1);
    const loadOursSnap = await loadAll('ours, snapshots', (s) => a.loadWith(true, s), 1);
    const loadEmmett = await loadAll('Emmett SQLite', (s) => b.load(s), 1);
    const loadFloor = await loadAll('floor (better-sqlite3)', (s) => f.load(s), 1);
    await a.close();
    await b.close();
    await f.close();
    const q = await queryBenchmark(dir);

    const t1 = new Table({ style: plain, head: ['one stream at a time', 'ours', 'Emmett SQLite', 'floor (better-sqlite3)', 'ours / Emmett', 'ours / floor'] });
    t1.push(['append, events/s (1 event per append)', fmt(appendOurs), fmt(appendEmmett), fmt(appendFloor), ratio(appendOurs, appendEmmett), ratio(appendOurs, appendFloor)]);
    t1.push(['load, events/s (no snapshots)', fmt(loadOurs), fmt(loadEmmett), fmt(loadFloor), ratio(loadOurs, loadEmmett), ratio(loadOurs, loadFloor)]);
    t1.push([`load, events/s (snapshots every ${SNAPSHOT_EVERY})`, fmt(loadOursSnap), fmt(loadEmmett), fmt(loadFloor), ratio(loadOursSnap, loadEmmett), ratio(loadOursSnap, loadFloor)]);
    console.log(`\n${t1.toString()}`);
    console.log(
      `ours with ${CONCURRENCY} streams appending at once: ${fmt(appendOursConcurrent)} events/s (${ratio(appendOursConcurrent, appendOurs)} ours one at a time, ${ratio(appendOursConcurrent, appendEmmett)} Emmett, ${ratio(appendOursConcurrent, appendFloor)} the floor of one transaction per append)\n`,
    );
    const ms = (n: number) => `${n.toFixed(2)} ms`;
    const t2 = new Table({ style: plain, head: ['query (sequential, over HTTP, client in a worker thread)', 'p50', 'p99', 'p50 / health', 'p50 / Emmett aggregate'] });
    const rows: [string, { p50: number; p99: number }][] = [
      ['GET /api/orders/{id}', q.order],
      ['GET /api/customers/{id}/orders', q.customer],
      ['GET /api/reports/sales', q.sales],
      ['GET /api/inventory/{sku}', q.inventory],
      ['GET /api/orders/{id}/events?asOf=3', q.history],
    ];
    for (const [name, l] of rows) t2.push([name, ms(l.p50), ms(l.p99), ratio(l.p50, q.floor.p50), ratio(l.p50, q.emmett.p50)]);
    t2.push(['GET /api/health (HTTP floor)', ms(q.floor.p50), ms(q.floor.p99), '1.00×', ratio(q.floor.p50, q.emmett.p50)]);
    t2.push(['Emmett aggregateStream (in-process)', ms(q.emmett.p50), ms(q.emmett.p99), ratio(q.emmett.p50, q.floor.p50), '1.00×']);
    console.log(t2.toString());

    const results = {
      benchmark: 'eventstore',
      at: new Date().toISOString(),
      machine: { cpu: cpus()[0]?.model, cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
      parameters: { streams: STREAMS, eventsPerStream: EVENTS, concurrency: CONCURRENCY, snapshotEvery: SNAPSHOT_EVERY, queries: QUERIES },
      eventsPerSecond: {
        append: { ours: appendOurs, emmett: appendEmmett, floor: appendFloor, oursConcurrent: appendOursConcurrent },
        load: { ours: loadOurs, oursWithSnapshots: loadOursSnap, emmett: loadEmmett, floor: loadFloor },
      },
      queryLatencyMs: q,
    };
    const out = join(appRoot(), 'bench', 'results');
    mkdirSync(out, { recursive: true });
    const file = join(out, `eventstore-${results.at.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    console.log(`\nWritten to ${file}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: Error) => {
  console.error(error);
  process.exitCode = 1;
});
