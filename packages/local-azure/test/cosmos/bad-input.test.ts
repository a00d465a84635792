// Bad input on the Cosmos DB REST endpoint gets the status and error body Cosmos DB gives — never a
// 500, a crash or a hang. The statuses follow the REST API's status codes page
// (learn.microsoft.com/rest/api/cosmos-db/http-status-codes-for-cosmosdb: 400 for invalid JSON or
// SQL or a missing partition key header, 401 for an invalid Authorization header, 413 over 2 MB)
// and what the service answers as the SDKs' issue trackers show it (403 "The authorization token is
// not valid at the current time" for a date outside the token's window; 400 with sub-status 1001
// for a partition key that differs from the document's). Raw HTTP where an SDK would not send the
// request; @azure/cosmos where it can, checking the ErrorResponse it hands its caller. The fuzz
// target (test/support/fuzz/cosmos-targets.ts) covers the rest at random.
import { CosmosClient, ErrorResponse, type Container } from '@azure/cosmos';
import { request } from 'node:http';
import { connect } from 'node:net';
import { systemClock } from '../../src/clock';
import { EMULATOR_KEY, signature } from '../../src/cosmos-rest/auth';
import { CosmosRestServer } from '../../src/cosmos-rest/server';
import { EmbeddedDocumentStore } from '../../src/docstore/store';
import { HostLogger, type LogRecord } from '../../src/host/logger';
import { GroupCommit, openDatabase } from '../../src/sqlite';

const db = openDatabase(':memory:');
const commit = new GroupCommit(db);
const store = new EmbeddedDocumentStore('app', [{ name: 'items', partitionKey: '/pk' }], db, commit, systemClock);
const logs: LogRecord[] = [];
const server = new CosmosRestServer({ documents: store, db, logger: new HostLogger({ default: 'error' }, (r) => logs.push(r)) });
let port: number;
let client: CosmosClient;
let items: Container;

beforeAll(async () => {
  port = await server.listen(0);
  client = new CosmosClient({
    endpoint: `http://localhost:${port}`,
    key: EMULATOR_KEY,
    connectionPolicy: { retryOptions: { maxRetryAttemptCount: 0, fixedRetryIntervalInMilliseconds: 0, maxWaitTimeInSeconds: 1 } },
  });
  items = client.database('app').container('items');
  await items.items.create({ id: 'exists', pk: 'a', n: 1 });
});
afterAll(async () => {
  client.dispose();
  await server.close();
  commit.close();
  db.close();
});
afterEach(() => {
  // Nothing here is the server's fault: none of it may be logged as one.
  expect(logs.filter((l) => l.level === 'error')).toEqual([]);
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: { code?: string; message?: string } & Record<string, unknown>;
}

/** A request signed as the SDKs sign it (unless told otherwise), answered within 10 s. */
function call(method: string, path: string, o: { headers?: Record<string, string>; body?: string | Buffer; sign?: false; key?: string; date?: string } = {}): Promise<Answer> {
  const date = o.date ?? new Date().toUTCString();
  const segments = path.split('?')[0]!.split('/').filter(Boolean);
  const even = segments.length % 2 === 0;
  const type = segments.length === 0 ? '' : even ? segments[segments.length - 2]! : segments[segments.length - 1]!;
  const link = (even ? segments : segments.slice(0, -1)).join('/');
  const headers: Record<string, string> = { 'x-ms-date': date, ...o.headers };
  if (o.sign !== false) headers.authorization = encodeURIComponent(`type=master&ver=1.0&sig=${signature(o.key ?? EMULATOR_KEY, method, type, link, date)}`);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode!, headers: res.headers, body: text ? (JSON.parse(text) as Answer['body']) : {} });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 10 s`)));
    req.on('error', reject);
    req.end(o.body);
  });
}

const DOCS = '/dbs/app/colls/items/docs';
const pkHeader = (value: unknown) => ({ 'x-ms-documentdb-partitionkey': JSON.stringify([value]) });

/** The status and code an SDK call failed with. */
async function sdkError(promise: Promise<unknown>): Promise<{ code: unknown; substatus?: unknown; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ErrorResponse) return { code: error.code, substatus: error.substatus, message: String(error.body?.message ?? error.message) };
    throw error;
  }
  throw new Error('the call succeeded');
}

describe('documents', () => {
  test('malformed JSON is 400 BadRequest with the service’s body', async () => {
    for (const body of ['{"id": "x", "pk": ', '{]', 'not json', '\u0000\u0001']) {
      const a = await call('POST', DOCS, { headers: pkHeader('a'), body });
      expect(a).toMatchObject({ status: 400, body: { code: 'BadRequest', message: expect.stringMatching(/not valid JSON/) } });
    }
  });

  test('JSON of the wrong shape is 400: an array, an id that is not a string, has / \\ ? #, or is over 255 characters', async () => {
    for (const doc of [[{ id: 'x', pk: 'a' }], { id: 7, pk: 'a' }, { id: 'a/b', pk: 'a' }, { id: 'a#b', pk: 'a' }, { id: 'x'.repeat(256), pk: 'a' }, { pk: 'a' }]) {
      const a = await call('POST', DOCS, { headers: pkHeader('a'), body: JSON.stringify(doc) });
      expect(a.status).toBe(400);
      expect(a.body).toEqual({ code: 'BadRequest', message: expect.any(String) });
    }
  });

  test('nesting deeper than a document may go (128 levels) is 400, however deep', async () => {
    for (const depth of [129, 10_000, 500_000]) {
      const a = await call('POST', DOCS, { headers: pkHeader('a'), body: `{"id":"deep","pk":"a","v":${'['.repeat(depth)}${']'.repeat(depth)}}` });
      expect(a).toMatchObject({ status: 400, body: { code: 'BadRequest', message: expect.stringMatching(/deeper than 128/) } });
    }
    expect((await items.items.create({ id: 'deep-ok', pk: 'a', v: JSON.parse(`${'['.repeat(100)}1${']'.repeat(100)}`) as unknown })).statusCode).toBe(201);
  });

  test('the partition key header: not JSON, not one component, an object, or not the document’s value', async () => {
    const doc = JSON.stringify({ id: 'pk-check', pk: 'a' });
    for (const value of ['a', '[', '["a","b"]', '[]', '[{"x":1}]']) {
      const a = await call('POST', DOCS, { headers: { 'x-ms-documentdb-partitionkey': value }, body: doc });
      expect(a).toMatchObject({ status: 400, body: { code: 'BadRequest' } });
    }
    const mismatch = await call('POST', DOCS, { headers: pkHeader('b'), body: doc });
    expect(mismatch).toMatchObject({
      status: 400,
      headers: { 'x-ms-substatus': '1001' },
      body: { message: expect.stringMatching(/PartitionKey extracted from document doesn't match the one specified in the header/) },
    });
    // The SDK sends the key it is given; a replace naming another partition than the document's is the same mistake.
    expect(await sdkError(items.item('exists', 'b').replace({ id: 'exists', pk: 'a' }))).toMatchObject({ code: 400, substatus: 1001 });
    // A read in the wrong partition finds nothing, as in Azure.
    expect((await items.item('exists', 'b').read()).statusCode).toBe(404);
  });

  test('a document over 2 MB is 413 "Request size is too large", also through the SDK', async () => {
    expect(await sdkError(items.items.create({ id: 'big', pk: 'a', s: 'x'.repeat(2 * 1024 * 1024) }))).toMatchObject({ code: 413, message: expect.stringMatching(/Request size is too large/) });
    // A body past what the server reads at all (4 MB) is refused too, without reading it all into memory.
    const a = await call('POST', DOCS, { headers: pkHeader('a'), body: Buffer.alloc(5 * 1024 * 1024, 0x20) });
    expect(a).toMatchObject({ status: 413, body: { code: 'RequestEntityTooLarge' } });
  });

  test('a batch over 100 operations is 400; one that is not an array of operations is 400', async () => {
    const batch = { 'x-ms-cosmos-is-batch-request': 'True', 'x-ms-cosmos-batch-atomic': 'True', ...pkHeader('a') };
    const ops = (n: number) => JSON.stringify(Array.from({ length: n }, (_, i) => ({ operationType: 'Create', resourceBody: { id: `b${i}`, pk: 'a' } })));
    expect(await call('POST', DOCS, { headers: batch, body: ops(101) })).toMatchObject({ status: 400, body: { code: 'BadRequest', message: expect.stringMatching(/1 to 100/) } });
    for (const body of ['{}', '[null]', '[1]', '[[]]', '[{"operationType":"Launch"}]']) expect((await call('POST', DOCS, { headers: batch, body })).status).toBe(400);
    // Through the SDK: it refuses a batch over 100 itself; one with a missing body fails in the service's way (nothing written).
    const response = await items.items.batch(
      [
        { operationType: 'Create', resourceBody: { id: 'b-ok', pk: 'a' } },
        { operationType: 'Replace', id: 'b-missing', resourceBody: { id: 'b-missing', pk: 'a' } },
      ],
      'a',
    );
    expect(response.result?.map((r) => r.statusCode)).toEqual([424, 404]);
    expect((await items.item('b-ok', 'a').read()).statusCode).toBe(404);
  });
});

describe('patch', () => {
  test('malformed operations and array positions past the end are 400; "__proto__" in a path is a property name, never the prototype', async () => {
    await items.items.upsert({ id: 'p', pk: 'a', tags: ['x'], nested: {} });
    const patch = (body: unknown) => call('PATCH', `${DOCS}/p`, { headers: pkHeader('a'), body: JSON.stringify(body) });
    for (const body of [[null], [1], [{ op: 'set' }], [{ op: 'set', path: 7, value: 1 }], { operations: [{ op: 'jump', path: '/x' }] }]) {
      expect(await patch(body)).toMatchObject({ status: 400, body: { code: 'BadRequest' } });
    }
    for (const [op, path] of [
      ['set', '/tags/1000000000'],
      ['incr', '/tags/5'],
      ['add', '/tags/-1'],
      ['set', '/tags/1e3'],
      ['move', '/tags/99'],
    ]) {
      const body = op === 'move' ? [{ op, from: '/nested', path }] : [{ op, path, value: 1 }];
      expect(await patch(body)).toMatchObject({ status: 400, body: { code: 'BadRequest', message: expect.stringMatching(/Invalid array index/) } });
    }
    const polluted = await items.item('p', 'a').patch([
      { op: 'set', path: '/__proto__/polluted', value: true },
      { op: 'set', path: '/nested/constructor', value: 'c' },
    ]);
    expect(polluted.statusCode).toBe(200);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const stored = (await items.item('p', 'a').read<Record<string, unknown>>()).resource!;
    expect(Object.hasOwn(stored, '__proto__')).toBe(true);
    expect(JSON.parse(JSON.stringify(stored)).__proto__).toEqual({ polluted: true });
    expect(stored.nested).toEqual({ constructor: 'c' });
  });
});

describe('queries', () => {
  test('SQL that nests deeper than the server walks is 400 with the syntax error body; ordinary nesting runs', async () => {
    const query = { 'content-type': 'application/query+json', 'x-ms-documentdb-isquery': 'True' };
    const deep = [
      `SELECT * FROM c WHERE ${'('.repeat(5_000)}true${')'.repeat(5_000)}`,
      `SELECT * FROM c WHERE ${'NOT '.repeat(5_000)}true`,
      `SELECT VALUE ${Array.from({ length: 20_000 }, () => '1').join(' + ')} FROM c`,
      `SELECT VALUE ${'- '.repeat(5_000)}1 FROM c`,
    ];
    for (const sql of deep) {
      const a = await call('POST', DOCS, { headers: query, body: JSON.stringify({ query: sql }) });
      expect(a).toMatchObject({ status: 400, body: { code: 'BadRequest', message: expect.stringMatching(/levels deep/) } });
    }
    const { resources } = await items.items.query(`SELECT VALUE ${'('.repeat(50)}c.n + 1${')'.repeat(50)} FROM c WHERE c.id = "exists"`).fetchAll();
    expect(resources).toEqual([2]);
  });
});

describe('continuation tokens', () => {
  test('a token the server did not issue is 400 on queries, read feeds and the change feed', async () => {
    const query = { 'content-type': 'application/query+json', 'x-ms-documentdb-isquery': 'True' };
    for (const token of ['garbage', '{"offset":-1}', '{"offset":"x"}', '%%%', '[]', 'eyJ4IjoxfQ']) {
      const q = await call('POST', DOCS, { headers: { ...query, 'x-ms-continuation': token }, body: JSON.stringify({ query: 'SELECT * FROM c' }) });
      expect(q).toMatchObject({ status: 400, body: { code: 'BadRequest' } });
      const feed = await call('GET', DOCS, { headers: { 'x-ms-continuation': token } });
      expect(feed).toMatchObject({ status: 400, body: { code: 'BadRequest' } });
      const changes = await call('GET', DOCS, { headers: { 'a-im': 'Incremental feed', 'if-none-match': token } });
      expect(changes).toMatchObject({ status: 400, body: { code: 'BadRequest' } });
    }
    // The SDK passes a caller's token through; the service's 400 comes back as its ErrorResponse.
    expect(await sdkError(items.items.query('SELECT * FROM c', { continuationToken: 'not-a-token', maxItemCount: 1 }).fetchNext())).toMatchObject({ code: 400 });
  });
});

describe('authorization', () => {
  test('no Authorization header is 401 with the service’s message', async () => {
    const a = await call('GET', '/dbs/app/colls/items', { sign: false });
    expect(a).toMatchObject({ status: 401, body: { code: 'Unauthorized', message: expect.stringMatching(/authorization is missing/) } });
  });

  test('a signature made with another key is 401 "The input authorization token can\'t serve the request", also through the SDK', async () => {
    const wrong = Buffer.alloc(64, 1).toString('base64');
    expect(await call('GET', '/dbs/app/colls/items', { key: wrong })).toMatchObject({ status: 401, body: { message: expect.stringMatching(/The input authorization token can't serve the request/) } });
    const other = new CosmosClient({ endpoint: `http://localhost:${port}`, key: wrong });
    try {
      expect(await sdkError(other.database('app').container('items').read())).toMatchObject({ code: 401 });
    } finally {
      other.dispose();
    }
  });

  test('a date outside the token’s 15 minutes is 403; no date, or one that is not a date, 401', async () => {
    const old = new Date(Date.now() - 20 * 60 * 1000).toUTCString();
    expect(await call('GET', '/dbs/app', { date: old })).toMatchObject({ status: 403, body: { code: 'Forbidden', message: expect.stringMatching(/not valid at the current time/) } });
    expect(await call('GET', '/dbs/app', { date: 'yesterday' })).toMatchObject({ status: 401, body: { code: 'Unauthorized' } });
    const signedWithoutDate = await call('GET', '/dbs/app', { headers: { 'x-ms-date': '' } });
    expect(signedWithoutDate).toMatchObject({ status: 401, body: { message: expect.stringMatching(/mandates Date header/) } });
    expect(await call('GET', '/dbs/app', { headers: { authorization: 'type%3Dresource%26ver%3D1.0%26sig%3Dx' }, sign: false })).toMatchObject({ status: 401 });
    expect(await call('GET', '/dbs/app', { headers: { authorization: '%E0%A4%A' }, sign: false })).toMatchObject({ status: 401 });
  });
});

describe('the HTTP layer', () => {
  test('unknown paths are 404, unsupported methods 405, each with the service’s body', async () => {
    expect(await call('GET', '/dbs/app/tables/x')).toMatchObject({ status: 404, body: { code: 'NotFound' } });
    expect(await call('GET', '/%zz')).toMatchObject({ status: 400, body: { code: 'BadRequest' } });
    expect(await call('PATCH', '/dbs/app')).toMatchObject({ status: 405, body: { code: 'MethodNotAllowed' } });
  });

  test('headers over the server’s limit are 431 with a Cosmos DB body; bytes that are not HTTP are 400', async () => {
    const big = await call('GET', '/dbs/app', { headers: { 'x-ms-continuation': 'x'.repeat(20_000) } });
    expect(big).toMatchObject({ status: 431, body: { code: 'RequestHeaderFieldsTooLarge', message: expect.any(String) } });
    const raw = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      const got: Buffer[] = [];
      socket.on('data', (d: Buffer) => got.push(d));
      socket.on('close', () => resolve(Buffer.concat(got).toString('latin1')));
      socket.end(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x01, 0x00]));
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))).toMatchObject({ code: 'BadRequest' });
  });

  test('after all of that, the SDK still reads and writes', async () => {
    await items.items.upsert({ id: 'after', pk: 'z', ok: true });
    expect((await items.item('after', 'z').read<{ ok: boolean }>()).resource?.ok).toBe(true);
  });
});
