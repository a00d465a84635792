// The local Azure's Cosmos DB REST endpoint fed hostile requests: requests the SDKs send (the
// account, databases, containers, partition key ranges, document CRUD and patch, queries and
// query plans, read feeds, the change feed, transactional batches and bulk) — signed with the
// emulator's key as the SDKs sign them, so most get past authorization — then mutated: bodies
// replaced by random JSON, bit-flipped, truncated, nested deeper than any document may be, or
// made huge; headers removed, emptied or given random values (partition keys, continuations,
// item counts, feed options, dates, the signature); paths and methods changed; SQL text cut and
// spliced; plus random bytes that are not HTTP at all. Every request must be answered within its
// bound with a status below 500 and, when refused, Cosmos DB's error body ({ code, message }) —
// except 501 NotImplemented for the parts of the API the endpoint says it does not serve. The
// server must not throw (nothing here catches an uncaught exception), and afterwards a real
// @azure/cosmos client still writes and reads a document.
import { request } from 'node:http';
import { connect } from 'node:net';
import { CosmosClient } from '@azure/cosmos';
import fc from 'fast-check';
import { systemClock } from '@backbone/local-azure/clock';
import { EMULATOR_KEY, signature } from '@backbone/local-azure/cosmos-rest/auth';
import { route } from '@backbone/local-azure/cosmos-rest/routing';
import { CosmosRestServer } from '@backbone/local-azure/cosmos-rest/server';
import { EmbeddedDocumentStore } from '@backbone/local-azure/docstore/store';
import { HostLogger, type LogRecord } from '@backbone/local-azure/host/logger';
import { GroupCommit, openDatabase } from '@backbone/local-azure/sqlite';
import type { FuzzTarget } from './runner';

/** An answer may take this long (a 4 MB body on a loaded machine included). */
const ANSWER_MS = 10_000;
/** Random bytes that are not HTTP: the server ends the connection within this long after the client ends its side. */
const CLOSE_MS = 3_000;

interface CosmosRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

interface CosmosInput {
  how: string;
  request?: CosmosRequest;
  /** Sign after the mutations (most inputs), so the handlers see them; unsigned inputs test authorization. */
  sign?: boolean;
  raw?: Uint8Array;
}

const DB = 'fuzzdb';
const COLL = `dbs/${DB}/colls/items`;
const QUERY = { 'content-type': 'application/query+json', 'x-ms-documentdb-isquery': 'True' };
const pk = (value: string) => ({ 'x-ms-documentdb-partitionkey': JSON.stringify([value]) });

/** What the SDKs send, one request per kind. */
const TEMPLATES: CosmosRequest[] = [
  { method: 'GET', path: '/', headers: {} },
  { method: 'GET', path: '/dbs', headers: {} },
  { method: 'POST', path: '/dbs', headers: {}, body: JSON.stringify({ id: 'db2' }) },
  { method: 'POST', path: '/dbs', headers: QUERY, body: JSON.stringify({ query: 'SELECT * FROM root r WHERE r.id = @id', parameters: [{ name: '@id', value: DB }] }) },
  { method: 'GET', path: `/dbs/${DB}`, headers: {} },
  { method: 'GET', path: `/dbs/${DB}/colls`, headers: {} },
  {
    method: 'POST',
    path: `/dbs/${DB}/colls`,
    headers: {},
    body: JSON.stringify({ id: 'c2', partitionKey: { paths: ['/pk'], kind: 'Hash', version: 2 }, uniqueKeyPolicy: { uniqueKeys: [{ paths: ['/u'] }] } }),
  },
  { method: 'GET', path: `/${COLL}`, headers: {} },
  {
    method: 'PUT',
    path: `/${COLL}`,
    headers: {},
    body: JSON.stringify({ id: 'items', partitionKey: { paths: ['/pk'], kind: 'Hash' }, indexingPolicy: { indexingMode: 'consistent', includedPaths: [{ path: '/*' }] } }),
  },
  { method: 'DELETE', path: `/dbs/${DB}/colls/c2`, headers: {} },
  { method: 'GET', path: `/${COLL}/pkranges`, headers: {} },
  { method: 'POST', path: `/${COLL}/docs`, headers: pk('a'), body: JSON.stringify({ id: 'new', pk: 'a', n: 1, tags: ['x'], nested: { deep: true } }) },
  { method: 'POST', path: `/${COLL}/docs`, headers: { ...pk('a'), 'x-ms-documentdb-is-upsert': 'True' }, body: JSON.stringify({ id: 'd1', pk: 'a', n: 2 }) },
  { method: 'GET', path: `/${COLL}/docs/d1`, headers: pk('a') },
  { method: 'GET', path: `/${COLL}/docs/d1`, headers: { ...pk('a'), 'if-none-match': '"x"' } },
  { method: 'PUT', path: `/${COLL}/docs/d2`, headers: { ...pk('a'), 'if-match': '"stale"' }, body: JSON.stringify({ id: 'd2', pk: 'a', n: 3 }) },
  {
    method: 'PATCH',
    path: `/${COLL}/docs/d3`,
    headers: pk('b'),
    body: JSON.stringify({
      operations: [
        { op: 'set', path: '/n', value: 4 },
        { op: 'incr', path: '/n', value: 1 },
        { op: 'add', path: '/tags/-', value: 'y' },
      ],
      condition: 'from c where c.n > 0',
    }),
  },
  { method: 'DELETE', path: `/${COLL}/docs/d4`, headers: pk('b') },
  {
    method: 'POST',
    path: `/${COLL}/docs`,
    headers: { ...QUERY, 'x-ms-max-item-count': '2' },
    body: JSON.stringify({ query: 'SELECT c.id, c.n FROM c WHERE c.n > @n ORDER BY c.n DESC', parameters: [{ name: '@n', value: 0 }] }),
  },
  { method: 'POST', path: `/${COLL}/docs`, headers: { ...QUERY, ...pk('a'), 'x-ms-continuation': '{"offset":1}' }, body: JSON.stringify({ query: 'SELECT VALUE COUNT(1) FROM c' }) },
  {
    method: 'POST',
    path: `/${COLL}/docs`,
    headers: QUERY,
    body: JSON.stringify({ query: 'SELECT DISTINCT TOP 3 c.pk, ARRAY_LENGTH(c.tags) AS t FROM c JOIN x IN c.tags WHERE IS_DEFINED(c.n) AND STARTSWITH(c.id, "d") OFFSET 0 LIMIT 2' }),
  },
  {
    method: 'POST',
    path: `/${COLL}/docs`,
    headers: { ...QUERY, 'x-ms-cosmos-is-query-plan-request': 'True', 'x-ms-cosmos-supported-query-features': 'Aggregate, Distinct, OrderBy, Top, OffsetAndLimit, GroupBy' },
    body: JSON.stringify({ query: 'SELECT c.pk, SUM(c.n) FROM c GROUP BY c.pk' }),
  },
  { method: 'GET', path: `/${COLL}/docs`, headers: { 'x-ms-max-item-count': '2' } },
  { method: 'GET', path: `/${COLL}/docs`, headers: { 'a-im': 'Incremental feed', 'x-ms-documentdb-partitionkeyrangeid': '0', 'x-ms-max-item-count': '3' } },
  { method: 'GET', path: `/${COLL}/docs`, headers: { 'a-im': 'Incremental feed', 'if-none-match': '"2"', ...pk('a') } },
  { method: 'GET', path: `/${COLL}/docs`, headers: { 'a-im': 'Incremental feed', 'if-modified-since': new Date(0).toUTCString() } },
  {
    method: 'POST',
    path: `/${COLL}/docs`,
    headers: { ...pk('c'), 'x-ms-cosmos-is-batch-request': 'True', 'x-ms-cosmos-batch-atomic': 'True', 'content-type': 'application/json' },
    body: JSON.stringify([
      { operationType: 'Create', resourceBody: { id: 'b1', pk: 'c' } },
      { operationType: 'Upsert', resourceBody: { id: 'b2', pk: 'c' } },
      { operationType: 'Read', id: 'b1' },
      { operationType: 'Patch', id: 'b2', resourceBody: { operations: [{ op: 'set', path: '/x', value: 1 }] } },
      { operationType: 'Delete', id: 'b1' },
    ]),
  },
  {
    method: 'POST',
    path: `/${COLL}/docs`,
    headers: { 'x-ms-cosmos-is-batch-request': 'True', 'x-ms-cosmos-batch-atomic': 'False', 'x-ms-documentdb-partitionkeyrangeid': '0', 'content-type': 'application/json' },
    body: JSON.stringify([
      { operationType: 'Create', partitionKey: '["d"]', resourceBody: { id: 'k1', pk: 'd' } },
      { operationType: 'Replace', partitionKey: '["d"]', id: 'k9', resourceBody: { id: 'k9', pk: 'd' } },
    ]),
  },
  { method: 'GET', path: '/offers', headers: {} },
];

const HEADERS = [
  'x-ms-documentdb-partitionkey',
  'x-ms-continuation',
  'x-ms-max-item-count',
  'content-type',
  'x-ms-documentdb-isquery',
  'x-ms-cosmos-is-query-plan-request',
  'if-match',
  'if-none-match',
  'if-modified-since',
  'a-im',
  'x-ms-documentdb-partitionkeyrangeid',
  'x-ms-cosmos-is-batch-request',
  'x-ms-cosmos-batch-atomic',
  'x-ms-documentdb-is-upsert',
  'x-ms-date',
  'authorization',
  'x-ms-start-epk',
  'x-ms-end-epk',
  'x-ms-documentdb-query-enablecrosspartition',
];

/** Header values: printable ASCII only (what HTTP carries), the shapes the server parses and junk. */
const headerValue: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    'null',
    'True',
    'false',
    '-1',
    '0',
    '1e309',
    '[',
    '[]',
    '["a","b"]',
    '[1]',
    '[{}]',
    '[null]',
    '[true]',
    '{}',
    '{"offset":-1}',
    '{"offset":1e99}',
    '"2"',
    '"-5"',
    'Incremental feed',
    'Full Fidelity Feed',
    'Thu, 01 Jan 1970 00:00:00 GMT',
  ),
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 300 }),
  fc.integer({ min: 1, max: 12_000 }).map((n) => 'x'.repeat(n)),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null'),
  fc.base64String({ maxLength: 200 }),
);

/** SQL text cut, spliced and salted with tokens of the grammar. */
const sqlToken = fc.constantFrom(
  'SELECT',
  'VALUE',
  'DISTINCT',
  'TOP',
  'FROM',
  'c',
  'WHERE',
  'JOIN',
  'IN',
  'ORDER BY',
  'GROUP BY',
  'OFFSET',
  'LIMIT',
  'AND',
  'NOT',
  'EXISTS',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  ',',
  '.',
  '*',
  '@p',
  '"s"',
  "'s'",
  '1',
  '-1e400',
  'udf.x',
  'ARRAY(',
  'COUNT(1)',
  'c.a.b[0]',
  'ST_DISTANCE(',
  '--',
  '/*',
  '?',
  ':',
  '!=',
);
const sql: fc.Arbitrary<string> = fc.oneof(
  fc.array(sqlToken, { maxLength: 40 }).map((t) => t.join(' ')),
  fc.integer({ min: 1, max: 3_000 }).map((n) => `SELECT * FROM c WHERE ${'('.repeat(n)}1${')'.repeat(n)}`),
  fc.integer({ min: 1, max: 20_000 }).map((n) => `SELECT * FROM c WHERE c.n IN (${Array.from({ length: n }, (_, i) => i).join(',')})`),
  fc.integer({ min: 1, max: 3_000 }).map((n) => `SELECT * FROM c WHERE ${Array.from({ length: n }, () => 'NOT').join(' ')} true`),
  fc.string({ maxLength: 200 }),
);

/** Nesting deeper than Cosmos DB lets a document go (128 levels), up to deep enough to break a recursive walker. */
const deepJson = fc.tuple(fc.integer({ min: 100, max: 100_000 }), fc.constantFrom('[', '{"a":')).map(([n, open]) => {
  const close = open === '[' ? ']' : '}';
  return `{"id":"deep","pk":"a","v":${open.repeat(n)}1${close.repeat(n)}}`;
});

function mutateBody(body: string | undefined): fc.Arbitrary<{ how: string; body: string | undefined }> {
  const text = body ?? '';
  return fc.oneof(
    fc.jsonValue({ maxDepth: 4 }).map((v) => ({ how: 'body: random JSON', body: JSON.stringify(v) })),
    fc.array(fc.nat(), { minLength: 1, maxLength: 6 }).map((flips) => {
      const bytes = Buffer.from(text);
      for (const f of flips) if (bytes.length) bytes[f % bytes.length] = bytes[f % bytes.length]! ^ (1 << (f % 8));
      return { how: 'body: bits flipped', body: bytes.toString('latin1') };
    }),
    fc.nat().map((n) => ({ how: 'body: truncated', body: text.slice(0, text.length ? n % text.length : 0) })),
    deepJson.map((b) => ({ how: 'body: nested too deep', body: b })),
    fc.integer({ min: 1_900_000, max: 3_000_000 }).map((n) => ({ how: 'body: huge', body: JSON.stringify({ id: 'huge', pk: 'a', s: 'x'.repeat(n) }) })),
    sql.map((q) => ({
      how: 'body: SQL mutated',
      body: JSON.stringify({
        query: q,
        parameters: [
          { name: '@n', value: 1 },
          { name: '@p', value: { a: [1] } },
        ],
      }),
    })),
    fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 120 }).map((ops) => ({ how: 'body: random batch', body: JSON.stringify(ops) })),
    fc.constant({ how: 'body: none', body: undefined }),
  );
}

const segment = fc.oneof(fc.string({ maxLength: 40 }).map(encodeURIComponent), fc.constantFrom('%', '%zz', '%00', '..', 'dbs', 'colls', 'docs', 'users', 'sprocs', 'pkranges', 'x'.repeat(300)));

const mutation = (t: CosmosRequest): fc.Arbitrary<CosmosInput> =>
  fc.oneof(
    { weight: 1, arbitrary: fc.constant({ how: 'as sent', request: t, sign: true }) },
    { weight: 4, arbitrary: mutateBody(t.body).map(({ how, body }) => ({ how, request: { ...t, ...(body === undefined ? { body: undefined } : { body }) }, sign: true })) },
    {
      weight: 4,
      arbitrary: fc.array(fc.tuple(fc.constantFrom(...HEADERS), fc.option(headerValue, { nil: undefined })), { minLength: 1, maxLength: 4 }).map((changes) => {
        const headers = { ...t.headers };
        for (const [name, value] of changes) {
          if (value === undefined) delete headers[name];
          else headers[name] = value;
        }
        return {
          how: `headers: ${changes.map(([n, v]) => `${n}=${v === undefined ? '(removed)' : v.slice(0, 40)}`).join(', ')}`,
          request: { ...t, headers },
          sign: !changes.some(([n]) => n === 'authorization' || n === 'x-ms-date'),
        };
      }),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(fc.nat(), segment).map(([i, s]) => {
        const parts = t.path.split('/');
        parts[1 + (i % Math.max(1, parts.length - 1))] = s;
        return { how: `path: ${parts.join('/').slice(0, 80)}`, request: { ...t, path: parts.join('/') || '/' }, sign: true };
      }),
    },
    { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS').map((method) => ({ how: `method: ${method}`, request: { ...t, method }, sign: true })) },
    { weight: 1, arbitrary: fc.constant({ how: 'unsigned', request: t, sign: false }) },
    { weight: 1, arbitrary: fc.constant({ how: 'signed with another key', request: { ...t, headers: { ...t.headers, 'x-fuzz-wrong-key': '1' } }, sign: true }) },
  );

const input: fc.Arbitrary<CosmosInput> = fc.oneof(
  { weight: 19, arbitrary: fc.constantFrom(...TEMPLATES).chain(mutation) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 2_000 }).map((raw) => ({ how: 'random bytes', raw })) },
);

const WRONG_KEY = Buffer.alloc(64, 7).toString('base64');

/** Signs as the SDKs do (master key over verb, type, link and date); a path the router refuses is signed over nothing. */
function signed(r: CosmosRequest): Record<string, string> {
  const headers = { ...r.headers };
  const date = headers['x-ms-date'] ?? new Date().toUTCString();
  let type = '';
  let link = '';
  try {
    const routed = route(new URL(r.path, 'http://localhost').pathname);
    type = routed.resourceType;
    link = routed.resourceLink;
  } catch {
    // An unroutable path is refused before the signature is looked at.
  }
  const key = headers['x-fuzz-wrong-key'] ? WRONG_KEY : EMULATOR_KEY;
  delete headers['x-fuzz-wrong-key'];
  headers['x-ms-date'] = date;
  headers.authorization = encodeURIComponent(`type=master&ver=1.0&sig=${signature(key, r.method, type, link, date)}`);
  return headers;
}

async function send(port: number, r: CosmosRequest, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer within ${ANSWER_MS} ms`));
    }, ANSWER_MS);
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: r.method,
        path: r.path,
        headers: { ...headers, ...(r.body !== undefined ? { 'content-length': String(Buffer.byteLength(r.body, 'latin1')) } : {}) },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', (e) => {
          clearTimeout(timer);
          reject(e);
        });
      },
    );
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    if (r.body !== undefined) req.end(Buffer.from(r.body, 'latin1'));
    else req.end();
  });
}

/** Bytes that are not HTTP: whatever the server says, it ends the connection once the client ends its side. */
async function sendRaw(port: number, bytes: Uint8Array): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server held a connection for over ${CLOSE_MS} ms after random bytes: ${Buffer.from(bytes).toString('hex').slice(0, 200)}`));
    }, CLOSE_MS);
    socket.on('data', (d: Buffer) => got.push(d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      const head = Buffer.concat(got).toString('latin1').split('\r\n')[0] ?? '';
      if (/^HTTP\/1\.\d 5/.test(head)) reject(new Error(`${head} for random bytes ${Buffer.from(bytes).toString('hex').slice(0, 200)}`));
      else resolve(head ? `raw: ${head.slice(0, 12)}` : 'raw: closed silently');
    });
    socket.end(Buffer.from(bytes));
  });
}

interface Fixture {
  port: number;
  logs: LogRecord[];
  /** Whether the seeded database and container are still there (a mutated DELETE may have taken them). */
  intact(): boolean;
  close(): Promise<void>;
}

async function start(): Promise<Fixture> {
  const db = openDatabase(':memory:');
  const commit = new GroupCommit(db);
  const store = new EmbeddedDocumentStore(DB, [{ name: 'items', partitionKey: '/pk' }], db, commit, systemClock);
  const items = store.container('items');
  for (const [id, p, n] of [
    ['d1', 'a', 1],
    ['d2', 'a', 2],
    ['d3', 'b', 3],
    ['d4', 'b', 4],
    ['d5', 'c', 5],
  ] as const)
    await items.upsert({ id, pk: p, n, tags: ['x'] });
  const logs: LogRecord[] = [];
  const logger = new HostLogger({ default: 'none', 'Cosmos.Rest': 'error' }, (r) => {
    if (logs.length > 100) logs.shift();
    logs.push(r);
  });
  const server = new CosmosRestServer({ documents: store, db, logger });
  const port = await server.listen(0);
  return {
    port,
    logs,
    intact: () => store.has('items'),
    async close() {
      await server.close();
      commit.close();
      db.close();
    },
  };
}

/** A refusal is Cosmos DB's: a status below 500 (or 501 for what is not served) with { code, message }. */
function check(i: CosmosInput, answer: { status: number; text: string }): string {
  const what = `${i.how} ${i.request!.method} ${i.request!.path.slice(0, 100)}`;
  let body: { code?: unknown; message?: unknown } | undefined;
  try {
    body = answer.text ? (JSON.parse(answer.text) as typeof body) : undefined;
  } catch {
    // Checked below for refusals.
  }
  if (answer.status >= 500 && !(answer.status === 501 && body?.code === 'NotImplemented')) {
    throw new Error(`${answer.status} for ${what}: ${answer.text.slice(0, 300)}`);
  }
  if (answer.status >= 400 && i.request!.method !== 'HEAD' && (typeof body?.code !== 'string' || typeof body.message !== 'string')) {
    throw new Error(`${answer.status} without Cosmos DB's error body for ${what}: ${answer.text.slice(0, 300)}`);
  }
  return `${answer.status}${body?.code ? ` ${String(body.code)}` : ''}`;
}

function cosmosRest(): FuzzTarget {
  let fixture: Promise<Fixture> | undefined;
  const outcomes: Record<string, number> = {};
  let current: CosmosInput | undefined;
  const monitor = (error: Error) => {
    if (current) console.error(`\nThe Cosmos DB endpoint threw on ${current.how}: ${error.stack ?? error.message}`);
  };
  return {
    name: 'cosmos-rest',
    level: 'cosmos',
    what: "the Cosmos DB REST endpoint (routing, auth, documents, queries, batches, change feed) on the SDKs' requests mutated, and random bytes",
    // A 3 MB body is read, parsed and refused: bounded, but more than a small input takes.
    slowMs: 5_000,
    property: (ctx) => {
      process.on('uncaughtExceptionMonitor', monitor);
      for (const k of Object.keys(outcomes)) delete outcomes[k];
      return fc.asyncProperty(input, async (i) => {
        ctx.tick({ how: i.how, method: i.request?.method, path: i.request?.path, headers: i.request?.headers, body: i.request?.body?.slice(0, 300), raw: i.raw && Buffer.from(i.raw).toString('hex') });
        fixture ??= start();
        const f = await fixture;
        const { port } = f;
        current = i;
        let outcome: string;
        if (i.raw) outcome = await sendRaw(port, i.raw);
        else {
          const r = i.request!;
          const headers = i.sign ? signed(r) : { ...r.headers, 'x-ms-date': new Date().toUTCString() };
          delete headers['x-fuzz-wrong-key'];
          outcome = check(i, await send(port, r, headers));
        }
        current = undefined;
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        if (!f.intact()) {
          // A DELETE reached the seeded database or container: later inputs get a fresh one, or they would all be 404s.
          const loud = f.logs.filter((l) => l.level === 'error');
          if (loud.length) throw new Error(`the endpoint logged an error: ${loud[0]!.message.slice(0, 500)}`);
          await f.close();
          fixture = start();
        }
      });
    },
    outcomes: () => outcomes,
    async after() {
      process.off('uncaughtExceptionMonitor', monitor);
      if (!fixture) return;
      const f = await fixture;
      fixture = undefined;
      try {
        const client = new CosmosClient({ endpoint: `http://localhost:${f.port}`, key: EMULATOR_KEY });
        try {
          const { container } = await client.database(DB).containers.createIfNotExists({ id: 'check', partitionKey: { paths: ['/pk'] } });
          const id = `after-${Date.now()}`;
          await container.items.create({ id, pk: 'p', ok: true });
          const { resource } = await container.item(id, 'p').read<{ ok: boolean }>();
          if (resource?.ok !== true) throw new Error(`a real client wrote ${id} and read ${JSON.stringify(resource)}`);
        } finally {
          client.dispose();
        }
        const loud = f.logs.filter((l) => l.level === 'error');
        if (loud.length) throw new Error(`the endpoint logged an error: ${loud[0]!.message.slice(0, 500)}`);
      } finally {
        await f.close();
      }
    },
  };
}

export const COSMOS_TARGETS: FuzzTarget[] = [cosmosRest()];
