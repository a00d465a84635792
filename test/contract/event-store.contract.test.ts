// The event store's contract, run on every document-store backend: appends as one transactional
// batch with ids <streamId>:<version>, optimistic concurrency on the expected version, reads from
// a version, snapshots replaced with If-Match, and many concurrent writers on one stream.
import { DocumentEventStore, MAX_EVENTS_PER_APPEND, type EventStore, type NewEvent } from '../../src/eventstore/event-store';
import { ConcurrencyError, ValidationError } from '../../src/shared/errors';
import { documentBackends, type DocumentHarness } from '../support/document-harness';

const ev = (type: string, data: unknown = {}): NewEvent => ({ type, data });

describe.each(documentBackends().map((b) => [b.name, b] as const))('event store contract: %s', (_name, backend) => {
  let h: DocumentHarness;
  let store: EventStore;
  let run = 0;
  let s: (name: string) => string;
  beforeAll(async () => {
    h = await backend.create();
    store = new DocumentEventStore(h.container('events'));
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });
  beforeEach(() => {
    run++;
    s = (name) => `${name}-${run}`;
  });

  test('appending to a new stream (expected version 0) stores events 1..n with ids <streamId>:<version>', async () => {
    const at = new Date('2026-03-01T10:00:00.000Z');
    const result = await store.append(
      s('order'),
      [ev('OrderCreated', { orderId: 'o1' }), { type: 'ItemAdded', data: { sku: 'A' }, schemaVersion: 2, metadata: { correlationId: 'c-1', messageId: 'm-1' } }],
      {
        expectedVersion: 0,
        now: () => at,
      },
    );
    expect(result.version).toBe(2);
    const events = await store.readStream(s('order'));
    expect(events.map((e) => [e.id, e.version, e.type, e.schemaVersion])).toEqual([
      [`${s('order')}:1`, 1, 'OrderCreated', 1],
      [`${s('order')}:2`, 2, 'ItemAdded', 2],
    ]);
    expect(events[1]!.data).toEqual({ sku: 'A' });
    expect(events[1]!.metadata).toEqual({ occurredAt: at.toISOString(), correlationId: 'c-1', messageId: 'm-1' });
  });

  test('appending after the current version continues the stream; reads can start and stop at a version', async () => {
    await store.append(s('st'), [ev('A'), ev('B')], { expectedVersion: 0 });
    await store.append(s('st'), [ev('C'), ev('D'), ev('E')], { expectedVersion: 2 });
    expect((await store.readStream(s('st'))).map((e) => e.type)).toEqual(['A', 'B', 'C', 'D', 'E']);
    expect((await store.readStream(s('st'), { fromVersion: 3 })).map((e) => e.version)).toEqual([3, 4, 5]);
    expect((await store.readStream(s('st'), { fromVersion: 2, toVersion: 3 })).map((e) => e.type)).toEqual(['B', 'C']);
    expect(await store.readStream(s('never-written'))).toEqual([]);
  });

  test('short reads are point reads (~1 RU each), not a query (10 RU); a miss ends the stream, a long tail is queried', async () => {
    // Counts what the store asks of the container: a query is priced at 10 RU (Cosmos DB's
    // capacity planner), a point read of a small item at 1 RU.
    const container = h.container('events');
    const asked = { read: 0, query: 0 };
    const counting = new DocumentEventStore(
      new Proxy(container, {
        get(target, prop, receiver) {
          const value = Reflect.get(target, prop, receiver) as unknown;
          if ((prop === 'read' || prop === 'query') && typeof value === 'function') {
            return (...args: unknown[]) => {
              asked[prop]++;
              return (value as (...a: unknown[]) => unknown).apply(target, args);
            };
          }
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      }),
    );
    const id = s('pr');
    await store.append(id, [ev('A'), ev('B'), ev('C'), ev('D'), ev('E'), ev('F')], { expectedVersion: 0 });
    const read = async (o: Parameters<EventStore['readStream']>[1]) => {
      asked.read = asked.query = 0;
      return { versions: (await counting.readStream(id, o)).map((e) => e.version), ...asked };
    };
    // A short bounded range: its versions read together, the first miss ends the stream.
    expect(await read({ fromVersion: 1, toVersion: 1 })).toEqual({ versions: [1], read: 1, query: 0 });
    expect(await read({ fromVersion: 5, toVersion: 9 })).toEqual({ versions: [5, 6], read: 5, query: 0 });
    expect(await read({ fromVersion: 3, toVersion: 2 })).toEqual({ versions: [], read: 0, query: 0 });
    // Open-ended with a few point reads: a miss ends it without a query...
    expect(await read({ fromVersion: 4, pointReads: 4 })).toEqual({ versions: [4, 5, 6], read: 4, query: 0 });
    expect(await read({ fromVersion: 7, pointReads: 4 })).toEqual({ versions: [], read: 1, query: 0 });
    // ...and a longer tail is read by a query after them.
    expect(await read({ fromVersion: 1, pointReads: 2 })).toEqual({ versions: [1, 2, 3, 4, 5, 6], read: 2, query: 1 });
    // Snapshots share the partition; they are never read as events.
    await store.writeSnapshot({ streamId: id, version: 6, schemaVersion: 1, state: {} });
    expect(await read({ fromVersion: 6, pointReads: 4 })).toEqual({ versions: [6], read: 2, query: 0 });
  });

  test('a stale expected version raises ConcurrencyError and writes nothing', async () => {
    await store.append(s('c'), [ev('A'), ev('B')], { expectedVersion: 0 });
    await expect(store.append(s('c'), [ev('X')], { expectedVersion: 1 })).rejects.toBeInstanceOf(ConcurrencyError);
    await expect(store.append(s('c'), [ev('X')], { expectedVersion: 0 })).rejects.toBeInstanceOf(ConcurrencyError);
    expect((await store.readStream(s('c'))).map((e) => e.type)).toEqual(['A', 'B']);
  });

  test('an expected version beyond the stream raises ConcurrencyError (no gap can be written)', async () => {
    await store.append(s('gap'), [ev('A')], { expectedVersion: 0 });
    await expect(store.append(s('gap'), [ev('Z')], { expectedVersion: 5 })).rejects.toBeInstanceOf(ConcurrencyError);
    expect((await store.readStream(s('gap'))).map((e) => e.version)).toEqual([1]);
  });

  test('a multi-event append that conflicts part-way writes none of its events', async () => {
    await store.append(s('atom'), [ev('A')], { expectedVersion: 0 });
    // Another writer got to version 3 (2 and 3) while this one still thinks the stream is at 1
    // and wants to write 2, 3, 4: its batch fails on 2 and must not leave anything behind.
    await store.append(s('atom'), [ev('B'), ev('C')], { expectedVersion: 1 });
    await expect(store.append(s('atom'), [ev('X'), ev('Y'), ev('Z')], { expectedVersion: 1 })).rejects.toBeInstanceOf(ConcurrencyError);
    expect((await store.readStream(s('atom'))).map((e) => e.type)).toEqual(['A', 'B', 'C']);
  });

  test("expected version 'any' appends after whatever is there", async () => {
    await store.append(s('any'), [ev('A')], { expectedVersion: 'any' });
    const r = await store.append(s('any'), [ev('B')], { expectedVersion: 'any' });
    expect(r.version).toBe(2);
  });

  test('an empty append or one larger than a batch is a ValidationError', async () => {
    await expect(store.append(s('v'), [], { expectedVersion: 0 })).rejects.toBeInstanceOf(ValidationError);
    const tooMany = Array.from({ length: MAX_EVENTS_PER_APPEND + 1 }, () => ev('A'));
    await expect(store.append(s('v'), tooMany, { expectedVersion: 0 })).rejects.toBeInstanceOf(ValidationError);
    const most = Array.from({ length: MAX_EVENTS_PER_APPEND }, (_, i) => ev(`E${i}`));
    await expect(store.append(s('v'), most, { expectedVersion: 0 })).resolves.toMatchObject({ version: MAX_EVENTS_PER_APPEND });
  });

  test('50 concurrent writers on one stream: each append succeeds once or gets ConcurrencyError; no gap, no duplicate', async () => {
    const stream = s('hot');
    await store.append(stream, [ev('Opened')], { expectedVersion: 0 });
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, async (_, writer) => {
        // Every writer read the stream at some point (many at the same version) and appends 1–3 events.
        const seen = (await store.readStream(stream)).at(-1)!.version;
        const events = Array.from({ length: 1 + (writer % 3) }, (_, i) => ev('Written', { writer, i }));
        try {
          const r = await store.append(stream, events, { expectedVersion: seen });
          return { writer, ok: true as const, from: seen + 1, to: r.version };
        } catch (error) {
          if (error instanceof ConcurrencyError) return { writer, ok: false as const };
          throw error;
        }
      }),
    );
    const events = await store.readStream(stream);
    expect(events.map((e) => e.version)).toEqual(events.map((_, i) => i + 1));
    const winners = outcomes.filter((o) => o.ok);
    expect(winners.length).toBeGreaterThanOrEqual(1);
    // Every winner's events sit exactly at the versions it was told, and nothing else was written.
    for (const w of winners) {
      const mine = events.filter((e) => (e.data as { writer?: number }).writer === w.writer);
      expect(mine.map((e) => e.version)).toEqual(Array.from({ length: w.to - w.from + 1 }, (_, i) => w.from + i));
    }
    const losers = outcomes.filter((o) => !o.ok).map((o) => o.writer);
    expect(events.filter((e) => losers.includes((e.data as { writer?: number }).writer ?? -1))).toEqual([]);
    expect(events.length).toBe(1 + winners.reduce((n, w) => n + (w.to - w.from + 1), 0));
  }, 60_000);

  test('snapshots live beside the stream: created once, replaced only with the current ETag', async () => {
    const stream = s('snap');
    await store.append(stream, [ev('A'), ev('B')], { expectedVersion: 0 });
    expect(await store.readSnapshot(stream)).toBeUndefined();
    expect(await store.writeSnapshot({ streamId: stream, version: 2, schemaVersion: 1, state: { count: 2 } })).toBe(true);
    const first = await store.readSnapshot<{ count: number }>(stream);
    expect(first).toMatchObject({ version: 2, schemaVersion: 1, state: { count: 2 } });
    // A second writer that did not see the first snapshot does not overwrite it.
    expect(await store.writeSnapshot({ streamId: stream, version: 2, schemaVersion: 1, state: { count: -1 } })).toBe(false);
    expect(await store.writeSnapshot({ streamId: stream, version: 4, schemaVersion: 1, state: { count: 4 }, etag: first!.etag })).toBe(true);
    // The first ETag is stale now.
    expect(await store.writeSnapshot({ streamId: stream, version: 6, schemaVersion: 1, state: { count: 6 }, etag: first!.etag })).toBe(false);
    expect((await store.readSnapshot<{ count: number }>(stream))?.state).toEqual({ count: 4 });
    // The snapshot is not an event.
    expect((await store.readStream(stream)).map((e) => e.type)).toEqual(['A', 'B']);
  });

  test('stream ids list every stream with events, by prefix', async () => {
    await store.append(s('list-a'), [ev('A')], { expectedVersion: 0 });
    await store.append(s('list-b'), [ev('A'), ev('B')], { expectedVersion: 0 });
    await store.writeSnapshot({ streamId: s('list-only-snapshot'), version: 0, schemaVersion: 1, state: {} });
    const ids = await store.streamIds(`list-`);
    expect(ids.filter((id) => id.endsWith(`-${run}`))).toEqual([s('list-a'), s('list-b')]);
  });

  test('a stream id range reads the events of every stream in [from, to), across partitions, a page at a time; snapshots are not events', async () => {
    const id = (day: string, key: string) => `range${run}-${day}-${key}`;
    await store.append(id('2026-01-14', 'x'), [ev('Before')], { expectedVersion: 0 });
    await store.append(id('2026-01-15', 'a'), [ev('A1'), ev('A2')], { expectedVersion: 0 });
    await store.append(id('2026-01-15', 'b'), [ev('B1')], { expectedVersion: 0 });
    await store.append(id('2026-01-16', 'c'), [ev('C1'), ev('C2')], { expectedVersion: 0 });
    await store.append(id('2026-01-17', 'd'), [ev('After')], { expectedVersion: 0 });
    await store.writeSnapshot({ streamId: id('2026-01-15', 'a'), version: 2, schemaVersion: 1, state: {} });
    const range = { fromStreamId: `range${run}-2026-01-15`, toStreamId: `range${run}-2026-01-17` };
    const seen: string[] = [];
    let continuation: string | undefined;
    let pages = 0;
    do {
      const page = await store.readStreamRange(range, { limit: 2, continuation });
      expect(page.events.length).toBeLessThanOrEqual(2);
      seen.push(...page.events.map((e) => `${e.streamId.replace(`range${run}-`, '')}:${e.type}`));
      continuation = page.continuation;
      pages++;
    } while (continuation && pages < 10);
    expect(seen.sort()).toEqual(['2026-01-15-a:A1', '2026-01-15-a:A2', '2026-01-15-b:B1', '2026-01-16-c:C1', '2026-01-16-c:C2']);
    expect(pages).toBeGreaterThanOrEqual(3);
  });
});
