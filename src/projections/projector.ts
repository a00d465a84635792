// Applies a change-feed batch of the events container to every projection: each stream's new
// events, in order, to the active generation and to the one a rebuild is filling. Measures the
// projection lag (event appended → view written) and keeps it, with the last position and any
// poisoned events, in a status document per projection — written at most every few seconds, not
// after every batch: at one order at a time a batch holds one order's events, and the status
// (a read and a replace of a document of 500 samples) cost more request units than the views.
import type { Document, DocumentContainer } from '../ports/documents';
import type { EventStore, StoredEvent } from '../eventstore/event-store';
import { upcast, type EventSchemas } from '../eventstore/upcasting';
import { forEachLimit } from '../shared/concurrency';
import { reads, type Projection, type ProjectionContext } from './projection';
import { REGISTRY_PK, type ProjectionRegistry } from './registry';

export interface ProjectionStatus extends Document {
  pk: typeof REGISTRY_PK;
  kind: 'projection-status';
  name: string;
  /** The latest lag samples in ms (append → view written), newest last. */
  lagSamples: number[];
  lastLagMs?: number;
  lastAppliedAt?: string;
  lastEventOccurredAt?: string;
  eventsApplied: number;
  /** Events that cannot be applied (e.g. no upcaster for their schema); their stream stops there. */
  poisoned: { streamId: string; version: number; error: string }[];
}

export const statusId = (name: string) => `status:${name}`;
const MAX_SAMPLES = 500;

export interface ProjectorOptions {
  views: DocumentContainer;
  store: EventStore;
  registry: ProjectionRegistry;
  projections: Projection[];
  schemasFor: (streamId: string) => EventSchemas;
  now?: () => Date;
  /** Streams projected at once. */
  concurrency?: number;
  /**
   * A projection's status document is written at most this often (ms); what batches measure in
   * between is added with the next write, or by a timer when no batch comes. A poisoned event is
   * written at once. 0 writes after every batch.
   */
  statusEveryMs?: number;
}

/** What batches measured for a projection since its status was last written. */
interface PendingStatus {
  lags: number[];
  applied: number;
  newest?: string;
  /** When the newest batch was applied. */
  appliedAt?: string;
  poisoned: ProjectionStatus['poisoned'];
  lastWrite: number;
  timer?: ReturnType<typeof setTimeout>;
  /** The write under way: writes of one projection's status follow each other. */
  writing: Promise<void>;
}

const DEFAULT_STATUS_EVERY_MS = 5_000;

export function toStoredEvent(doc: Document): StoredEvent | undefined {
  if (doc.kind !== 'event' || typeof doc.streamId !== 'string' || typeof doc.version !== 'number') return undefined;
  const d = doc as unknown as StoredEvent;
  return { id: d.id, streamId: d.streamId, version: d.version, type: d.type, schemaVersion: d.schemaVersion ?? 1, data: d.data, metadata: d.metadata };
}

export function percentile(samples: readonly number[], p: number): number | undefined {
  if (samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export class Projector {
  readonly #now: () => Date;

  constructor(private readonly options: ProjectorOptions) {
    this.#now = options.now ?? (() => new Date());
  }

  context(generation: number): ProjectionContext {
    const { views, store, schemasFor } = this.options;
    return {
      views,
      generation,
      now: this.#now,
      readStream: async (streamId, range) => (await store.readStream(streamId, range)).map((e) => upcast(e, schemasFor(streamId))),
    };
  }

  /** Projects a change-feed batch (documents of the events container, any kind). */
  /** Projects a change-feed batch; `lags` are, per projection and stream, ms from the stream's newest event's append to now. */
  async handle(documents: Document[]): Promise<{ events: number; streams: number; lags: { projection: string; lagMs: number }[] }> {
    const byStream = new Map<string, StoredEvent[]>();
    for (const doc of documents) {
      const event = toStoredEvent(doc);
      if (!event) continue;
      let list = byStream.get(event.streamId);
      if (!list) byStream.set(event.streamId, (list = []));
      list.push(event);
    }
    if (byStream.size === 0) return { events: 0, streams: 0, lags: [] };
    // The change feed keeps order within a partition (a stream); sorting guards against merged batches.
    for (const list of byStream.values()) list.sort((a, b) => a.version - b.version);

    const poisoned: ProjectionStatus['poisoned'] = [];
    const streams: [string, StoredEvent[]][] = [];
    for (const [streamId, events] of byStream) {
      const upcast = this.#upcast(streamId, events, poisoned);
      if (upcast.length) streams.push([streamId, upcast]);
    }
    const registry = await this.options.registry.all();
    let total = 0;
    const allLags: { projection: string; lagMs: number }[] = [];
    for (const projection of this.options.projections) {
      const entry = registry.find((r) => r.name === projection.name)!;
      const generations = [entry.active, ...(entry.building !== undefined ? [entry.building] : [])];
      const mine = streams.filter(([id]) => reads(projection, id));
      const poisonedHere = poisoned.filter((p) => reads(projection, p.streamId));
      // A batch of nothing but a poisoned event still records it.
      if (mine.length === 0 && poisonedHere.length === 0) continue;
      await forEachLimit(mine, this.options.concurrency ?? 8, async ([streamId, events]) => {
        for (const generation of generations) await projection.apply(streamId, events, this.context(generation));
      });
      const applied = mine.reduce((n, [, e]) => n + e.length, 0);
      total += applied;
      const now = this.#now().getTime();
      const lags = mine.map(([, e]) => now - Date.parse(e.at(-1)!.metadata.occurredAt)).filter((l) => Number.isFinite(l));
      for (const lagMs of lags) allLags.push({ projection: projection.name, lagMs });
      const newest = mine
        .map(([, e]) => e.at(-1)!.metadata.occurredAt)
        .sort()
        .at(-1);
      await this.#recordStatus(projection.name, lags, applied, newest, poisonedHere);
    }
    return { events: total, streams: streams.length, lags: allLags };
  }

  /** Upcasts a stream's events; an event that cannot be upcast poisons the rest of the batch's stream. */
  #upcast(streamId: string, events: StoredEvent[], poisoned: ProjectionStatus['poisoned']): StoredEvent[] {
    const out: StoredEvent[] = [];
    for (const e of events) {
      try {
        out.push(upcast(e, this.options.schemasFor(streamId)));
      } catch (error) {
        poisoned.push({ streamId, version: e.version, error: (error as Error).message });
        break;
      }
    }
    return out;
  }

  #pending = new Map<string, PendingStatus>();

  async #recordStatus(name: string, lags: number[], applied: number, newest: string | undefined, poisoned: ProjectionStatus['poisoned']): Promise<void> {
    let p = this.#pending.get(name);
    if (!p) this.#pending.set(name, (p = { lags: [], applied: 0, poisoned: [], lastWrite: -Infinity, writing: Promise.resolve() }));
    // Only the newest MAX_SAMPLES are ever kept: a busy interval does not grow this.
    p.lags = [...p.lags, ...lags].slice(-MAX_SAMPLES);
    p.applied += applied;
    p.appliedAt = this.#now().toISOString();
    if (newest && (!p.newest || newest > p.newest)) p.newest = newest;
    p.poisoned.push(...poisoned);
    const every = this.options.statusEveryMs ?? DEFAULT_STATUS_EVERY_MS;
    const wait = p.lastWrite + every - Date.now();
    if (wait <= 0 || poisoned.length > 0) return this.#writeStatus(name, p);
    // Unref'd: a status still to write never keeps a process alive; flushStatus() writes it on the way out.
    p.timer ??= setTimeout(() => void this.#writeStatus(name, p).catch(() => undefined), wait);
    p.timer.unref?.();
  }

  /** Writes every status with something not yet written (the worker stops, a test reads them). */
  async flushStatus(): Promise<void> {
    await Promise.all([...this.#pending].map(([name, p]) => (p.applied > 0 || p.lags.length || p.poisoned.length ? this.#writeStatus(name, p) : p.writing)));
  }

  #writeStatus(name: string, p: PendingStatus): Promise<void> {
    clearTimeout(p.timer);
    p.timer = undefined;
    p.lastWrite = Date.now();
    const taken = { lags: p.lags, applied: p.applied, newest: p.newest, appliedAt: p.appliedAt ?? this.#now().toISOString(), poisoned: p.poisoned };
    Object.assign(p, { lags: [], applied: 0, newest: undefined, poisoned: [] });
    p.writing = p.writing.then(async () => {
      const { views } = this.options;
      try {
        const current = await views.read<ProjectionStatus>(statusId(name), REGISTRY_PK);
        // One projector per lease writes this document; last writer wins is fine.
        await views.upsert<ProjectionStatus>({
          id: statusId(name),
          pk: REGISTRY_PK,
          kind: 'projection-status',
          name,
          lagSamples: [...(current?.lagSamples ?? []), ...taken.lags].slice(-MAX_SAMPLES),
          ...(taken.lags.length ? { lastLagMs: taken.lags.at(-1) } : current?.lastLagMs !== undefined ? { lastLagMs: current.lastLagMs } : {}),
          lastAppliedAt: taken.appliedAt,
          ...(taken.newest ? { lastEventOccurredAt: taken.newest } : current?.lastEventOccurredAt ? { lastEventOccurredAt: current.lastEventOccurredAt } : {}),
          eventsApplied: (current?.eventsApplied ?? 0) + taken.applied,
          poisoned: [...(current?.poisoned ?? []), ...taken.poisoned].slice(-50),
        });
      } catch (error) {
        // Not written: what was measured waits for the next write.
        p.lags.unshift(...taken.lags);
        p.applied += taken.applied;
        p.poisoned.unshift(...taken.poisoned);
        if (taken.newest && (!p.newest || taken.newest > p.newest)) p.newest = taken.newest;
        throw error;
      }
    });
    const written = p.writing;
    p.writing = written.catch(() => undefined);
    return written;
  }
}
