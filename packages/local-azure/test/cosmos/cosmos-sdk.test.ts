// The Cosmos DB REST API checked with a client nobody here wrote: CosmosClient from @azure/cosmos
// 4.9, with the emulator's endpoint form and key, over plain HTTP, default connection policy (it
// reads the database account and follows the endpoint it advertises). Data lives in a SQLite file,
// so durability across a restart is checked too.
import { ChangeFeedStartFrom, CosmosClient, ErrorResponse, PatchOperationType, type Container, type Database } from '@azure/cosmos';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../src/clock';
import { EmbeddedDocumentStore } from '../../src/docstore/store';
import { EMULATOR_KEY } from '../../src/cosmos-rest/auth';
import { CosmosRestServer } from '../../src/cosmos-rest/server';
import { GroupCommit, openDatabase, type Db } from '../../src/sqlite';

const dir = mkdtempSync(join(tmpdir(), 'cosmos-rest-'));
const file = join(dir, 'store.sqlite');

interface Running {
  db: Db;
  commit: GroupCommit;
  store: EmbeddedDocumentStore;
  server: CosmosRestServer;
  client: CosmosClient;
}

async function start(): Promise<Running> {
  const db = openDatabase(file);
  const commit = new GroupCommit(db);
  const store = new EmbeddedDocumentStore('app', [{ name: 'declared', partitionKey: '/pk' }], db, commit, systemClock);
  const server = new CosmosRestServer({ documents: store, db });
  const port = await server.listen(0);
  const client = new CosmosClient({ endpoint: `http://localhost:${port}`, key: EMULATOR_KEY });
  return { db, commit, store, server, client };
}

async function stop(r: Running): Promise<void> {
  r.client.dispose();
  await r.server.close();
  r.commit.close();
  r.db.close();
}

/** The status of a failed SDK call (ErrorResponse.code), or 'ok'. */
async function statusOf(promise: Promise<unknown>): Promise<number | string> {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    if (error instanceof ErrorResponse || (error as { code?: unknown }).code !== undefined) return (error as ErrorResponse).code as number;
    throw error;
  }
}

let r: Running;
let database: Database;
let items: Container;

beforeAll(async () => {
  r = await start();
  ({ database } = await r.client.databases.createIfNotExists({ id: 'sdk' }));
  ({ container: items } = await database.containers.createIfNotExists({ id: 'items', partitionKey: { paths: ['/pk'] } }));
});

afterAll(async () => {
  await stop(r);
  rmSync(dir, { recursive: true, force: true });
});

describe('account, databases and containers', () => {
  test('the account names this endpoint; the store’s own database and its containers are listed', async () => {
    const { resource: account } = await r.client.getDatabaseAccount();
    expect(account?.writableLocations[0]?.databaseAccountEndpoint).toBe(`http://localhost:${r.server.port}/`);
    const { resources: dbs } = await r.client.databases.readAll().fetchAll();
    expect(dbs.map((d) => d.id).sort()).toEqual(['app', 'sdk']);
    const { resources: colls } = await r.client.database('app').containers.readAll().fetchAll();
    expect(colls.map((c) => c.id)).toEqual(['declared']);
    expect(colls[0]!.partitionKey?.paths).toEqual(['/pk']);
  });

  test('a container keeps its definition (partition key, TTL, unique keys, indexing policy); a second create is 409; delete then read is 404', async () => {
    const { resource } = await database.containers.create({
      id: 'defined',
      partitionKey: '/tenant',
      defaultTtl: 3600,
      indexingPolicy: { indexingMode: 'consistent', includedPaths: [{ path: '/tenant/?' }], excludedPaths: [{ path: '/*' }] },
      uniqueKeyPolicy: { uniqueKeys: [{ paths: ['/email'] }] },
    });
    expect(resource).toMatchObject({ id: 'defined', partitionKey: { paths: ['/tenant'], kind: 'Hash' }, defaultTtl: 3600, indexingPolicy: { includedPaths: [{ path: '/tenant/?' }] } });
    expect(resource?._rid).toMatch(/^[A-Za-z0-9=]{12}$/);
    const { resource: read } = await database.container('defined').read();
    expect(read?._rid).toBe(resource?._rid);
    expect(read?.uniqueKeyPolicy?.uniqueKeys).toEqual([{ paths: ['/email'] }]);
    expect(await statusOf(database.containers.create({ id: 'defined', partitionKey: '/tenant' }))).toBe(409);
    await database.container('defined').delete();
    expect(await statusOf(database.container('defined').read())).toBe(404);
    expect(await statusOf(r.client.database('nope').read())).toBe(404);
  });

  test('replacing a container keeps the new indexing policy; its partition key and TTL cannot change (400)', async () => {
    const { container } = await database.containers.createIfNotExists({ id: 'replaced', partitionKey: '/k' });
    const { resource: before } = await container.read();
    const { resource } = await container.replace({ ...before!, indexingPolicy: { indexingMode: 'consistent', includedPaths: [{ path: '/k/?' }], excludedPaths: [{ path: '/*' }] } });
    expect(resource?.indexingPolicy?.includedPaths).toEqual([{ path: '/k/?' }]);
    expect(resource?._etag).not.toBe(before!._etag);
    expect((await container.read()).resource?.indexingPolicy?.includedPaths).toEqual([{ path: '/k/?' }]);
    expect(await statusOf(container.replace({ ...before!, partitionKey: { paths: ['/other'] } }))).toBe(400);
    expect(await statusOf(container.replace({ ...before!, defaultTtl: 10 }))).toBe(400);
  });

  test('a query over containers and the partition key ranges (one range, "" to "FF")', async () => {
    const { resources } = await database.containers.query({ query: 'SELECT * FROM c WHERE c.id = @id', parameters: [{ name: '@id', value: 'items' }] }).fetchAll();
    expect(resources.map((c) => c.id)).toEqual(['items']);
    const ranges = await items.getFeedRanges();
    expect(ranges).toHaveLength(1);
  });
});

describe('documents', () => {
  test('create, read, replace with If-Match, stale ETag 412, If-None-Match 304, conflict 409, delete, 404', async () => {
    const { resource: created, statusCode, headers } = await items.items.create({ id: 'a', pk: 'p1', n: 1 });
    expect(statusCode).toBe(201);
    expect(Number(headers['x-ms-request-charge'])).toBeGreaterThan(0);
    expect(headers['x-ms-session-token']).toMatch(/^0:-1#\d+$/);
    expect(created).toMatchObject({ id: 'a', pk: 'p1', n: 1, _attachments: 'attachments/' });
    expect(created!._rid).toMatch(/^[A-Za-z0-9=]{24}$/);
    expect(created!._self).toBe(`dbs/${(await database.read()).resource!._rid}/colls/${(await items.read()).resource!._rid}/docs/${created!._rid}/`);
    expect(typeof created!._ts).toBe('number');

    const { resource: read } = await items.item('a', 'p1').read();
    expect(read).toMatchObject({ id: 'a', n: 1, _etag: created!._etag, _rid: created!._rid });
    const notModified = await items.item('a', 'p1').read({ accessCondition: { type: 'IfNoneMatch', condition: created!._etag } });
    expect(notModified.statusCode).toBe(304);

    const { resource: replaced } = await items.item('a', 'p1').replace({ id: 'a', pk: 'p1', n: 2 }, { accessCondition: { type: 'IfMatch', condition: created!._etag } });
    expect(replaced!._etag).not.toBe(created!._etag);
    expect(await statusOf(items.item('a', 'p1').replace({ id: 'a', pk: 'p1', n: 3 }, { accessCondition: { type: 'IfMatch', condition: created!._etag } }))).toBe(412);
    expect(await statusOf(items.items.create({ id: 'a', pk: 'p1' }))).toBe(409);
    expect(await statusOf(items.items.create({ id: 'a', pk: 'p2' }))).toBe('ok');

    const missing = await items.item('missing', 'p1').read();
    expect(missing.statusCode).toBe(404);
    expect(missing.resource).toBeUndefined();
    expect(await statusOf(items.item('a', 'p1').delete({ accessCondition: { type: 'IfMatch', condition: created!._etag } }))).toBe(412);
    const deleted = await items.item('a', 'p1').delete();
    expect(deleted.statusCode).toBe(204);
    expect(await statusOf(items.item('a', 'p1').delete())).toBe(404);
    expect(await statusOf(items.item('a', 'p1').replace({ id: 'a', pk: 'p1' }))).toBe(404);
  });

  test('upsert creates (201) then replaces (200); a stale If-Match is 412', async () => {
    const first = await items.items.upsert({ id: 'u', pk: 'p1', n: 1 });
    expect(first.statusCode).toBe(201);
    const second = await items.items.upsert({ id: 'u', pk: 'p1', n: 2 });
    expect(second.statusCode).toBe(200);
    expect(await statusOf(items.items.upsert({ id: 'u', pk: 'p1', n: 3 }, { accessCondition: { type: 'IfMatch', condition: first.resource!._etag } }))).toBe(412);
    expect((await items.item('u', 'p1').read()).resource?.n).toBe(2);
  });

  test('patch: set, incr, add, remove; a false condition is 412; changing the partition key is 400', async () => {
    await items.items.create({ id: 'p', pk: 'p1', n: 1, tags: ['a'], gone: true });
    const { resource } = await items.item('p', 'p1').patch([
      { op: PatchOperationType.incr, path: '/n', value: 5 },
      { op: PatchOperationType.set, path: '/nested/x', value: 'y' },
      { op: PatchOperationType.add, path: '/tags/-', value: 'b' },
      { op: PatchOperationType.remove, path: '/gone' },
    ]);
    expect(resource).toMatchObject({ id: 'p', n: 6, nested: { x: 'y' }, tags: ['a', 'b'] });
    expect(resource).not.toHaveProperty('gone');
    expect(await statusOf(items.item('p', 'p1').patch({ condition: 'FROM c WHERE c.n > 100', operations: [{ op: PatchOperationType.set, path: '/n', value: 0 }] }))).toBe(412);
    const applied = await items.item('p', 'p1').patch({ condition: 'FROM c WHERE c.n = 6', operations: [{ op: PatchOperationType.set, path: '/n', value: 0 }] });
    expect(applied.resource?.n).toBe(0);
    expect(await statusOf(items.item('p', 'p1').patch([{ op: PatchOperationType.set, path: '/pk', value: 'other' }]))).toBe(400);
    expect(await statusOf(items.item('p', 'p1').patch([{ op: PatchOperationType.replace, path: '/absent', value: 1 }]))).toBe(400);
  });

  test('a body whose partition key differs from the one given is 400; an item over 2 MB is 413', async () => {
    expect(await statusOf(items.item('x', 'p1').replace({ id: 'x', pk: 'p2' }))).toBe(400);
    expect(await statusOf(items.items.create({ id: 'big', pk: 'p1', blob: 'x'.repeat(2 * 1024 * 1024 + 10) }))).toBe(413);
  });

  test('items without the partition key field (the "None" partition) and with a null key, in a container created without a partition key', async () => {
    const { container } = await database.containers.createIfNotExists({ id: 'unkeyed' });
    expect((await container.read()).resource?.partitionKey?.paths).toEqual(['/_partitionKey']);
    await container.items.create({ id: 'free', n: 1 });
    expect((await container.item('free').read()).resource).toMatchObject({ id: 'free', n: 1 });
    const { container: keyed } = await database.containers.createIfNotExists({ id: 'nullable', partitionKey: '/pk' });
    await keyed.items.create({ id: 'same', pk: null, n: 1 });
    await keyed.items.create({ id: 'same', n: 2 });
    await keyed.items.create({ id: 'same', pk: 'null', n: 3 });
    expect((await keyed.item('same', null).read()).resource?.n).toBe(1);
    expect((await keyed.item('same').read()).resource?.n).toBe(2);
    expect((await keyed.item('same', 'null').read()).resource?.n).toBe(3);
    const { resources } = await keyed.items.query('SELECT VALUE c.n FROM c', { partitionKey: null }).fetchAll();
    expect(resources).toEqual([1]);
  });

  test('a client with another key is refused (401)', async () => {
    const wrong = new CosmosClient({ endpoint: `http://localhost:${r.server.port}`, key: Buffer.from('not the key').toString('base64'), connectionPolicy: { enableEndpointDiscovery: false } });
    try {
      expect(await statusOf(wrong.database('sdk').read())).toBe(401);
    } finally {
      wrong.dispose();
    }
  });

  test('writes survive a restart (the store’s SQLite file), rids included', async () => {
    const { resource } = await items.items.create({ id: 'durable', pk: 'p9', n: 9 });
    await stop(r);
    r = await start();
    database = r.client.database('sdk');
    items = database.container('items');
    const { resource: read } = await items.item('durable', 'p9').read();
    expect(read).toMatchObject({ id: 'durable', n: 9, _etag: resource!._etag, _rid: resource!._rid });
  });
});

describe('queries', () => {
  let q: Container;
  beforeAll(async () => {
    ({ container: q } = await database.containers.createIfNotExists({ id: 'queries', partitionKey: '/pk' }));
    for (let i = 1; i <= 9; i++) {
      await q.items.create({ id: `q${i}`, pk: i <= 6 ? 'a' : 'b', n: i, tag: i % 2 ? 'odd' : 'even', name: `Item ${i}`, tags: i % 3 === 0 ? ['three'] : [], ...(i === 9 ? { extra: true } : {}) });
    }
  });

  test('WHERE with parameters, ORDER BY, and pages with continuation tokens (fetchNext)', async () => {
    const iterator = q.items.query({ query: 'SELECT * FROM c WHERE c.n >= @min ORDER BY c.n DESC', parameters: [{ name: '@min', value: 2 }] }, { maxItemCount: 3 });
    const pages: number[][] = [];
    while (iterator.hasMoreResults()) {
      const page = await iterator.fetchNext();
      if (page.resources.length) pages.push(page.resources.map((d) => d.n as number));
    }
    expect(pages).toEqual([
      [9, 8, 7],
      [6, 5, 4],
      [3, 2],
    ]);
    const { resources: all } = await q.items.query('SELECT c.id FROM c ORDER BY c.id', { maxItemCount: 4 }).fetchAll();
    expect(all.map((d) => d.id)).toEqual(['q1', 'q2', 'q3', 'q4', 'q5', 'q6', 'q7', 'q8', 'q9']);
  });

  test('a continuation token handed back to a new iterator resumes where the page ended', async () => {
    const first = await q.items.query('SELECT VALUE c.n FROM c ORDER BY c.n', { maxItemCount: 4 }).fetchNext();
    expect(first.resources).toEqual([1, 2, 3, 4]);
    const next = await q.items.query('SELECT VALUE c.n FROM c ORDER BY c.n', { maxItemCount: 4, continuationToken: first.continuationToken }).fetchNext();
    expect(next.resources).toEqual([5, 6, 7, 8]);
  });

  test('the partition key option scopes a query', async () => {
    const { resources } = await q.items.query('SELECT VALUE c.id FROM c', { partitionKey: 'b' }).fetchAll();
    expect(resources.sort()).toEqual(['q7', 'q8', 'q9']);
  });

  test('aggregates, VALUE, TOP, OFFSET LIMIT, DISTINCT, GROUP BY', async () => {
    const one = async (query: string) => (await q.items.query(query).fetchAll()).resources;
    expect(await one('SELECT VALUE COUNT(1) FROM c')).toEqual([9]);
    expect(await one('SELECT COUNT(1) AS n, SUM(c.n) AS total, MIN(c.n) AS lo, MAX(c.n) AS hi, AVG(c.n) AS mean FROM c WHERE c.tag = "odd"')).toEqual([{ n: 5, total: 25, lo: 1, hi: 9, mean: 5 }]);
    expect(await one('SELECT COUNT(1) FROM c')).toEqual([{ $1: 9 }]);
    expect(await one('SELECT TOP 2 VALUE c.n FROM c ORDER BY c.n DESC')).toEqual([9, 8]);
    expect(await one('SELECT VALUE c.n FROM c ORDER BY c.n OFFSET 2 LIMIT 3')).toEqual([3, 4, 5]);
    expect(await one('SELECT DISTINCT VALUE c.tag FROM c ORDER BY c.tag')).toEqual(['even', 'odd']);
    expect(await one('SELECT DISTINCT c.pk FROM c')).toEqual([{ pk: 'a' }, { pk: 'b' }]);
    expect(await one('SELECT c.tag, COUNT(1) AS n FROM c GROUP BY c.tag')).toEqual(
      expect.arrayContaining([
        { tag: 'odd', n: 5 },
        { tag: 'even', n: 4 },
      ]),
    );
  });

  test('built-in functions and operators: IS_DEFINED, ARRAY_CONTAINS, STARTSWITH, CONTAINS, LOWER, UPPER, IN, BETWEEN, LIKE, JOIN', async () => {
    const ids = async (where: string) => (await q.items.query(`SELECT VALUE c.id FROM c WHERE ${where} ORDER BY c.n`).fetchAll()).resources;
    expect(await ids('IS_DEFINED(c.extra)')).toEqual(['q9']);
    expect(await ids('NOT IS_DEFINED(c.extra) AND c.n > 7')).toEqual(['q8']);
    expect(await ids('ARRAY_CONTAINS(c.tags, "three")')).toEqual(['q3', 'q6', 'q9']);
    expect(await ids('STARTSWITH(c.name, "Item 1")')).toEqual(['q1']);
    expect(await ids('CONTAINS(LOWER(c.name), "item 2")')).toEqual(['q2']);
    expect(await ids('UPPER(c.tag) = "EVEN" AND c.n IN (2, 4, 5)')).toEqual(['q2', 'q4']);
    expect(await ids('c.n BETWEEN 3 AND 5')).toEqual(['q3', 'q4', 'q5']);
    expect(await ids('c.name LIKE "%m 7"')).toEqual(['q7']);
    const bracket = await q.items
      .query({
        query: 'SELECT VALUE c.id FROM c WHERE c["tag"] = @t AND c.n < @n ORDER BY c.n',
        parameters: [
          { name: '@t', value: 'odd' },
          { name: '@n', value: 4 },
        ],
      })
      .fetchAll();
    expect(bracket.resources).toEqual(['q1', 'q3']);
    const { resources } = await q.items.query('SELECT c.id, t AS tag FROM c JOIN t IN c.tags WHERE t = "three" ORDER BY c.n').fetchAll();
    expect(resources).toEqual([
      { id: 'q3', tag: 'three' },
      { id: 'q6', tag: 'three' },
      { id: 'q9', tag: 'three' },
    ]);
  });

  test('a syntax error is 400 with the service’s message shape', async () => {
    try {
      await q.items.query('SELECT FROM c WHERE').fetchAll();
      throw new Error('the query succeeded');
    } catch (error) {
      expect((error as ErrorResponse).code).toBe(400);
      expect((error as ErrorResponse).message).toMatch(/Syntax error/);
    }
  });
});

describe('transactional batch', () => {
  test('succeeds as a whole, with each operation’s status', async () => {
    await items.items.create({ id: 'b-base', pk: 'batch', n: 0 });
    const response = await items.items.batch(
      [
        { operationType: 'Create', resourceBody: { id: 'b1', pk: 'batch', n: 1 } },
        { operationType: 'Upsert', resourceBody: { id: 'b2', pk: 'batch', n: 2 } },
        { operationType: 'Read', id: 'b1' },
        { operationType: 'Patch', id: 'b-base', resourceBody: { operations: [{ op: 'incr', path: '/n', value: 10 }] } },
        { operationType: 'Delete', id: 'b2' },
      ],
      'batch',
    );
    expect(response.code).toBe(200);
    expect(response.result?.map((x) => x.statusCode)).toEqual([201, 201, 200, 200, 204]);
    expect((await items.item('b-base', 'batch').read()).resource?.n).toBe(10);
  });

  test('a patch starts from what earlier operations of the same batch wrote, and fails on what they deleted', async () => {
    const response = await items.items.batch(
      [
        { operationType: 'Create', resourceBody: { id: 'bp1', pk: 'batch', n: 1 } },
        { operationType: 'Patch', id: 'bp1', resourceBody: { operations: [{ op: 'incr', path: '/n', value: 10 }] } },
        { operationType: 'Patch', id: 'bp1', resourceBody: { operations: [{ op: 'set', path: '/tag', value: 'twice' }] } },
      ],
      'batch',
    );
    expect(response.result?.map((x) => x.statusCode)).toEqual([201, 200, 200]);
    expect((await items.item('bp1', 'batch').read()).resource).toMatchObject({ n: 11, tag: 'twice' });
    const deleted = await items.items.batch(
      [
        { operationType: 'Delete', id: 'bp1' },
        { operationType: 'Patch', id: 'bp1', resourceBody: { operations: [{ op: 'set', path: '/n', value: 0 }] } },
      ],
      'batch',
    );
    expect(deleted.result?.map((x) => x.statusCode)).toEqual([424, 404]);
    expect((await items.item('bp1', 'batch').read()).resource).toMatchObject({ n: 11 });
  });

  test('a failing operation rolls the batch back: 207, its own status and 424 for the others', async () => {
    const response = await items.items.batch(
      [
        { operationType: 'Create', resourceBody: { id: 'r1', pk: 'batch', n: 1 } },
        { operationType: 'Create', resourceBody: { id: 'b1', pk: 'batch' } },
      ],
      'batch',
    );
    expect(response.code).toBe(207);
    expect(response.result?.map((x) => x.statusCode)).toEqual([424, 409]);
    expect((await items.item('r1', 'batch').read()).statusCode).toBe(404);
  });
});

describe('bulk', () => {
  test('executeBulkOperations: each operation on its own partition and on its own; a failing one does not undo the others', async () => {
    await items.items.create({ id: 'bulk-taken', pk: 'bulk-1' });
    const results = await items.items.executeBulkOperations([
      { operationType: 'Create', partitionKey: 'bulk-1', resourceBody: { id: 'bulk-a', pk: 'bulk-1', n: 1 } },
      { operationType: 'Create', partitionKey: 'bulk-1', resourceBody: { id: 'bulk-taken', pk: 'bulk-1' } },
      { operationType: 'Upsert', partitionKey: 'bulk-2', resourceBody: { id: 'bulk-b', pk: 'bulk-2', n: 2 } },
      { operationType: 'Read', id: 'bulk-taken', partitionKey: 'bulk-1' },
      { operationType: 'Delete', id: 'missing', partitionKey: 'bulk-2' },
    ]);
    expect(results.map((x) => x.response?.statusCode ?? x.error?.code)).toEqual([201, 409, 201, 200, 404]);
    expect((await items.item('bulk-a', 'bulk-1').read()).resource?.n).toBe(1);
    expect((await items.item('bulk-b', 'bulk-2').read()).resource?.n).toBe(2);
  });
});

describe('change feed', () => {
  test('from the beginning, then only what changed; 304 (no results) when nothing did', async () => {
    const { container: feed } = await database.containers.createIfNotExists({ id: 'feed', partitionKey: '/pk' });
    await feed.items.create({ id: 'f1', pk: 'a', n: 1 });
    await feed.items.create({ id: 'f2', pk: 'b', n: 2 });
    const iterator = feed.items.getChangeFeedIterator({ changeFeedStartFrom: ChangeFeedStartFrom.Beginning() });
    const first = await iterator.readNext();
    expect(first.result.map((d: { id: string }) => d.id)).toEqual(['f1', 'f2']);
    const empty = await iterator.readNext();
    expect(empty.statusCode).toBe(304);
    expect(empty.result).toEqual([]);
    await feed.items.upsert({ id: 'f1', pk: 'a', n: 10 });
    const next = await iterator.readNext();
    expect(next.result.map((d: { id: string; n?: unknown }) => [d.id, d.n])).toEqual([['f1', 10]]);
  });

  test('from now sees only later writes; a partition-scoped feed only its partition', async () => {
    const feed = database.container('feed');
    const now = feed.items.getChangeFeedIterator({ changeFeedStartFrom: ChangeFeedStartFrom.Now() });
    expect((await now.readNext()).statusCode).toBe(304);
    await feed.items.create({ id: 'f3', pk: 'b', n: 3 });
    expect((await now.readNext()).result.map((d: { id: string }) => d.id)).toEqual(['f3']);
    const scoped = feed.items.getChangeFeedIterator({ changeFeedStartFrom: ChangeFeedStartFrom.Beginning('b') });
    expect((await scoped.readNext()).result.map((d: { id: string }) => d.id)).toEqual(['f2', 'f3']);
  });
});
