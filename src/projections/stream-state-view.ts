// The commonest projection: one view document per stream, holding a state folded from the
// stream's events and the version it reflects. Events at or below that version are skipped;
// a gap (the view missed events, e.g. the projection is newer than the stream) is filled from
// the event store, so the document is always the fold of a prefix of the stream.
import type { StoredEvent } from '../eventstore/event-store';
import { updateDocument, viewId, type Projection, type ProjectionContext, type ViewDocument } from './projection';

export interface StreamStateViewDefinition<S> {
  name: string;
  streamPrefix: string;
  kind: string;
  /** Where the stream's document lives: partition key and id key (without the generation). */
  locate(streamId: string, events: StoredEvent[], ctx: ProjectionContext): Promise<{ pk: string; key: string } | undefined>;
  initial(streamId: string): S;
  evolve(state: S, event: StoredEvent): S;
  /** Extra top-level fields for queries (sort keys, filters). */
  indexFields?(state: S): Record<string, string | number | boolean>;
}

export interface StreamStateDocument<S> extends ViewDocument {
  streamId: string;
  version: number;
  state: S;
}

export function streamStateView<S>(def: StreamStateViewDefinition<S>): Projection {
  return {
    name: def.name,
    streamPrefixes: [def.streamPrefix],
    async apply(streamId, events, ctx) {
      if (events.length === 0) return;
      const location = await def.locate(streamId, events, ctx);
      if (!location) return;
      const id = viewId(ctx.generation, location.key);
      await updateDocument<StreamStateDocument<S>>(ctx.views, id, location.pk, async (current) => {
        const version = current?.version ?? 0;
        let pending = events.filter((e) => e.version > version);
        if (pending.length === 0) return undefined;
        if (pending[0]!.version > version + 1) {
          const missed = await ctx.readStream(streamId, { fromVersion: version + 1, toVersion: pending[0]!.version - 1 });
          pending = [...missed, ...pending];
        }
        const state = pending.reduce(def.evolve, current?.state ?? def.initial(streamId));
        return {
          id,
          pk: location.pk,
          kind: def.kind,
          projection: def.name,
          generation: ctx.generation,
          streamId,
          version: pending.at(-1)!.version,
          updatedAt: ctx.now().toISOString(),
          state,
          ...def.indexFields?.(state),
        };
      });
    },
  };
}
