// The idempotency port's contract (the ESB's idempotent receiver): a key recorded is seen until its
// time to live ends, an unknown one is not, keys are independent whatever characters they hold,
// and recording again renews the time. One implementation on the document port
// (src/adapters/document-idempotency.ts), run here on every document backend: the local Azure's
// store, the Cosmos adapter on the local Azure's Cosmos DB REST API, and a real account when
// configured.
import { DocumentIdempotencyStore } from '../../src/adapters/document-idempotency';
import { documentBackends, type DocumentHarness } from '../support/document-harness';

describe.each(documentBackends().map((b) => [b.name, b] as const))('idempotency contract: %s', (_name, backend) => {
  let h: DocumentHarness;
  let store: DocumentIdempotencyStore;
  let run = 0;
  let key: (name: string) => string;
  beforeAll(async () => {
    h = await backend.create();
    store = new DocumentIdempotencyStore(h.container('idempotency'));
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });
  beforeEach(() => {
    run++;
    key = (name) => `${name}-${process.pid}-${run}`;
  });

  test('an unknown key is not seen; a recorded one is', async () => {
    expect(await store.has(key('m'))).toBe(false);
    await store.record(key('m'), 3600);
    expect(await store.has(key('m'))).toBe(true);
  });

  test('keys are independent, whatever characters they hold (ids Cosmos DB refuses: / \\ ? #)', async () => {
    const odd = [key('a/b'), key('a\\b'), key('a?b'), key('a#b'), key('ä €')];
    for (const k of odd) await store.record(k, 3600);
    for (const k of odd) expect(await store.has(k)).toBe(true);
    expect(await store.has(key('a'))).toBe(false);
  });

  test('recording a key again is fine (a redelivered message recorded twice)', async () => {
    await store.record(key('twice'), 3600);
    await expect(store.record(key('twice'), 3600)).resolves.toBeUndefined();
    expect(await store.has(key('twice'))).toBe(true);
  });

  test('a key is forgotten once its time to live has passed; recording again renews it', async () => {
    await store.record(key('short'), 1);
    await store.record(key('renewed'), 1);
    await h.advance(600);
    await store.record(key('renewed'), 60);
    await h.advance(1_500);
    expect(await store.has(key('short'))).toBe(false);
    expect(await store.has(key('renewed'))).toBe(true);
  });
});
