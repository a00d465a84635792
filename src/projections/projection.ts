// A projection turns the events of some streams into read models (documents in the `views`
// container). Every view document belongs to one generation of its projection: queries read the
// active generation; a rebuild fills the next one from the event store while the change feed
// keeps writing to both, then swaps. Applying is idempotent — each view records what it has
// applied per stream — so a redelivered batch, a retried one and a rebuild meeting the live
// projector all end in the same documents.
import type { Document, DocumentContainer } from '../ports/documents';
import type { StoredEvent } from '../eventstore/event-store';
import { upcast, type EventSchemas } from '../eventstore/upcasting';
import { ConcurrencyError } from '../shared/errors';

export interface ProjectionContext {
  views: DocumentContainer;
  generation: number;
  /** For catching up: a stream's events from the store, upcast. */
  readStream(streamId: string, options?: { fromVersion?: number; toVersion?: number }): Promise<StoredEvent[]>;
  now: () => Date;
}

export interface Projection {
  readonly name: string;
  /** Stream id prefixes the projection reads (order-, inventory-). */
  readonly streamPrefixes: string[];
  /** Applies events of one stream, in version order and upcast. Idempotent. */
  apply(streamId: string, events: StoredEvent[], ctx: ProjectionContext): Promise<void>;
}

/** Fields every view document carries. */
export interface ViewDocument extends Document {
  pk: string;
  kind: string;
  projection: string;
  generation: number;
  updatedAt: string;
}

export const viewId = (generation: number, key: string) => `g${generation}:${key}`;

export function reads(projection: Projection, streamId: string): boolean {
  return projection.streamPrefixes.some((p) => streamId.startsWith(p));
}

/** Event schemas per stream kind, so a projection sees every event in its current shape. */
export function upcastAll(events: StoredEvent[], schemasFor: (streamId: string) => EventSchemas): StoredEvent[] {
  return events.map((e) => upcast(e, schemasFor(e.streamId)));
}

const isConflict = (error: unknown) => {
  const code = (error as { code?: number }).code;
  return code === 409 || code === 412;
};

/**
 * Read-modify-write of one document with optimistic concurrency: `change` gets the current
 * document (or undefined) and returns the new one, or undefined to leave it. Conflicts reload
 * and run `change` again.
 */
export async function updateDocument<T extends Document>(
  views: DocumentContainer,
  id: string,
  pk: string,
  change: (current: T | undefined) => Promise<T | undefined> | T | undefined,
  attempts = 10,
): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    const current = await views.read<T>(id, pk);
    const next = await change(current);
    if (!next) return;
    try {
      if (current) await views.replace(next, { ifMatch: current._etag });
      else await views.create(next);
      return;
    } catch (error) {
      if (!isConflict(error)) throw error;
    }
  }
  throw new ConcurrencyError(`View ${id} kept changing under ${attempts} attempts`);
}

export { isConflict };
