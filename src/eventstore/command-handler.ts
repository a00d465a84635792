// Handles a command against one stream: load (snapshot + the events after it, upcast), decide,
// append with the loaded version as the expected one. A concurrent writer makes the append fail
// with ConcurrencyError; the handler reloads and decides again, a bounded number of times. With
// an explicit expected version (HTTP If-Match) there is no retry: a mismatch is
// PreconditionFailed. A command that carries a messageId already recorded in the stream's recent
// events is not applied twice.
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
}

export class CommandHandler<C, E extends DomainEvent, S> {
  constructor(
    private readonly store: EventStore,
    private readonly decider: Decider<C, E, S>,
    private readonly options: CommandHandlerOptions<S>,
  ) {}

  /** The current state and version of a stream, from its snapshot and the events after it. */
  async load(streamId: string): Promise<{ state: S; version: number; recent: StoredEvent[]; snapshotEtag?: string; snapshotVersion: number }> {
    const snapshot = this.options.snapshotEvery > 0 ? await this.store.readSnapshot<unknown>(streamId) : undefined;
    const usable = snapshot && snapshot.schemaVersion === this.options.stateSchemaVersion ? snapshot : undefined;
    const from = usable ? usable.version + 1 : 1;
    const recent = (await this.store.readStream(streamId, { fromVersion: from })).map((e) => upcast(e, this.options.schemas));
    const base = usable ? (this.options.fromSnapshot ?? ((s) => s as S))(usable.state) : this.decider.initialState();
    const state = fold(this.decider, recent as unknown as E[], base);
    return { state, version: recent.at(-1)?.version ?? usable?.version ?? 0, recent, snapshotEtag: snapshot?.etag, snapshotVersion: usable?.version ?? 0 };
  }

  async handle(streamId: string, command: C, options: CommandOptions = {}): Promise<CommandResult<S>> {
    const maxRetries = this.options.maxRetries ?? 3;
    for (let attempt = 0; ; attempt++) {
      const loaded = await this.load(streamId);
      if (options.expectedVersion !== undefined && options.expectedVersion !== loaded.version) {
        throw new PreconditionFailedError(`${streamId} is at version ${loaded.version}, not ${options.expectedVersion}`, 'If-Match');
      }
      const messageId = options.metadata?.messageId;
      if (messageId && loaded.recent.some((e) => e.metadata.messageId === messageId)) {
        return { streamId, version: loaded.version, events: [], state: loaded.state, duplicate: true };
      }
      const decided = this.decider.decide(command, loaded.state);
      if (decided.length === 0) return { streamId, version: loaded.version, events: [], state: loaded.state };
      try {
        const appended = await this.store.append(
          streamId,
          decided.map((e) => ({ type: e.type, data: e.data, schemaVersion: this.options.schemas.current[e.type] ?? 1, metadata: options.metadata })),
          { expectedVersion: loaded.version, now: this.options.now },
        );
        const state = fold(this.decider, decided, loaded.state);
        await this.#maybeSnapshot(streamId, loaded, appended.version, state);
        return { streamId, version: appended.version, events: appended.events, state };
      } catch (error) {
        if (!(error instanceof ConcurrencyError)) throw error;
        if (options.expectedVersion !== undefined) throw new PreconditionFailedError(error.message, 'If-Match');
        if (attempt >= maxRetries) throw new ConcurrencyError(`${streamId} kept changing under ${attempt + 1} attempts; try again`, 'expectedVersion');
      }
    }
  }

  async #maybeSnapshot(streamId: string, loaded: { snapshotEtag?: string; snapshotVersion: number }, version: number, state: S): Promise<void> {
    const every = this.options.snapshotEvery;
    if (every <= 0 || Math.floor(version / every) === Math.floor(loaded.snapshotVersion / every)) return;
    await this.store.writeSnapshot({ streamId, version, schemaVersion: this.options.stateSchemaVersion, state, etag: loaded.snapshotEtag });
  }
}
