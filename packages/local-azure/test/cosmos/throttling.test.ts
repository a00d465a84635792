// Throttling drills: FAULT_INJECTION naming `cosmos-rest` or `cosmos-rest:<container>` makes that
// share of a container's data requests a 429 as Cosmos DB gives it (sub-status 3200, x-ms-retry-
// after-ms; learn.microsoft.com/azure/cosmos-db/nosql/troubleshoot-request-rate-too-large), with
// nothing written. Checked with @azure/cosmos, whose own retry policy for 429s is what an app
// relies on: at half the requests throttled every write still lands (the diagnostics show the
// retries), and with every request throttled the SDK gives up with the 429 once its retries are spent.
import { CosmosClient, ErrorResponse, type Container } from '@azure/cosmos';
import { systemClock } from '../../src/clock';
import { EMULATOR_KEY, signature } from '../../src/cosmos-rest/auth';
import { CosmosRestServer } from '../../src/cosmos-rest/server';
import { EmbeddedDocumentStore } from '../../src/docstore/store';
import { GroupCommit, openDatabase } from '../../src/sqlite';

const env: NodeJS.ProcessEnv = {};
const db = openDatabase(':memory:');
const commit = new GroupCommit(db);
const store = new EmbeddedDocumentStore(
  'app',
  [
    { name: 'hot', partitionKey: '/pk' },
    { name: 'calm', partitionKey: '/pk' },
  ],
  db,
  commit,
  systemClock,
);
const server = new CosmosRestServer({ documents: store, db, faultInjection: () => env.FAULT_INJECTION });
let port: number;
let client: CosmosClient;
let hot: Container;
let calm: Container;

beforeAll(async () => {
  port = await server.listen(0);
  // The SDK's default budget is 9 retries: at 50 % throttling a write gives up after 10 throttles in
  // a row, 1 in 1,024 — about one run in 26 of the 40 writes below (it happened in CI). 30 retries
  // make that 1 in 2³¹ per write; what is checked is that the SDK's own retry policy rides it out.
  client = new CosmosClient({
    endpoint: `http://localhost:${port}`,
    key: EMULATOR_KEY,
    connectionPolicy: { retryOptions: { maxRetryAttemptCount: 30, fixedRetryIntervalInMilliseconds: 0, maxWaitTimeInSeconds: 60 } },
  });
  hot = client.database('app').container('hot');
  calm = client.database('app').container('calm');
  await hot.read();
});
afterAll(async () => {
  client.dispose();
  await server.close();
  commit.close();
  db.close();
});
afterEach(() => delete env.FAULT_INJECTION);

test("at half the requests throttled, every write lands through the SDK's own retries; another container is not throttled", async () => {
  env.FAULT_INJECTION = JSON.stringify({ 'cosmos-rest:hot': 0.5, routeMessage: 0.5 });
  let retried = 0;
  for (let i = 0; i < 40; i++) {
    const response = await hot.items.create({ id: `h${i}`, pk: 'a' });
    expect(response.statusCode).toBe(201);
    const failed = response.diagnostics.clientSideRequestStatistics.retryDiagnostics.failedAttempts;
    for (const attempt of failed) expect(attempt).toMatchObject({ statusCode: 429 });
    retried += failed.length;
    expect((await calm.items.create({ id: `c${i}`, pk: 'a' })).diagnostics.clientSideRequestStatistics.retryDiagnostics.failedAttempts).toEqual([]);
  }
  // 40 writes at 50 %: the chance of no throttle at all is 2⁻⁴⁰.
  expect(retried).toBeGreaterThan(0);
  env.FAULT_INJECTION = undefined;
  const { resources } = await hot.items.query('SELECT VALUE COUNT(1) FROM c').fetchAll();
  expect(resources).toEqual([40]);
});

test('with every request throttled the SDK gives up with the 429 and nothing is written; the answer is the service’s', async () => {
  env.FAULT_INJECTION = JSON.stringify({ 'cosmos-rest': 1 });
  const impatient = new CosmosClient({
    endpoint: `http://localhost:${port}`,
    key: EMULATOR_KEY,
    connectionPolicy: { retryOptions: { maxRetryAttemptCount: 2, fixedRetryIntervalInMilliseconds: 0, maxWaitTimeInSeconds: 5 } },
  });
  try {
    const error = await impatient
      .database('app')
      .container('calm')
      .items.create({ id: 'never', pk: 'a' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(ErrorResponse);
    expect(error).toMatchObject({ code: 429, substatus: 3200 });
    expect((error as ErrorResponse).retryAfterInMs).toBeGreaterThan(0);
  } finally {
    impatient.dispose();
  }
  // Over plain HTTP: the headers and body Cosmos DB sends with a 429.
  const date = new Date().toUTCString();
  const res = await fetch(`http://localhost:${port}/dbs/app/colls/calm/docs/never`, {
    headers: {
      'x-ms-date': date,
      'x-ms-documentdb-partitionkey': '["a"]',
      authorization: encodeURIComponent(`type=master&ver=1.0&sig=${signature(EMULATOR_KEY, 'GET', 'docs', 'dbs/app/colls/calm/docs/never', date)}`),
    },
  });
  expect(res.status).toBe(429);
  expect(res.headers.get('x-ms-substatus')).toBe('3200');
  expect(Number(res.headers.get('x-ms-retry-after-ms'))).toBeGreaterThan(0);
  expect(await res.json()).toMatchObject({ code: 'TooManyRequests', message: expect.stringMatching(/^Request rate is large/) });
  env.FAULT_INJECTION = undefined;
  expect((await calm.item('never', 'a').read()).statusCode).toBe(404);
  // Metadata requests (the database, the container) are not throttled: only a container's data.
  env.FAULT_INJECTION = JSON.stringify({ 'cosmos-rest': 1 });
  expect((await calm.read()).statusCode).toBe(200);
});

test('a malformed setting is refused when the endpoint starts, naming the target', () => {
  expect(() => new CosmosRestServer({ documents: store, db, faultInjection: () => '{"cosmos-rest": 2}' })).toThrow(/the rate for cosmos-rest must be a number from 0 to 1/);
  expect(() => new CosmosRestServer({ documents: store, db, faultInjection: () => 'nope' })).toThrow(/FAULT_INJECTION must be JSON/);
});
