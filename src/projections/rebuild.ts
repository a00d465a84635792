// Rebuilds a projection from the event store into a fresh generation, then swaps it in:
//  1. the registry names the next generation as building — from then on the change feed
//     projector writes every new event to it as well;
//  2. every stream the projection reads is projected from its first event into that generation
//     (idempotent, so it does not matter that the live projector writes there too);
//  3. the registry makes it active; queries read it from then on;
//  4. the documents of the old generation are deleted.
// A rebuild that stops half-way (crash, Ctrl-C) resumes where the registry says on the next run.
import type { Document, DocumentContainer } from '../ports/documents';
import type { EventStore } from '../eventstore/event-store';
import { upcast, type EventSchemas } from '../eventstore/upcasting';
import { forEachLimit } from '../shared/concurrency';
import { NotFoundError } from '../shared/errors';
import type { Projection, ViewDocument } from './projection';
import type { Projector } from './projector';
import type { ProjectionRegistry } from './registry';

export type RebuildPhase = 'listing streams' | 'projecting' | 'swapping' | 'removing old generation';

export interface RebuildProgress {
  generation: number;
  phase: RebuildPhase;
  done: number;
  total: number;
}

export interface RebuildResult {
  projection: string;
  generation: number;
  previousGeneration: number;
  resumed: boolean;
  streams: number;
  events: number;
  removedDocuments: number;
  durationMs: number;
}

export interface RebuildDependencies {
  projections: Projection[];
  projector: Projector;
  registry: ProjectionRegistry;
  store: EventStore;
  views: DocumentContainer;
  schemasFor: (streamId: string) => EventSchemas;
  concurrency?: number;
}

export async function rebuildProjection(name: string, deps: RebuildDependencies, onProgress: (p: RebuildProgress) => void = () => undefined): Promise<RebuildResult> {
  const started = performance.now();
  const projection = deps.projections.find((p) => p.name === name);
  if (!projection) throw new NotFoundError(`No projection named ${name}; there are ${deps.projections.map((p) => p.name).join(', ')}`, 'projection');
  const { generation, resumed } = await deps.registry.beginRebuild(name);

  onProgress({ generation, phase: 'listing streams', done: 0, total: projection.streamPrefixes.length });
  const streams: string[] = [];
  for (const [i, prefix] of projection.streamPrefixes.entries()) {
    streams.push(...(await deps.store.streamIds(prefix)));
    onProgress({ generation, phase: 'listing streams', done: i + 1, total: projection.streamPrefixes.length });
  }

  let events = 0;
  let done = 0;
  const ctx = deps.projector.context(generation);
  onProgress({ generation, phase: 'projecting', done, total: streams.length });
  await forEachLimit(streams, deps.concurrency ?? 8, async (streamId) => {
    const stream = (await deps.store.readStream(streamId)).map((e) => upcast(e, deps.schemasFor(streamId)));
    await projection.apply(streamId, stream, ctx);
    events += stream.length;
    onProgress({ generation, phase: 'projecting', done: ++done, total: streams.length });
  });

  onProgress({ generation, phase: 'swapping', done: 0, total: 1 });
  const previousGeneration = await deps.registry.completeRebuild(name, generation, { streams: streams.length, events });
  onProgress({ generation, phase: 'swapping', done: 1, total: 1 });

  const removedDocuments = await removeGeneration(deps.views, name, previousGeneration, (n) => onProgress({ generation, phase: 'removing old generation', done: n, total: n }));
  return { projection: name, generation, previousGeneration, resumed, streams: streams.length, events, removedDocuments, durationMs: Math.round(performance.now() - started) };
}

/** Deletes every document of one generation of a projection. */
export async function removeGeneration(views: DocumentContainer, projection: string, generation: number, onProgress: (removed: number) => void = () => undefined): Promise<number> {
  let removed = 0;
  for (;;) {
    const page = await views.query<ViewDocument>({
      where: [
        { path: 'projection', op: '=', value: projection },
        { path: 'generation', op: '=', value: generation },
      ],
      limit: 500,
    });
    if (page.items.length === 0) return removed;
    await forEachLimit(page.items, 8, async (doc) => {
      try {
        await views.delete(doc.id, doc.pk);
      } catch (error) {
        if ((error as { code?: number }).code !== 404) throw error;
      }
      removed++;
    });
    onProgress(removed);
  }
}

// Not a view document (no projection/generation fields): removing a generation leaves it alone.
export interface JobState extends Document {
  pk: 'projections';
  kind: 'ops-job';
  job: string;
  updatedAt: string;
  /** The generation being built (rebuilds). */
  target?: number;
  phase: string;
  done: number;
  total: number;
  startedAt: string;
  result?: unknown;
  error?: string;
}

export const rebuildJobId = (name: string) => `job:rebuild:${name}`;

/**
 * Progress of a long ops job kept in the views container (partition "projections") so the ops API
 * and the replay command can show it, written at most every `everyMs`.
 */
export function jobTracker(views: DocumentContainer, id: string, job: string, now: () => Date = () => new Date(), everyMs = 500) {
  const startedAt = now().toISOString();
  let last = 0;
  let pending: Promise<unknown> = Promise.resolve();
  const write = (state: { phase: string; done?: number; total?: number; target?: number; result?: unknown; error?: string }) => {
    pending = pending.then(() => views.upsert<JobState>({ id, pk: 'projections', kind: 'ops-job', job, done: 0, total: 0, startedAt, updatedAt: now().toISOString(), ...state }));
    return pending;
  };
  return {
    progress(p: { phase: string; done: number; total: number; generation?: number }): void {
      const t = Date.now();
      if (t - last < everyMs && p.done !== p.total) return;
      last = t;
      void write({ phase: p.phase, done: p.done, total: p.total, ...(p.generation !== undefined ? { target: p.generation } : {}) }).catch(() => undefined);
    },
    async completed(result: { total: number; generation?: number } & Record<string, unknown>): Promise<void> {
      await write({ phase: 'completed', done: result.total, total: result.total, result, ...(result.generation !== undefined ? { target: result.generation } : {}) });
    },
    async failed(error: Error): Promise<void> {
      await write({ phase: 'failed', error: error.message });
    },
  };
}
