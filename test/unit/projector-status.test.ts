// A projection's status document (lag samples, events applied, poisoned events) is written at
// most every statusEveryMs: the first batch at once, what later batches measure with the next
// write — by the next batch past the interval, by a timer when none comes, or by flushStatus()
// when the worker stops. A poisoned event is written at once; a failed write loses nothing.
import { DocumentEventStore, type StoredEvent } from '../../src/eventstore/event-store';
import { PROJECTIONS, schemasFor } from '../../src/composition/orders';
import type { Document, DocumentContainer } from '../../src/ports/documents';
import { Projector, statusId, type ProjectionStatus } from '../../src/projections/projector';
import { ProjectionRegistry, REGISTRY_PK } from '../../src/projections/registry';
import { join } from 'node:path';
import { loadCosmosDefinition } from '@backbone/azure-model/cosmos';
import { embeddedDocumentHarness } from '../support/document-harness';
import { repoRoot } from '../support/messaging-harness';

const at = '2026-05-01T00:00:00.000Z';

function setup(statusEveryMs: number) {
  const h = embeddedDocumentHarness(loadCosmosDefinition(join(repoRoot, 'config', 'cosmos.yaml')));
  const events = h.container('events');
  const realViews = h.container('views');
  let failUpserts = 0;
  const upserts: string[] = [];
  // The views container, with status writes counted and, on demand, failing.
  const views: DocumentContainer = new Proxy(realViews, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop === 'upsert') {
        return async (doc: Document) => {
          if (String(doc.id).startsWith('status:')) {
            upserts.push(String(doc.id));
            if (failUpserts > 0) {
              failUpserts--;
              throw new Error('injected: the status write failed');
            }
          }
          return realViews.upsert(doc);
        };
      }
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  const store = new DocumentEventStore(events);
  const registry = new ProjectionRegistry(
    views,
    PROJECTIONS.map((p) => p.name),
  );
  const projector = new Projector({ views, store, registry, projections: PROJECTIONS, schemasFor, statusEveryMs });
  let n = 0;
  /** Appends a new order's creation and returns its event as the change feed delivers it. */
  const order = async (schemaVersion = 1): Promise<Document[]> => {
    const id = `o-${++n}`;
    const { events: stored } = await store.append(
      `order-${id}`,
      [{ type: 'OrderCreated', data: { orderId: id, customerId: 'c-1', createdAt: at }, schemaVersion, metadata: { occurredAt: new Date().toISOString() } }],
      { expectedVersion: 0 },
    );
    return stored.map((e: StoredEvent) => ({ ...e, kind: 'event' }) as unknown as Document);
  };
  const status = (name = 'order-summary') => realViews.read<ProjectionStatus>(statusId(name), REGISTRY_PK);
  return { h, projector, order, status, upserts, failNextUpserts: (k: number) => (failUpserts = k) };
}

const until = async (check: () => Promise<boolean>, ms = 5_000) => {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('projection status', () => {
  test('the first batch writes it at once; batches within the interval are added by the next write, not written each', async () => {
    const { h, projector, order, status, upserts } = setup(60_000);
    await projector.handle(await order());
    expect(await status()).toMatchObject({ eventsApplied: 1, lagSamples: [expect.any(Number)] });
    const written = upserts.length;
    for (let i = 0; i < 5; i++) await projector.handle(await order());
    expect(upserts.length).toBe(written);
    expect((await status())!.eventsApplied).toBe(1);
    await projector.flushStatus();
    const s = (await status())!;
    expect(s.eventsApplied).toBe(6);
    expect(s.lagSamples).toHaveLength(6);
    await h.close();
  });

  test('a busy interval keeps the newest 500 lag samples and counts every event', async () => {
    const { h, projector, order, status } = setup(60_000);
    const batch: Document[] = [];
    for (let i = 0; i < 620; i++) batch.push(...(await order()));
    // One batch at once (written), then the rest in batches of 20 within the interval.
    await projector.handle(batch.slice(0, 20));
    for (let i = 20; i < batch.length; i += 20) await projector.handle(batch.slice(i, i + 20));
    await projector.flushStatus();
    const s = (await status())!;
    expect(s.eventsApplied).toBe(620);
    expect(s.lagSamples).toHaveLength(500);
    await h.close();
  });

  test('with no further batch, a timer writes what was measured once the interval is over', async () => {
    const { h, projector, order, status } = setup(50);
    await projector.handle(await order());
    await projector.handle(await order());
    await until(async () => (await status())?.eventsApplied === 2);
    await h.close();
  });

  test('a poisoned event is written at once', async () => {
    const { h, projector, order, status } = setup(60_000);
    await projector.handle(await order());
    // Schema version 9 of OrderCreated: no upcaster reaches the code's version, the stream stops there.
    await projector.handle(await order(9));
    expect((await status())!.poisoned).toEqual([expect.objectContaining({ streamId: 'order-o-2', version: 1, error: expect.stringMatching(/knows up to/) })]);
    await h.close();
  });

  test('a write that fails keeps what it carried for the next one', async () => {
    const { h, projector, order, status, failNextUpserts } = setup(0);
    await projector.handle(await order());
    failNextUpserts(1);
    await expect(projector.handle(await order())).rejects.toThrow(/injected/);
    await projector.handle(await order());
    expect(await status()).toMatchObject({ eventsApplied: 3 });
    expect((await status())!.lagSamples).toHaveLength(3);
    await h.close();
  });
});
