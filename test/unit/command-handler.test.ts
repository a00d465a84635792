// The command handler around a decider: load (snapshot + tail, upcast), decide, append with the
// loaded version; retry a bounded number of times on a concurrent append, then give up with
// ConcurrencyError (HTTP 409); an explicit expected version (If-Match) fails with
// PreconditionFailed (412) instead; a repeated messageId is not applied twice.
import { CommandHandler } from '../../src/eventstore/command-handler';
import { DocumentEventStore, type AppendResult, type EventStore, type NewEvent } from '../../src/eventstore/event-store';
import { upcast } from '../../src/eventstore/upcasting';
import { ORDER_EVENT_SCHEMAS } from '../../src/orders/event-schemas';
import { orderDecider, type OrderCommand } from '../../src/orders/order';
import { ConcurrencyError, PreconditionFailedError } from '../../src/shared/errors';
import { embeddedDocumentHarness } from '../support/document-harness';

const at = '2026-05-01T00:00:00.000Z';
const create: OrderCommand = { type: 'CreateOrder', orderId: 'o-1', customerId: 'c-1', items: [], at };
const add = (sku: string): OrderCommand => ({ type: 'AddItem', orderId: 'o-1', sku, quantity: 1, unitPrice: 1, at });

function setup(options: { snapshotEvery?: number; maxRetries?: number; keptStreams?: number } = {}) {
  const h = embeddedDocumentHarness();
  const inner = new DocumentEventStore(h.container('events'));
  const calls = { reads: [] as (number | undefined)[], appends: 0, snapshotReads: 0 };
  // A store that counts what the handler asks of it; `interfere` lets another writer append first.
  let interfere = 0;
  const store: EventStore = {
    readStream: (id, o) => {
      calls.reads.push(o?.fromVersion);
      return inner.readStream(id, o);
    },
    async append(id, events: NewEvent[], o): Promise<AppendResult> {
      calls.appends++;
      if (interfere > 0) {
        interfere--;
        await inner.append(id, [{ type: 'ItemAdded', data: { sku: `other-${interfere}`, quantity: 1, unitPrice: 1 }, schemaVersion: 2 }], { expectedVersion: 'any' });
      }
      return inner.append(id, events, o);
    },
    readSnapshot: (id) => {
      calls.snapshotReads++;
      return inner.readSnapshot(id);
    },
    writeSnapshot: (s) => inner.writeSnapshot(s),
    streamIds: (p) => inner.streamIds(p),
    readStreamRange: (r, p) => inner.readStreamRange(r, p),
  };
  const handler = new CommandHandler(store, orderDecider, {
    schemas: ORDER_EVENT_SCHEMAS,
    snapshotEvery: options.snapshotEvery ?? 0,
    stateSchemaVersion: 1,
    maxRetries: options.maxRetries ?? 3,
    ...(options.keptStreams !== undefined ? { keptStreams: options.keptStreams } : {}),
  });
  const fresh = () => new CommandHandler(store, orderDecider, { schemas: ORDER_EVENT_SCHEMAS, snapshotEvery: options.snapshotEvery ?? 0, stateSchemaVersion: 1 });
  return { h, inner, store, handler, fresh, calls, interfere: (n: number) => (interfere = n) };
}

describe('command handler', () => {
  test('appends what the decider decides after the loaded version', async () => {
    const { handler, inner } = setup();
    expect((await handler.handle('order-o-1', create)).version).toBe(1);
    const r = await handler.handle('order-o-1', add('A'));
    expect(r.version).toBe(2);
    expect(r.state).toMatchObject({ status: 'draft', lines: [{ sku: 'A' }] });
    expect((await inner.readStream('order-o-1')).map((e) => [e.type, e.schemaVersion])).toEqual([
      ['OrderCreated', 1],
      ['ItemAdded', 2],
    ]);
  });

  test('a concurrent append makes it reload and decide again', async () => {
    const { handler, calls, interfere } = setup();
    await handler.handle('order-o-1', create);
    interfere(2);
    const r = await handler.handle('order-o-1', add('A'));
    expect(calls.appends).toBe(4); // create + three attempts
    expect(r.version).toBe(4);
    expect(r.state).toMatchObject({ lines: [{ sku: 'other-1' }, { sku: 'other-0' }, { sku: 'A' }] });
  });

  test('when the retries run out it raises ConcurrencyError (409), having written nothing of its own', async () => {
    const { handler, inner, interfere } = setup({ maxRetries: 2 });
    await handler.handle('order-o-1', create);
    interfere(3);
    await expect(handler.handle('order-o-1', add('A'))).rejects.toBeInstanceOf(ConcurrencyError);
    expect((await inner.readStream('order-o-1')).some((e) => (e.data as { sku?: string }).sku === 'A')).toBe(false);
  });

  test('an expected version (If-Match) that is not current is PreconditionFailed (412), without retrying', async () => {
    const { handler, calls, interfere } = setup();
    await handler.handle('order-o-1', create);
    await expect(handler.handle('order-o-1', add('A'), { expectedVersion: 0 })).rejects.toBeInstanceOf(PreconditionFailedError);
    interfere(1);
    await expect(handler.handle('order-o-1', add('A'), { expectedVersion: 1 })).rejects.toBeInstanceOf(PreconditionFailedError);
    expect(calls.appends).toBe(2);
  });

  test('a messageId seen in the stream is not applied again', async () => {
    const { handler, inner } = setup();
    await handler.handle('order-o-1', create, { metadata: { messageId: 'm-1' } });
    const again = await handler.handle('order-o-1', create, { metadata: { messageId: 'm-1' } });
    expect(again).toMatchObject({ duplicate: true, version: 1, events: [] });
    expect(await inner.readStream('order-o-1')).toHaveLength(1);
  });

  test('snapshots every N events: loading reads the snapshot and only the events after it', async () => {
    const { handler, inner, calls, fresh } = setup({ snapshotEvery: 10 });
    await handler.handle('order-o-1', create);
    for (let i = 0; i < 24; i++) await handler.handle('order-o-1', add(`S${i}`));
    const snapshot = await inner.readSnapshot<{ lines: unknown[] }>('order-o-1');
    expect(snapshot).toMatchObject({ version: 20, schemaVersion: 1 });
    expect(snapshot!.state.lines).toHaveLength(19);
    calls.reads.length = 0;
    // A handler that has not seen the stream (another instance, a restart).
    const loaded = await fresh().load('order-o-1');
    expect(calls.reads).toEqual([21]);
    expect(loaded.version).toBe(25);
    expect((loaded.state as { lines: unknown[] }).lines).toHaveLength(24);
  });

  test('a stream it handled before is loaded from what it kept: one read past the kept version, no snapshot read', async () => {
    const { handler, calls } = setup({ snapshotEvery: 10 });
    await handler.handle('order-o-1', create);
    calls.reads.length = 0;
    calls.snapshotReads = 0;
    const r = await handler.handle('order-o-1', add('A'));
    expect(r.version).toBe(2);
    expect(calls.reads).toEqual([2]);
    expect(calls.snapshotReads).toBe(0);
  });

  test('what another writer appended since is read and folded in', async () => {
    const { handler, fresh } = setup();
    await handler.handle('order-o-1', create);
    await fresh().handle('order-o-1', add('B'));
    const r = await handler.handle('order-o-1', add('A'));
    expect(r.version).toBe(3);
    expect(r.state).toMatchObject({ lines: [{ sku: 'B' }, { sku: 'A' }] });
  });

  test('a kept state the store no longer has is dropped on the failed append, and the command is decided on the store', async () => {
    const { handler, h } = setup();
    await handler.handle('order-o-1', create);
    await handler.handle('order-o-1', add('A'));
    // The stream disappears behind the handler's back (a restored or wiped store).
    const events = h.container('events');
    for (const v of [1, 2]) await events.delete(`order-o-1:${v}`, 'order-o-1');
    const r = await handler.handle('order-o-1', create);
    expect(r.version).toBe(1);
    expect(r.state).toMatchObject({ status: 'draft', lines: [] });
  });

  test('a messageId is recognised from what it kept, as from the store', async () => {
    const { handler, fresh } = setup();
    await handler.handle('order-o-1', create, { metadata: { messageId: 'm-1' } });
    await handler.handle('order-o-1', add('A'), { metadata: { messageId: 'm-2' } });
    expect(await handler.handle('order-o-1', add('A'), { metadata: { messageId: 'm-2' } })).toMatchObject({ duplicate: true, version: 2 });
    expect(await fresh().handle('order-o-1', add('A'), { metadata: { messageId: 'm-1' } })).toMatchObject({ duplicate: true, version: 2 });
  });

  test('a kept state is frozen: a caller cannot change what the next command is decided on', async () => {
    const { handler } = setup();
    await handler.handle('order-o-1', create);
    const { state } = await handler.handle('order-o-1', add('A'));
    expect(() => (state as { lines: unknown[] }).lines.push({ sku: 'X' })).toThrow(TypeError);
    expect((await handler.load('order-o-1')).state).toMatchObject({ lines: [{ sku: 'A' }] });
  });

  test('keeping is bounded: the least recently used stream is read from the store again', async () => {
    const { handler, calls } = setup({ keptStreams: 2, snapshotEvery: 10 });
    for (const id of ['a', 'b', 'c']) await handler.handle(`order-${id}`, { ...create, orderId: id });
    calls.snapshotReads = 0;
    await handler.load('order-c');
    await handler.load('order-b');
    expect(calls.snapshotReads).toBe(0);
    await handler.load('order-a');
    expect(calls.snapshotReads).toBe(1);
  });

  test('snapshots keep being written when the state came from what it kept', async () => {
    const { handler, inner } = setup({ snapshotEvery: 3 });
    await handler.handle('order-o-1', create);
    for (let i = 0; i < 7; i++) await handler.handle('order-o-1', add(`S${i}`));
    expect(await inner.readSnapshot('order-o-1')).toMatchObject({ version: 6 });
  });

  test('a snapshot refused because another writer replaced it first is read again before the next one', async () => {
    const { fresh, inner } = setup({ snapshotEvery: 3 });
    const a = fresh();
    const b = fresh();
    await a.handle('order-o-1', create);
    for (const sku of ['A', 'B']) await a.handle('order-o-1', add(sku));
    expect(await inner.readSnapshot('order-o-1')).toMatchObject({ version: 3 });
    const c = fresh();
    await c.load('order-o-1'); // keeps the snapshot's ETag of version 3
    for (const sku of ['C', 'D', 'E']) await b.handle('order-o-1', add(sku)); // b replaces it at version 6
    expect(await inner.readSnapshot('order-o-1')).toMatchObject({ version: 6 });
    await c.handle('order-o-1', add('F')); // version 7: c's ETag is stale, its snapshot refused
    expect(await inner.readSnapshot('order-o-1')).toMatchObject({ version: 6 });
    for (const sku of ['G', 'H']) await c.handle('order-o-1', add(sku)); // version 9: read again, written
    expect(await inner.readSnapshot('order-o-1')).toMatchObject({ version: 9 });
  });

  test('a snapshot of another state shape is ignored: the stream is folded from the start', async () => {
    const { h, inner } = setup();
    const writer = new CommandHandler(inner, orderDecider, { schemas: ORDER_EVENT_SCHEMAS, snapshotEvery: 2, stateSchemaVersion: 1 });
    await writer.handle('order-o-1', create);
    await writer.handle('order-o-1', add('A'));
    const reader = new CommandHandler(inner, orderDecider, { schemas: ORDER_EVENT_SCHEMAS, snapshotEvery: 2, stateSchemaVersion: 2 });
    const loaded = await reader.load('order-o-1');
    expect(loaded).toMatchObject({ version: 2, snapshotVersion: 0 });
    await h.close();
  });
});

describe('upcasting', () => {
  const v1 = { id: 's:2', streamId: 's', version: 2, type: 'ItemAdded', schemaVersion: 1, data: { sku: 'A', qty: 3, price: 1.25 }, metadata: { occurredAt: at } };

  test('an ItemAdded v1 reads as v2', () => {
    expect(upcast(v1, ORDER_EVENT_SCHEMAS)).toMatchObject({ schemaVersion: 2, data: { sku: 'A', quantity: 3, unitPrice: 1.25 } });
  });

  test('a current event is left as it is; types without upcasters stay at v1', () => {
    const v2 = { ...v1, schemaVersion: 2, data: { sku: 'A', quantity: 3, unitPrice: 1.25 } };
    expect(upcast(v2, ORDER_EVENT_SCHEMAS)).toEqual(v2);
    const created = { ...v1, type: 'OrderCreated', data: {} };
    expect(upcast(created, ORDER_EVENT_SCHEMAS)).toEqual(created);
  });

  test('an event newer than the code, or with no way up, is an error (not silently misread)', () => {
    expect(() => upcast({ ...v1, schemaVersion: 3 }, ORDER_EVENT_SCHEMAS)).toThrow(/knows up to 2/);
    expect(() => upcast(v1, { current: { ItemAdded: 2 }, upcasters: {} })).toThrow(/No upcaster/);
  });
});
