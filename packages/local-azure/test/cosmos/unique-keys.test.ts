// Unique keys through @azure/cosmos, as Cosmos DB documents them (learn.microsoft.com/azure/cosmos-db/unique-keys):
// the values of a key's paths are unique within a logical partition; a write that would repeat
// them is 409 Conflict; a missing value counts as null ("sparse unique keys are not supported"),
// so only one item of a partition may lack it; other partitions are not constrained; a batch with
// a violating operation leaves nothing. The policy is kept with the container, across a restart.
import { CosmosClient, ErrorResponse, type Container } from '@azure/cosmos';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../src/clock';
import { EMULATOR_KEY } from '../../src/cosmos-rest/auth';
import { CosmosRestServer } from '../../src/cosmos-rest/server';
import { EmbeddedDocumentStore } from '../../src/docstore/store';
import { GroupCommit, openDatabase, type Db } from '../../src/sqlite';

const dir = mkdtempSync(join(tmpdir(), 'cosmos-unique-'));
let db: Db;
let commit: GroupCommit;
let server: CosmosRestServer;
let client: CosmosClient;
let users: Container;

async function start(): Promise<void> {
  db = openDatabase(join(dir, 'store.sqlite'));
  commit = new GroupCommit(db);
  server = new CosmosRestServer({ documents: new EmbeddedDocumentStore('app', [], db, commit, systemClock), db });
  client = new CosmosClient({ endpoint: `http://localhost:${await server.listen(0)}`, key: EMULATOR_KEY });
}
async function stop(): Promise<void> {
  client.dispose();
  await server.close();
  commit.close();
  db.close();
}

async function statusOf(promise: Promise<unknown>): Promise<number | string> {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    if (error instanceof ErrorResponse) return error.code as number;
    throw error;
  }
}

beforeAll(async () => {
  await start();
  const { database } = await client.databases.createIfNotExists({ id: 'unique' });
  ({ container: users } = await database.containers.createIfNotExists({
    id: 'users',
    partitionKey: { paths: ['/tenant'] },
    uniqueKeyPolicy: { uniqueKeys: [{ paths: ['/email'] }, { paths: ['/name/first', '/name/last'] }] },
  }));
});
afterAll(async () => {
  await stop();
  rmSync(dir, { recursive: true, force: true });
});

test('a repeated value in one partition is 409; the same value in another partition is not', async () => {
  await users.items.create({ id: 'u1', tenant: 't1', email: 'ann@example.com', name: { first: 'Ann', last: 'Lee' } });
  expect(await statusOf(users.items.create({ id: 'u2', tenant: 't1', email: 'ann@example.com', name: { first: 'Bo', last: 'Lee' } }))).toBe(409);
  expect(await statusOf(users.items.upsert({ id: 'u2', tenant: 't1', email: 'bo@example.com', name: { first: 'Ann', last: 'Lee' } }))).toBe(409);
  expect(await statusOf(users.items.create({ id: 'u2', tenant: 't2', email: 'ann@example.com', name: { first: 'Ann', last: 'Lee' } }))).toBe('ok');
  // A key of two paths is unique as a pair: the same last name with another first name is fine.
  expect(await statusOf(users.items.create({ id: 'u3', tenant: 't1', email: 'cy@example.com', name: { first: 'Cy', last: 'Lee' } }))).toBe('ok');
  // The item itself may keep its values when it is replaced.
  expect(await statusOf(users.item('u1', 't1').replace({ id: 'u1', tenant: 't1', email: 'ann@example.com', name: { first: 'Ann', last: 'Lee' }, age: 40 }))).toBe('ok');
  expect(await statusOf(users.item('u3', 't1').replace({ id: 'u3', tenant: 't1', email: 'ann@example.com', name: { first: 'Cy', last: 'Lee' } }))).toBe(409);
});

test('a missing value counts as null: one item of a partition may lack it, a second may not', async () => {
  await users.items.create({ id: 'n1', tenant: 't3', name: { first: 'No', last: 'Mail' } });
  expect(await statusOf(users.items.create({ id: 'n2', tenant: 't3', email: null, name: { first: 'Also', last: 'None' } }))).toBe(409);
  expect(await statusOf(users.items.create({ id: 'n3', tenant: 't3', email: 'n3@example.com', name: { first: 'No', last: 'Mail' } }))).toBe(409);
});

test('deleting an item frees its values', async () => {
  await users.items.create({ id: 'd1', tenant: 't4', email: 'd@example.com', name: { first: 'D', last: 'One' } });
  await users.item('d1', 't4').delete();
  expect(await statusOf(users.items.create({ id: 'd2', tenant: 't4', email: 'd@example.com', name: { first: 'D', last: 'One' } }))).toBe('ok');
});

test('a transactional batch with a violating operation leaves nothing', async () => {
  const response = await users.items.batch(
    [
      { operationType: 'Create', resourceBody: { id: 'b1', tenant: 't5', email: 'b@example.com', name: { first: 'B', last: 'One' } } },
      { operationType: 'Create', resourceBody: { id: 'b2', tenant: 't5', email: 'b@example.com', name: { first: 'B', last: 'Two' } } },
    ],
    't5',
  );
  expect(response.result?.map((r) => r.statusCode)).toEqual([424, 409]);
  expect((await users.item('b1', 't5').read()).statusCode).toBe(404);
});

test('the policy is part of the container, and holds after a restart', async () => {
  await stop();
  await start();
  const container = client.database('unique').container('users');
  const { resource } = await container.read();
  expect(resource?.uniqueKeyPolicy?.uniqueKeys).toEqual([{ paths: ['/email'] }, { paths: ['/name/first', '/name/last'] }]);
  expect(await statusOf(container.items.create({ id: 'r1', tenant: 't1', email: 'ann@example.com', name: { first: 'R', last: 'One' } }))).toBe(409);
});

test('a malformed policy is 400', async () => {
  const database = client.database('unique');
  expect(await statusOf(database.containers.create({ id: 'bad1', partitionKey: { paths: ['/pk'] }, uniqueKeyPolicy: { uniqueKeys: [{ paths: [] }] } }))).toBe(400);
  expect(await statusOf(database.containers.create({ id: 'bad2', partitionKey: { paths: ['/pk'] }, uniqueKeyPolicy: { uniqueKeys: [{ paths: ['email'] }] } }))).toBe(400);
});
