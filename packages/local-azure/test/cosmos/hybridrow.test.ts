// .NET's transactional batch on the wire: HybridRow rows in a RecordIO stream. The request below is
// what Microsoft.Azure.Cosmos 3.64 sent for CreateTransactionalBatch("r").CreateItem(r-1)
// .ReplaceItem("r-kept", ...).CreateItem(r-kept), captured from the program dotnet-sdk.test.ts
// runs; the answer is read back the way the SDK reads it (segment, records with CRC-32, BatchResult).
import { systemClock } from '../../src/clock';
import { EMULATOR_KEY, signature } from '../../src/cosmos-rest/auth';
import { BatchOperationLayout, BatchResultLayout, readRecordIO, writeRecordIO, HybridRowError } from '../../src/cosmos-rest/hybridrow';
import { CosmosRestServer } from '../../src/cosmos-rest/server';
import { EmbeddedDocumentStore } from '../../src/docstore/store';
import { GroupCommit, openDatabase } from '../../src/sqlite';

const DOTNET_BATCH = Buffer.from(
  '81f0d8ff7f010a00000081f1d8ff7f2a0000006212e4b5817054e17f4300000000020000001b7b226964223a22722d31222c22706b223a2272222c226e223a317d' +
    '81f1d8ff7f3400000050aec74d817054e17f53050000000200000006722d6b6570741e7b226964223a22722d6b657074222c22706b223a2272222c226e223a327d' +
    '81f1d8ff7f2d0000005a64ce6b817054e17f4300000000020000001e7b226964223a22722d6b657074222c22706b223a2272222c226e223a337d',
  'hex',
);

describe('HybridRow', () => {
  test('reads the rows .NET sends: operation type, id, JSON body, each record checked against its CRC-32', () => {
    const rows = readRecordIO(DOTNET_BATCH).map((row) => BatchOperationLayout.read(row));
    expect(rows.map((r) => [r.operationType, r.resourceType, r.id])).toEqual([
      [0, 2, undefined],
      [5, 2, 'r-kept'],
      [0, 2, undefined],
    ]);
    expect(JSON.parse((rows[1]!.resourceBody as Buffer).toString())).toEqual({ id: 'r-kept', pk: 'r', n: 2 });
  });

  test('writes the segment header byte for byte as .NET does, and rows it reads back with sparse fields', () => {
    const written = writeRecordIO([BatchResultLayout.write({ statusCode: 201, subStatusCode: 0, eTag: '"e1"', resourceBody: Buffer.from('{}'), requestCharge: 5.5 })]);
    expect(written.subarray(0, 10)).toEqual(DOTNET_BATCH.subarray(0, 10));
    const [row] = readRecordIO(written);
    expect(BatchResultLayout.read(row!)).toEqual({ statusCode: 201, subStatusCode: 0, eTag: '"e1"', resourceBody: Buffer.from('{}'), requestCharge: 5.5 });
    const sparse = BatchOperationLayout.write({ operationType: 4, resourceType: 2, id: 'x', ifMatch: '"etag"', minimalReturnPreference: true, timeToLiveInSeconds: -1 });
    expect(BatchOperationLayout.read(sparse)).toEqual({ operationType: 4, resourceType: 2, id: 'x', ifMatch: '"etag"', minimalReturnPreference: true, timeToLiveInSeconds: -1 });
  });

  test('refuses a corrupted record, a truncated stream and a row of another schema', () => {
    const corrupted = Buffer.from(DOTNET_BATCH);
    corrupted.writeUInt8(corrupted.readUInt8(40) ^ 0xff, 40);
    expect(() => readRecordIO(corrupted)).toThrow(/CRC-32/);
    expect(() => readRecordIO(DOTNET_BATCH.subarray(0, DOTNET_BATCH.length - 3))).toThrow(HybridRowError);
    expect(() => BatchResultLayout.read(readRecordIO(DOTNET_BATCH)[0]!)).toThrow(/BatchResult row was expected/);
  });
});

describe('a .NET batch over HTTP', () => {
  const db = openDatabase(':memory:');
  const commit = new GroupCommit(db);
  const store = new EmbeddedDocumentStore('app', [{ name: 'things', partitionKey: '/pk' }], db, commit, systemClock);
  const server = new CosmosRestServer({ documents: store, db });
  let base = '';
  beforeAll(async () => {
    base = `http://127.0.0.1:${await server.listen(0)}`;
  });
  afterAll(async () => {
    await server.close();
    commit.close();
    db.close();
  });

  async function batch(body: Buffer): Promise<{ status: number; contentType: string | null; body: Buffer }> {
    const date = new Date().toUTCString();
    const auth = `type=master&ver=1.0&sig=${signature(EMULATOR_KEY, 'POST', 'docs', 'dbs/app/colls/things', date)}`;
    const res = await fetch(`${base}/dbs/app/colls/things/docs`, {
      method: 'POST',
      headers: {
        'x-ms-date': date,
        authorization: encodeURIComponent(auth),
        'x-ms-version': '2020-07-15',
        'x-ms-documentdb-partitionkey': '["r"]',
        'x-ms-cosmos-is-batch-request': 'True',
        'x-ms-cosmos-batch-atomic': 'True',
      },
      body,
    });
    return { status: res.status, contentType: res.headers.get('content-type'), body: Buffer.from(await res.arrayBuffer()) };
  }

  test('answered in HybridRow: the failing last operation 409, the others 424, nothing written', async () => {
    await store.container('things').create({ id: 'r-kept', pk: 'r', n: 1 });
    const res = await batch(DOTNET_BATCH);
    expect(res.status).toBe(207);
    expect(res.body[0]).toBe(0x81);
    expect(readRecordIO(res.body).map((row) => BatchResultLayout.read(row).statusCode)).toEqual([424, 424, 409]);
    expect(await store.container('things').read('r-1', 'r')).toBeUndefined();
    expect(await store.container('things').read('r-kept', 'r')).toMatchObject({ n: 1 });
  });

  test('succeeding: 200, each result with its ETag, body and charge', async () => {
    const res = await batch(writeRecordIO([BatchOperationLayout.write({ operationType: 0, resourceType: 2, resourceBody: Buffer.from('{"id":"r-2","pk":"r","n":2}') })]));
    expect(res.status).toBe(200);
    const [result] = readRecordIO(res.body).map((row) => BatchResultLayout.read(row));
    const stored = await store.container('things').read('r-2', 'r');
    expect(result).toMatchObject({ statusCode: 201, subStatusCode: 0, eTag: stored?._etag, requestCharge: expect.any(Number) });
    expect(JSON.parse((result!.resourceBody as Buffer).toString())).toMatchObject({ id: 'r-2', n: 2, _etag: stored?._etag });
  });

  test('a malformed stream is 400 in JSON, as any refused request', async () => {
    const res = await batch(Buffer.concat([DOTNET_BATCH.subarray(0, 20), Buffer.from([0, 0, 0])]));
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body.toString())).toMatchObject({ code: 'BadRequest', message: expect.stringContaining('HybridRow') });
  });
});
