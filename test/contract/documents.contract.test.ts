// The document-store port's contract: each Cosmos DB semantic the app relies on (ids unique per
// logical partition, ETags and If-Match, transactional batches, partition-scoped and paged
// queries, TTL), run against every adapter, every test on each.
import { DocumentStoreError, type Document, type DocumentContainer } from '../../src/ports/documents';
import { documentBackends, type DocumentHarness } from '../support/document-harness';

interface Item extends Document {
  pk: string;
  n?: number;
  tag?: string;
  nested?: { level: number };
  ttl?: number;
}

async function statusOf(promise: Promise<unknown>): Promise<number | 'ok'> {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    if (error instanceof DocumentStoreError) return error.code;
    throw error;
  }
}

describe.each(documentBackends().map((b) => [b.name, b] as const))('document store contract: %s', (_name, backend) => {
  let h: DocumentHarness;
  let items: DocumentContainer;
  let run = 0;
  // Each test writes to its own partitions, so a shared real account needs no cleanup between tests.
  let p: (name: string) => string;
  beforeAll(async () => {
    h = await backend.create();
    items = h.container('items');
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });
  beforeEach(() => {
    run++;
    p = (name) => `${name}-${run}`;
  });

  describe('point operations', () => {
    test('create then read returns the item with an ETag; a missing id or another partition reads as absent', async () => {
      const created = await items.create<Item>({ id: 'a', pk: p('one'), n: 1, nested: { level: 2 } });
      expect(created).toMatchObject({ id: 'a', pk: p('one'), n: 1, nested: { level: 2 } });
      expect(typeof created._etag).toBe('string');
      const read = await items.read<Item>('a', p('one'));
      expect(read).toMatchObject({ id: 'a', n: 1, _etag: created._etag });
      expect(await items.read('missing', p('one'))).toBeUndefined();
      expect(await items.read('a', p('other'))).toBeUndefined();
    });

    test('ids are unique within a logical partition: a second create conflicts (409); the same id elsewhere is fine', async () => {
      await items.create<Item>({ id: 'dup', pk: p('one') });
      expect(await statusOf(items.create<Item>({ id: 'dup', pk: p('one') }))).toBe(409);
      expect(await statusOf(items.create<Item>({ id: 'dup', pk: p('two') }))).toBe('ok');
    });

    test('replace with the current ETag succeeds and changes the ETag; a stale ETag is 412; a missing item is 404', async () => {
      const v1 = await items.create<Item>({ id: 'r', pk: p('one'), n: 1 });
      const v2 = await items.replace<Item>({ id: 'r', pk: p('one'), n: 2 }, { ifMatch: v1._etag });
      expect(v2._etag).not.toBe(v1._etag);
      expect(await statusOf(items.replace<Item>({ id: 'r', pk: p('one'), n: 3 }, { ifMatch: v1._etag }))).toBe(412);
      expect((await items.read<Item>('r', p('one')))?.n).toBe(2);
      expect(await statusOf(items.replace<Item>({ id: 'nothing', pk: p('one'), n: 1 }))).toBe(404);
    });

    test('of concurrent replaces with the same ETag exactly one wins', async () => {
      const v1 = await items.create<Item>({ id: 'race', pk: p('one'), n: 0 });
      const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => statusOf(items.replace<Item>({ id: 'race', pk: p('one'), n: i + 1 }, { ifMatch: v1._etag }))));
      expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1);
      expect(outcomes.filter((o) => o === 412)).toHaveLength(9);
    });

    test('upsert creates or overwrites; with a stale ETag it is 412', async () => {
      const first = await items.upsert<Item>({ id: 'u', pk: p('one'), n: 1 });
      const second = await items.upsert<Item>({ id: 'u', pk: p('one'), n: 2 });
      expect((await items.read<Item>('u', p('one')))?.n).toBe(2);
      expect(await statusOf(items.upsert<Item>({ id: 'u', pk: p('one'), n: 3 }, { ifMatch: first._etag }))).toBe(412);
      expect(await statusOf(items.upsert<Item>({ id: 'u', pk: p('one'), n: 3 }, { ifMatch: second._etag }))).toBe('ok');
    });

    test('delete removes the item; a missing item is 404; a stale ETag is 412', async () => {
      const v1 = await items.create<Item>({ id: 'd', pk: p('one') });
      await items.replace<Item>({ id: 'd', pk: p('one'), n: 1 });
      expect(await statusOf(items.delete('d', p('one'), { ifMatch: v1._etag }))).toBe(412);
      await items.delete('d', p('one'));
      expect(await items.read('d', p('one'))).toBeUndefined();
      expect(await statusOf(items.delete('d', p('one')))).toBe(404);
    });
  });

  describe('transactional batch', () => {
    test('a batch of creates, upserts, replaces, reads and deletes on one partition succeeds as a whole', async () => {
      const base = await items.create<Item>({ id: 'base', pk: p('b'), n: 0 });
      await items.create<Item>({ id: 'gone', pk: p('b') });
      const result = await items.batch(p('b'), [
        { operationType: 'Create', resourceBody: { id: 'c1', pk: p('b'), n: 1 } },
        { operationType: 'Upsert', resourceBody: { id: 'c2', pk: p('b'), n: 2 } },
        { operationType: 'Replace', id: 'base', resourceBody: { id: 'base', pk: p('b'), n: 10 }, ifMatch: base._etag },
        { operationType: 'Read', id: 'c1' },
        { operationType: 'Delete', id: 'gone' },
      ]);
      expect(result.ok).toBe(true);
      expect(result.results.map((r) => r.statusCode)).toEqual([201, 201, 200, 200, 204]);
      expect((await items.read<Item>('base', p('b')))?.n).toBe(10);
      expect(await items.read('gone', p('b'))).toBeUndefined();
    });

    test('a conflicting create fails the batch: that operation reports 409, the others 424', async () => {
      await items.create<Item>({ id: 'taken', pk: p('b') });
      const result = await items.batch(p('b'), [
        { operationType: 'Create', resourceBody: { id: 'fresh-1', pk: p('b') } },
        { operationType: 'Create', resourceBody: { id: 'taken', pk: p('b') } },
        { operationType: 'Create', resourceBody: { id: 'fresh-2', pk: p('b') } },
      ]);
      expect(result.ok).toBe(false);
      expect(result.results.map((r) => r.statusCode)).toEqual([424, 409, 424]);
      expect(await items.read('fresh-2', p('b'))).toBeUndefined();
    });

    test('all or nothing: operations before the failing one are rolled back', async () => {
      await items.create<Item>({ id: 'taken', pk: p('b') });
      const result = await items.batch(p('b'), [
        { operationType: 'Create', resourceBody: { id: 'fresh-1', pk: p('b') } },
        { operationType: 'Upsert', resourceBody: { id: 'taken', pk: p('b'), n: 99 } },
        { operationType: 'Read', id: 'not-there' },
      ]);
      expect(result.ok).toBe(false);
      expect(result.results.map((r) => r.statusCode)).toEqual([424, 424, 404]);
      expect(await items.read('fresh-1', p('b'))).toBeUndefined();
      expect((await items.read<Item>('taken', p('b')))?.n).toBeUndefined();
    });

    test('a stale If-Match inside a batch fails it with 412', async () => {
      const v1 = await items.create<Item>({ id: 'etag', pk: p('b'), n: 1 });
      await items.replace<Item>({ id: 'etag', pk: p('b'), n: 2 });
      const result = await items.batch(p('b'), [{ operationType: 'Replace', id: 'etag', resourceBody: { id: 'etag', pk: p('b'), n: 3 }, ifMatch: v1._etag }]);
      expect(result.ok).toBe(false);
      expect(result.results[0]!.statusCode).toBe(412);
      expect((await items.read<Item>('etag', p('b')))?.n).toBe(2);
    });

    test('a batch holds at most 100 operations', async () => {
      const ops = Array.from({ length: 101 }, (_, i) => ({ operationType: 'Create' as const, resourceBody: { id: `x${i}`, pk: p('b') } }));
      await expect(items.batch(p('b'), ops)).rejects.toThrow(/100/);
    });
  });

  describe('queries', () => {
    beforeEach(async () => {
      for (let i = 1; i <= 7; i++) await items.create<Item>({ id: `q${i}`, pk: p('q'), n: i, tag: i % 2 ? 'odd' : 'even', nested: { level: i * 10 } });
      await items.create<Item>({ id: 'q-other', pk: p('q2'), n: 100, tag: 'odd', nested: { level: 1 } });
    });

    test('a query on one partition filters on top-level and nested fields and orders', async () => {
      const page = await items.query<Item>({
        partitionKey: p('q'),
        where: [
          { path: 'tag', op: '=', value: 'odd' },
          { path: 'nested.level', op: '>=', value: 30 },
        ],
        orderBy: { path: 'n', descending: true },
      });
      expect(page.items.map((i) => i.id)).toEqual(['q7', 'q5', 'q3']);
      expect(page.continuation).toBeUndefined();
    });

    test('the partition key scopes the query: items of other partitions never show up', async () => {
      const page = await items.query<Item>({ partitionKey: p('q'), where: [{ path: 'tag', op: '=', value: 'odd' }] });
      expect(page.items.every((i) => i.pk === p('q'))).toBe(true);
      expect(page.items).toHaveLength(4);
    });

    test('paging with continuation tokens returns every item once, in order', async () => {
      const seen: number[] = [];
      let continuation: string | undefined;
      let pages = 0;
      do {
        const page = await items.query<Item>({ partitionKey: p('q'), orderBy: { path: 'n' }, limit: 3, continuation });
        seen.push(...page.items.map((i) => i.n!));
        continuation = page.continuation;
        pages++;
      } while (continuation && pages < 10);
      expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(pages).toBeGreaterThanOrEqual(3);
    });

    test('a query without a partition key spans partitions', async () => {
      const page = await items.query<Item>({
        where: [
          { path: 'n', op: '>=', value: 7 },
          { path: 'id', op: '!=', value: 'nope' },
        ],
      });
      const mine = page.items
        .filter((i) => i.pk === p('q') || i.pk === p('q2'))
        .map((i) => i.id)
        .sort();
      expect(mine).toEqual(['q-other', 'q7']);
    });

    test('distinct lists each value once', async () => {
      const values = await items.distinct('pk', [{ path: 'tag', op: '=', value: 'odd' }]);
      expect(values.filter((v) => v === p('q') || v === p('q2'))).toEqual([p('q'), p('q2')]);
    });
  });

  describe('time to live', () => {
    test('an item with ttl disappears from reads and queries once it expires', async () => {
      const expiring = h.container('expiring');
      await expiring.create<Item>({ id: 'short', pk: p('t'), ttl: 1 });
      await expiring.create<Item>({ id: 'long', pk: p('t'), ttl: 3600 });
      expect(await expiring.read('short', p('t'))).toBeDefined();
      await h.advance(backend.gaps.manualClock ? 2500 : 1500);
      expect(await expiring.read('short', p('t'))).toBeUndefined();
      expect((await expiring.query<Item>({ partitionKey: p('t') })).items.map((i) => i.id)).toEqual(['long']);
      // The id is free again once the item has expired.
      await expect(expiring.create<Item>({ id: 'short', pk: p('t'), ttl: 1 })).resolves.toBeDefined();
    });
  });
});
