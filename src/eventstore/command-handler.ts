// Handles a command against one stream: load (snapshot + the events after it, upcast), decide,
// append with the loaded version as the expected one. A concurrent writer makes the append fail
// with ConcurrencyError; the handler reloads and decides again, a bounded number of times. With
// an explicit expected version (HTTP If-Match) there is no retry: a mismatch is
// PreconditionFailed. A command that carries a messageId already recorded in the stream's recent
// events is not applied twice.
//
// Loading is the most frequent thing the app asks of Cosmos DB, so it is done by point reads:
// the handler keeps, per stream it last touched, the state and version it saw (immutable,
// frozen) and, on the next command, reads the version after it by id — a miss, ~1 RU, proves
// the state current; anything found is folded in. A stream it does not hold is read from its
// snapshot by id, the first events after it by id and only a long tail by query. The kept
// state is a hint, never trusted: a stale one makes the append fail (the batch's Read of the
// expected version, or a Create that conflicts), and a failed append forgets it.
import { ConcurrencyError, PreconditionFailedError } from '../shared/errors';
import { fold, type Decider } from './decider';
import type { EventMetadata, EventStore, StoredEvent } from './event-store';
import { upcast, type EventSchemas } from './upcasting';

export interface DomainEvent {
  type: string;
  data: unknown;
}

export interface CommandOptions {
  /** From If-Match: the version the caller saw; a different current version is a 412. */
  expectedVersion?: number;
  metadata?: Partial<EventMetadata>;
}

export interface CommandResult<State> {
  streamId: string;
  version: number;
  events: StoredEvent[];
  state: State;
  /** The command's messageId was handled before; nothing new was appended. */
  duplicate?: boolean;
}

export interface CommandHandlerOptions<S> {
  schemas: EventSchemas;
  /** Write a snapshot when the version crosses a multiple of this (0 turns snapshots off). */
  snapshotEvery: number;
  /** The shape of the snapshotted state; bump it when the state changes shape. */
  stateSchemaVersion: number;
  maxRetries?: number;
  now?: () => Date;
  /** Restores a snapshot's state (the default keeps it as stored JSON). */
  fromSnapshot?: (state: unknown) => S;
  /** Streams whose last seen state is kept between commands (least recently used go first); 0 keeps none. */
  keptStreams?: number;
}

export interface LoadedStream<S> {
  state: S;
  version: number;
  /** messageIds of the stream's recent events: at least those after its snapshot. */
  recentMessageIds: readonly string[];
  snapshotEtag?: string;
  snapshotVersion: number;
  /** The snapshot was not read (the state came from what the handler kept): read it before replacing it. */
  snapshotUnread?: boolean;
  /** Loaded from what the handler kept rather than from the snapshot. */
  fromKept?: boolean;
}

/** Events read one at a time by id after a kept or snapshotted state, before a query takes over. */
const POINT_READS = 4;
const MAX_RECENT_MESSAGE_IDS = 100;

function deepFreeze<T>(value: T): T {
  // Evolve shares what did not change, so recursion stops at parts frozen before.
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export class CommandHandler<C, E extends DomainEvent, S> {
  constructor(
    private readonly store: EventStore,
    private readonly decider: Decider<C, E, S>,
    private readonly options: CommandHandlerOptions<S>,
  ) {}

  readonly #kept = new Map<string, LoadedStream<S>>();

  /** The current state and version of a stream, from its snapshot and the events after it. */
  async load(streamId: string): Promise<LoadedStream<S>> {
    const kept = this.#kept.get(streamId);
    if (kept) {
      const newer = await this.#readAfter(streamId, kept.version);
      const loaded: LoadedStream<S> = newer.length
        ? {
            ...kept,
            state: fold(this.decider, newer as unknown as E[], kept.state),
            version: newer.at(-1)!.version,
            recentMessageIds: withMessageIds(kept.recentMessageIds, newer, newer.at(-1)!.version - kept.snapshotVersion),
          }
        : kept;
      this.#keep(streamId, loaded);
      return { ...loaded, fromKept: true };
    }
    const snapshot = this.options.snapshotEvery > 0 ? await this.store.readSnapshot<unknown>(streamId) : undefined;
    const usable = snapshot && snapshot.schemaVersion === this.options.stateSchemaVersion ? snapshot : undefined;
    const recent = await this.#readAfter(streamId, usable?.version ?? 0);
    const base = usable ? (this.options.fromSnapshot ?? ((s) => s as S))(usable.state) : this.decider.initialState();
    const loaded: LoadedStream<S> = {
      state: fold(this.decider, recent as unknown as E[], base),
      version: recent.at(-1)?.version ?? usable?.version ?? 0,
      recentMessageIds: withMessageIds([], recent, recent.length),
      ...(snapshot?.etag ? { snapshotEtag: snapshot.etag } : {}),
      snapshotVersion: usable?.version ?? 0,
    };
    this.#keep(streamId, loaded);
    return loaded;
  }

  async #readAfter(streamId: string, version: number): Promise<StoredEvent[]> {
    return (await this.store.readStream(streamId, { fromVersion: version + 1, pointReads: POINT_READS })).map((e) => upcast(e, this.options.schemas));
  }

  /** Lets go of every kept state (the worker stops: the next host in this process may have other data). */
  forget(): void {
    this.#kept.clear();
  }

  #keep(streamId: string, loaded: LoadedStream<S>): void {
    const limit = this.options.keptStreams ?? 5_000;
    if (limit <= 0) return;
    deepFreeze(loaded.state);
    this.#kept.delete(streamId);
    if (this.#kept.size >= limit) this.#kept.delete(this.#kept.keys().next().value!);
    this.#kept.set(streamId, loaded);
  }

  async handle(streamId: string, command: C, options: CommandOptions = {}): Promise<CommandResult<S>> {
    const maxRetries = this.options.maxRetries ?? 3;
    for (let attempt = 0; ; attempt++) {
      const loaded = await this.load(streamId);
      if (options.expectedVersion !== undefined && options.expectedVersion !== loaded.version) {
        throw new PreconditionFailedError(`${streamId} is at version ${loaded.version}, not ${options.expectedVersion}`, 'If-Match');
      }
      const messageId = options.metadata?.messageId;
      if (messageId && loaded.recentMessageIds.includes(messageId)) {
        return { streamId, version: loaded.version, events: [], state: loaded.state, duplicate: true };
      }
      let decided: E[];
      try {
        decided = this.decider.decide(command, loaded.state);
      } catch (error) {
        // A refusal is an answer to the caller: decide it on what the store says, not on a hint.
        if (!loaded.fromKept) throw error;
        this.#kept.delete(streamId);
        continue;
      }
      if (decided.length === 0) return { streamId, version: loaded.version, events: [], state: loaded.state };
      try {
        const appended = await this.store.append(
          streamId,
          decided.map((e) => ({ type: e.type, data: e.data, schemaVersion: this.options.schemas.current[e.type] ?? 1, metadata: options.metadata })),
          { expectedVersion: loaded.version, now: this.options.now },
        );
        const state = fold(this.decider, decided, loaded.state);
        const snapshot = await this.#maybeSnapshot(streamId, loaded, appended.version, state);
        this.#keep(streamId, {
          state,
          version: appended.version,
          recentMessageIds: withMessageIds(loaded.recentMessageIds, appended.events, appended.version - loaded.snapshotVersion),
          snapshotVersion: snapshot.written ?? loaded.snapshotVersion,
          ...(!snapshot.attempted && loaded.snapshotEtag ? { snapshotEtag: loaded.snapshotEtag } : {}),
          // A snapshot written (its new ETag unknown) or refused (someone else's is there): read it before the next one.
          snapshotUnread: snapshot.attempted || loaded.snapshotUnread === true,
        });
        return { streamId, version: appended.version, events: appended.events, state };
      } catch (error) {
        // Whatever was kept of the stream may be why; the next attempt reads it from the store.
        this.#kept.delete(streamId);
        if (!(error instanceof ConcurrencyError)) throw error;
        if (options.expectedVersion !== undefined) throw new PreconditionFailedError(error.message, 'If-Match');
        if (attempt >= maxRetries) throw new ConcurrencyError(`${streamId} kept changing under ${attempt + 1} attempts; try again`, 'expectedVersion');
      }
    }
  }

  /** Writes a snapshot when the version crosses a multiple of snapshotEvery: whether it tried, and the version it wrote. */
  async #maybeSnapshot(streamId: string, loaded: LoadedStream<S>, version: number, state: S): Promise<{ attempted: boolean; written?: number }> {
    const every = this.options.snapshotEvery;
    if (every <= 0 || Math.floor(version / every) === Math.floor(loaded.snapshotVersion / every)) return { attempted: false };
    const etag = loaded.snapshotUnread ? (await this.store.readSnapshot(streamId))?.etag : loaded.snapshotEtag;
    const written = await this.store.writeSnapshot({ streamId, version, schemaVersion: this.options.stateSchemaVersion, state, ...(etag ? { etag } : {}) });
    return written ? { attempted: true, written: version } : { attempted: true };
  }
}

/**
 * The messageIds of `kept` and then of `events`: all those after the snapshot (what a load from
 * the store sees), and at least the newest MAX_RECENT_MESSAGE_IDS.
 */
function withMessageIds(kept: readonly string[], events: readonly StoredEvent[], sinceSnapshot: number): readonly string[] {
  const ids = events.map((e) => e.metadata?.messageId).filter((id): id is string => typeof id === 'string');
  return ids.length ? [...kept, ...ids].slice(-Math.max(MAX_RECENT_MESSAGE_IDS, sinceSnapshot)) : kept;
}
