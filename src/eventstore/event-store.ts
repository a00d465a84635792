// The event store (DESIGN.md data model): one document per event in the `events` container,
// id "<streamId>:<version>", partition key /streamId — a stream is one logical partition. An
// append is one transactional batch of Create operations, preceded by a Read of the expected
// version: if another writer got there first (a Create conflicts, 409) or the expected version
// does not exist (the Read fails, 404), the whole batch fails, nothing is written, and the caller
// gets ConcurrencyError. The stream's snapshot lives in the same partition
// ("<streamId>:snapshot"), replaced with If-Match.
import { ConcurrencyError, ValidationError } from '../shared/errors';
import { DocumentStoreError, MAX_BATCH_OPERATIONS, type BatchOperation, type DocumentContainer } from '../ports/documents';

export interface EventMetadata {
  occurredAt: string;
  correlationId?: string;
  causationId?: string;
  messageId?: string;
  userId?: string;
  /** Who issued the command that caused the event (an API key's name, a signed-in principal, the ESB, a saga). */
  caller?: { name: string; kind: string };
  traceparent?: string;
}

export interface NewEvent {
  type: string;
  data: unknown;
  schemaVersion?: number;
  metadata?: Partial<EventMetadata>;
}

export interface StoredEvent<Data = unknown> {
  id: string;
  streamId: string;
  version: number;
  type: string;
  schemaVersion: number;
  data: Data;
  metadata: EventMetadata;
}

export interface Snapshot<State = unknown> {
  streamId: string;
  /** The stream version the state reflects. */
  version: number;
  /** The shape of `state`; a snapshot of another shape is ignored. */
  schemaVersion: number;
  state: State;
  etag?: string;
}

export type ExpectedVersion = number | 'any';

export interface AppendResult {
  /** The stream's version after the append (the version of its last event). */
  version: number;
  events: StoredEvent[];
}

export interface ReadStreamOptions {
  /** First version to read (inclusive); 1 when absent. */
  fromVersion?: number;
  /** Last version to read (inclusive); the stream's end when absent. */
  toVersion?: number;
  /**
   * For a reader that expects few events: read up to this many one at a time by id, and only
   * what follows them with a query. Point reads cost ~1 RU per small event and one for the
   * miss that ends the stream; a query is priced at 10 RU by Cosmos DB's capacity planner.
   */
  pointReads?: number;
}

export interface EventStore {
  /** Events of a stream in version order, optionally from/to a version (inclusive). */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<StoredEvent[]>;
  /** Appends after `expectedVersion` (0 = a new stream); ConcurrencyError if the stream is elsewhere. */
  append(streamId: string, events: NewEvent[], options: { expectedVersion: ExpectedVersion; now?: () => Date }): Promise<AppendResult>;
  readSnapshot<S>(streamId: string): Promise<Snapshot<S> | undefined>;
  /** Writes the snapshot; with `etag`, only over that very snapshot (If-Match). Returns false if someone else wrote one first. */
  writeSnapshot<S>(snapshot: Snapshot<S>): Promise<boolean>;
  /** The ids of every stream (optionally those starting with a prefix), for replays. */
  streamIds(prefix?: string): Promise<string[]>;
  /**
   * Events of every stream whose id is in [fromStreamId, toStreamId), a page at a time, across
   * partitions and in no promised order between streams (ops queries over many small streams).
   */
  readStreamRange(range: StreamRange, page?: { limit?: number; continuation?: string }): Promise<{ events: StoredEvent[]; continuation?: string }>;
}

export interface StreamRange {
  fromStreamId: string;
  toStreamId: string;
}

export const MAX_EVENTS_PER_APPEND = MAX_BATCH_OPERATIONS - 1;

/** A bounded range at most this long is read by point reads issued together, not by a query. */
const MAX_PARALLEL_POINT_READS = 8;

interface EventDocument {
  id: string;
  kind: 'event';
  streamId: string;
  version: number;
  type: string;
  schemaVersion: number;
  data: unknown;
  metadata: EventMetadata;
  [k: string]: unknown;
}

const eventId = (streamId: string, version: number) => `${streamId}:${version}`;
const snapshotId = (streamId: string) => `${streamId}:snapshot`;

function toStored(doc: EventDocument): StoredEvent {
  return { id: doc.id, streamId: doc.streamId, version: doc.version, type: doc.type, schemaVersion: doc.schemaVersion, data: doc.data, metadata: doc.metadata };
}

export class DocumentEventStore implements EventStore {
  constructor(private readonly container: DocumentContainer) {}

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<StoredEvent[]> {
    const from = Math.max(1, options.fromVersion ?? 1);
    const to = options.toVersion;
    if (to !== undefined && to < from) return [];
    if (to !== undefined && to - from < MAX_PARALLEL_POINT_READS) {
      // Events are immutable and a batch writes a stream's versions together: a missing version
      // ends the stream, whatever answers after it.
      const docs = await Promise.all(Array.from({ length: to - from + 1 }, (_, i) => this.container.read<EventDocument>(eventId(streamId, from + i), streamId)));
      const missing = docs.findIndex((d) => !d);
      return (missing < 0 ? docs : docs.slice(0, missing)).map((d) => toStored(d!));
    }
    const events: StoredEvent[] = [];
    for (let v = from; events.length < (options.pointReads ?? 0); v++) {
      if (to !== undefined && v > to) return events;
      const doc = await this.container.read<EventDocument>(eventId(streamId, v), streamId);
      if (!doc) return events;
      events.push(toStored(doc));
    }
    const queryFrom = events.length ? events.at(-1)!.version + 1 : options.fromVersion;
    let continuation: string | undefined;
    do {
      const page = await this.container.query<EventDocument>({
        partitionKey: streamId,
        where: [
          { path: 'kind', op: '=', value: 'event' },
          ...(queryFrom !== undefined ? [{ path: 'version', op: '>=' as const, value: queryFrom }] : []),
          ...(options.toVersion !== undefined ? [{ path: 'version', op: '<=' as const, value: options.toVersion }] : []),
        ],
        orderBy: { path: 'version' },
        limit: 1000,
        continuation,
      });
      events.push(...page.items.map(toStored));
      continuation = page.continuation;
    } while (continuation);
    return events;
  }

  async #currentVersion(streamId: string): Promise<number> {
    const page = await this.container.query<EventDocument>({
      partitionKey: streamId,
      where: [{ path: 'kind', op: '=', value: 'event' }],
      orderBy: { path: 'version', descending: true },
      limit: 1,
    });
    return page.items[0]?.version ?? 0;
  }

  async append(streamId: string, events: NewEvent[], options: { expectedVersion: ExpectedVersion; now?: () => Date }): Promise<AppendResult> {
    if (events.length === 0) throw new ValidationError('Nothing to append', 'events');
    if (events.length > MAX_EVENTS_PER_APPEND) throw new ValidationError(`An append holds at most ${MAX_EVENTS_PER_APPEND} events (one transactional batch)`, 'events');
    const expected = options.expectedVersion === 'any' ? await this.#currentVersion(streamId) : options.expectedVersion;
    if (!Number.isInteger(expected) || expected < 0) throw new ValidationError('expectedVersion must be a non-negative integer', 'expectedVersion');
    const occurredAt = (options.now?.() ?? new Date()).toISOString();
    const docs: EventDocument[] = events.map((e, i) => ({
      id: eventId(streamId, expected + i + 1),
      kind: 'event',
      streamId,
      version: expected + i + 1,
      type: e.type,
      schemaVersion: e.schemaVersion ?? 1,
      data: e.data,
      metadata: { ...e.metadata, occurredAt: e.metadata?.occurredAt ?? occurredAt },
    }));
    const operations: BatchOperation[] = [
      // The expected version must exist (the Read fails otherwise), and none after it (a Create conflicts).
      ...(expected > 0 ? [{ operationType: 'Read' as const, id: eventId(streamId, expected) }] : []),
      ...docs.map((d) => ({ operationType: 'Create' as const, resourceBody: d })),
    ];
    const result = await this.container.batch(streamId, operations);
    if (!result.ok) {
      const failure = result.results.find((r) => r.statusCode >= 400 && r.statusCode !== 424)?.statusCode;
      if (failure === 409 || failure === 404) {
        throw new ConcurrencyError(`Stream ${streamId} is not at version ${expected}: another writer appended first`, 'expectedVersion');
      }
      throw new DocumentStoreError(failure ?? 500, `Appending to ${streamId} failed with status ${failure}`);
    }
    return { version: expected + docs.length, events: docs.map(toStored) };
  }

  async readSnapshot<S>(streamId: string): Promise<Snapshot<S> | undefined> {
    const doc = await this.container.read<{ id: string; _etag?: string; version: number; schemaVersion: number; state: S; streamId: string }>(snapshotId(streamId), streamId);
    return doc ? { streamId, version: doc.version, schemaVersion: doc.schemaVersion, state: doc.state, etag: doc._etag } : undefined;
  }

  async writeSnapshot<S>(snapshot: Snapshot<S>): Promise<boolean> {
    const doc = { id: snapshotId(snapshot.streamId), kind: 'snapshot', streamId: snapshot.streamId, version: snapshot.version, schemaVersion: snapshot.schemaVersion, state: snapshot.state };
    try {
      if (snapshot.etag) await this.container.replace(doc, { ifMatch: snapshot.etag });
      else await this.container.create(doc);
      return true;
    } catch (error) {
      // Another writer stored a snapshot first: theirs is as good; the next load uses it.
      if (error instanceof DocumentStoreError && (error.code === 409 || error.code === 412)) return false;
      if ((error as { code?: number }).code === 409 || (error as { code?: number }).code === 412) return false;
      throw error;
    }
  }

  async readStreamRange(range: StreamRange, page: { limit?: number; continuation?: string } = {}): Promise<{ events: StoredEvent[]; continuation?: string }> {
    // streamId is indexed (a range index): the query reads the range, not the container.
    const result = await this.container.query<EventDocument>({
      where: [
        { path: 'kind', op: '=', value: 'event' },
        { path: 'streamId', op: '>=', value: range.fromStreamId },
        { path: 'streamId', op: '<', value: range.toStreamId },
      ],
      limit: page.limit ?? 1000,
      continuation: page.continuation,
    });
    return { events: result.items.map(toStored), ...(result.continuation ? { continuation: result.continuation } : {}) };
  }

  async streamIds(prefix?: string): Promise<string[]> {
    // One first event per stream: an indexed equality query, cheaper than DISTINCT over every event.
    const ids: string[] = [];
    let continuation: string | undefined;
    do {
      const page = await this.container.query<EventDocument>({
        where: [
          { path: 'kind', op: '=', value: 'event' },
          { path: 'version', op: '=', value: 1 },
        ],
        limit: 1000,
        continuation,
      });
      for (const doc of page.items) if (!prefix || doc.streamId.startsWith(prefix)) ids.push(doc.streamId);
      continuation = page.continuation;
    } while (continuation);
    return ids.sort();
  }
}
