// Given / when / then specifications for projections, in the style of the decider specs, without
// a host: given the streams' events, when the change feed delivers them (in order, twice, or in
// another order), then the view documents. The views live in the local Azure's document store
// (in memory), the container the projector writes in production through the same port.
import { join } from 'node:path';
import { loadCosmosDefinition } from '@backbone/azure-model/cosmos';
import type { StoredEvent } from '../../src/eventstore/event-store';
import type { Projection, ProjectionContext } from '../../src/projections/projection';
import { embeddedDocumentHarness } from './document-harness';
import { repoRoot } from './messaging-harness';

const NOW = new Date('2026-01-15T12:00:00.000Z');
const VOLATILE = new Set(['_etag', '_ts', '_lsn', '_rid', '_self', '_attachments']);

/** Stored events of one stream, numbered from 1, from its domain events. */
export function stream(streamId: string, events: { type: string; data: unknown }[], from = 1): StoredEvent[] {
  return events.map((e, i) => ({
    id: `${streamId}:${from + i}`,
    streamId,
    version: from + i,
    type: e.type,
    schemaVersion: 1,
    data: e.data,
    metadata: { occurredAt: NOW.toISOString() },
  }));
}

function byStream(batch: StoredEvent[]): Map<string, StoredEvent[]> {
  const out = new Map<string, StoredEvent[]>();
  for (const e of batch) out.set(e.streamId, [...(out.get(e.streamId) ?? []), e]);
  return out;
}

/** Applies the deliveries, one batch after the other (each stream's events of a batch together, as the projector hands them), and returns the view documents by id. */
async function project(projection: Projection, history: StoredEvent[], deliveries: StoredEvent[][]): Promise<Record<string, Record<string, unknown>>> {
  const h = embeddedDocumentHarness(loadCosmosDefinition(join(repoRoot, 'config', 'cosmos.yaml')));
  const views = h.store.container('views');
  const ctx: ProjectionContext = {
    views,
    generation: 1,
    now: () => NOW,
    readStream: async (streamId, { fromVersion = 1, toVersion = Number.MAX_SAFE_INTEGER } = {}) =>
      history.filter((e) => e.streamId === streamId && e.version >= fromVersion && e.version <= toVersion).sort((a, b) => a.version - b.version),
  };
  try {
    for (const batch of deliveries) for (const [streamId, events] of byStream(batch)) await projection.apply(streamId, events, ctx);
    const documents: Record<string, Record<string, unknown>> = {};
    for (let continuation: string | undefined, first = true; first || continuation; first = false) {
      const page = await views.query<Record<string, unknown> & { id: string }>({ where: [], ...(continuation ? { continuation } : {}) });
      for (const d of page.items) documents[d.id] = Object.fromEntries(Object.entries(d).filter(([k]) => !VOLATILE.has(k)));
      continuation = page.continuation;
    }
    return documents;
  } finally {
    await h.close();
  }
}

export function projectionSpec(projection: Projection) {
  return {
    given(...streams: StoredEvent[][]) {
      const history = streams.flat();
      const inOrder = [history];
      const check = (deliveries: StoredEvent[][]) => ({
        /** The view documents (by id), each matching the given fields. */
        async then(expected: Record<string, Record<string, unknown>>): Promise<void> {
          const documents = await project(projection, history, deliveries);
          expect(Object.keys(documents).sort()).toEqual(Object.keys(expected).sort());
          for (const [id, fields] of Object.entries(expected)) expect(documents[id]).toMatchObject(fields);
        },
        /** Exactly the documents in-order delivery gives. */
        async thenSameAsInOrder(): Promise<void> {
          expect(await project(projection, history, deliveries)).toEqual(await project(projection, history, inOrder));
        },
      });
      return {
        ...check(inOrder),
        /** The change feed hands these batches over, in this order (redeliveries, reordering). */
        whenDelivered: (...batches: StoredEvent[][]) => check(batches),
      };
    },
  };
}
