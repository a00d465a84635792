// Wire details the JS SDK does not exercise but .NET and hand-written REST clients depend on:
// the error body of a refused request, rid-based paths signed with the lower-cased rid, the
// partition key ranges read as a change feed until 304, the query plan, the change feed's
// headers on 304, and the SDK's own plan-driven pipeline (forceQueryPlan) on this server's plans.
import { CosmosClient } from '@azure/cosmos';
import { systemClock } from '../../src/clock';
import { EMULATOR_KEY, signature } from '../../src/cosmos-rest/auth';
import { CosmosRestServer } from '../../src/cosmos-rest/server';
import { EmbeddedDocumentStore } from '../../src/docstore/store';
import { GroupCommit, openDatabase } from '../../src/sqlite';

const db = openDatabase(':memory:');
const commit = new GroupCommit(db);
const store = new EmbeddedDocumentStore('app', [{ name: 'things', partitionKey: '/pk' }], db, commit, systemClock);
const server = new CosmosRestServer({ documents: store, db });
let base = '';
let client: CosmosClient;

beforeAll(async () => {
  base = `http://127.0.0.1:${await server.listen(0)}`;
  client = new CosmosClient({ endpoint: base, key: EMULATOR_KEY });
  for (let i = 0; i < 5; i++) await store.container('things').create({ id: `t${i}`, pk: i % 2 ? 'odd' : 'even', n: i });
});

afterAll(async () => {
  client.dispose();
  await server.close();
  commit.close();
  db.close();
});

/** A request signed as the SDKs sign it (resource type and link as given). */
async function call(method: string, path: string, type: string, link: string, headers: Record<string, string> = {}, body?: unknown) {
  const date = new Date().toUTCString();
  const auth = `type=master&ver=1.0&sig=${signature(EMULATOR_KEY, method, type, link, date)}`;
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'x-ms-date': date, authorization: encodeURIComponent(auth), 'x-ms-version': '2020-07-15', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

test('an unsigned or wrongly signed request is 401 with the service’s error body (403 when its date is stale)', async () => {
  const unsigned = await fetch(`${base}/dbs`);
  expect(unsigned.status).toBe(401);
  expect(await unsigned.json()).toMatchObject({ code: 'Unauthorized', message: expect.stringContaining('authorization') });
  const wrongLink = await call('GET', '/dbs/app', 'dbs', 'dbs/other');
  expect(wrongLink.status).toBe(401);
  expect(wrongLink.body).toMatchObject({ code: 'Unauthorized' });
  expect(wrongLink.headers.get('x-ms-activity-id')).toMatch(/^[0-9a-f-]{36}$/);
  const stale = await fetch(`${base}/dbs`, {
    headers: {
      'x-ms-date': new Date(Date.now() - 3_600_000).toUTCString(),
      authorization: encodeURIComponent(`type=master&ver=1.0&sig=${signature(EMULATOR_KEY, 'GET', 'dbs', '', new Date(Date.now() - 3_600_000).toUTCString())}`),
    },
  });
  // A signature whose date is outside the token's 15 minutes: the service's 403 "The authorization token is not valid at the current time".
  expect(stale.status).toBe(403);
});

test('partition key ranges by rid-based path, signed with the lower-cased rid as .NET does: 200 with one range, then 304 on If-None-Match', async () => {
  const coll = (await call('GET', '/dbs/app/colls/things', 'colls', 'dbs/app/colls/things')).body!;
  const dbRid = (await call('GET', '/dbs/app', 'dbs', 'dbs/app')).body!._rid as string;
  const path = `/dbs/${dbRid}/colls/${coll._rid as string}/pkranges`;
  const first = await call('GET', path, 'pkranges', (coll._rid as string).toLowerCase(), { 'a-im': 'Incremental feed', 'x-ms-max-item-count': '-1' });
  expect(first.status).toBe(200);
  expect(first.body).toMatchObject({ _rid: coll._rid, _count: 1, PartitionKeyRanges: [{ id: '0', minInclusive: '', maxExclusive: 'FF' }] });
  expect(first.headers.get('x-ms-item-count')).toBe('1');
  const etag = first.headers.get('etag')!;
  const second = await call('GET', path, 'pkranges', (coll._rid as string).toLowerCase(), { 'a-im': 'Incremental feed', 'if-none-match': etag });
  expect(second.status).toBe(304);
  expect(second.headers.get('x-ms-item-count')).toBe('0');
  expect(second.headers.get('etag')).toBe(etag);
});

test('what is not served says so: users, stored procedures (501), an unknown path (404), a verb a resource lacks (405)', async () => {
  expect((await call('GET', '/dbs/app/users', 'users', 'dbs/app')).status).toBe(501);
  expect((await call('GET', '/dbs/app/colls/things/sprocs', 'sprocs', 'dbs/app/colls/things')).status).toBe(501);
  expect((await call('GET', '/dbs/app/nothing', 'nothing', 'dbs/app')).status).toBe(404);
  const patchDb = await call('PATCH', '/dbs/app', 'dbs', 'dbs/app');
  expect(patchDb.status).toBe(405);
  expect(patchDb.body).toMatchObject({ code: 'MethodNotAllowed' });
});

test('the query plan request gets the trivial plan; a bad query gets 400 without the markers that send the SDK to its own planner', async () => {
  const headers = { 'x-ms-cosmos-is-query-plan-request': 'True', 'content-type': 'application/query+json', 'x-ms-cosmos-query-version': '1.4' };
  const plan = await call('POST', '/dbs/app/colls/things/docs', 'docs', 'dbs/app/colls/things', headers, { query: 'SELECT TOP 1 * FROM c ORDER BY c.n' });
  expect(plan.status).toBe(200);
  expect(plan.body).toMatchObject({ queryInfo: { aggregates: [], orderBy: [], top: null, distinctType: 'None' }, queryRanges: [{ min: '', max: 'FF' }] });
  const bad = await call(
    'POST',
    '/dbs/app/colls/things/docs',
    'docs',
    'dbs/app/colls/things',
    { 'x-ms-documentdb-isquery': 'True', 'content-type': 'application/query+json' },
    { query: 'SELECT * FROM' },
  );
  expect(bad.status).toBe(400);
  expect(bad.body).not.toHaveProperty('additionalErrorInfo');
  expect(String(bad.body!.message)).not.toContain('Cross partition query only supports');
  expect(String(bad.body!.message)).toContain('SC1001');
});

test('the SDK’s plan-driven pipeline (forceQueryPlan) gets the same results from these plans', async () => {
  const container = client.database('app').container('things');
  const { resources } = await container.items.query('SELECT VALUE c.n FROM c ORDER BY c.n DESC', { forceQueryPlan: true, maxItemCount: 2 }).fetchAll();
  expect(resources).toEqual([4, 3, 2, 1, 0]);
  const { resources: count } = await container.items.query('SELECT VALUE COUNT(1) FROM c WHERE c.pk = "odd"', { forceQueryPlan: true }).fetchAll();
  expect(count).toEqual([2]);
});

test('change feed: a position is the quoted LSN; 304 keeps the position and says x-ms-item-count: 0; a start time picks up later writes', async () => {
  const feed = (headers: Record<string, string>) => call('GET', '/dbs/app/colls/things/docs', 'docs', 'dbs/app/colls/things', { 'a-im': 'Incremental feed', ...headers });
  const all = await feed({});
  expect(all.status).toBe(200);
  expect((all.body!.Documents as { id: string; _lsn: number }[]).map((d) => d.id)).toEqual(['t0', 't1', 't2', 't3', 't4']);
  const etag = all.headers.get('etag')!;
  expect(etag).toMatch(/^"\d+"$/);
  const none = await feed({ 'if-none-match': etag });
  expect(none.status).toBe(304);
  expect(none.headers.get('x-ms-item-count')).toBe('0');
  expect(none.headers.get('etag')).toBe(etag);
  const paged = await feed({ 'x-ms-max-item-count': '2' });
  expect((paged.body!.Documents as { id: string }[]).map((d) => d.id)).toEqual(['t0', 't1']);
  const later = new Date(Date.now() + 1500);
  await new Promise((r) => setTimeout(r, 2100));
  await store.container('things').upsert({ id: 't1', pk: 'odd', n: 10 });
  const since = await feed({ 'if-modified-since': later.toUTCString() });
  expect((since.body!.Documents as { id: string }[]).map((d) => d.id)).toEqual(['t1']);
});
