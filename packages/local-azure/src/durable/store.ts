// The embedded Durable engine's task hub in SQLite: instances (status, input, output, custom
// status, the engine's bookkeeping), their history, the messages waiting for each instance (new
// history events, control operations, timers as messages that become visible when they fire) and
// the activity work items. An episode's whole outcome is written in one transaction, before any
// action it decided is carried out.
//
// Running instances are also kept in memory between episodes (the instance row and its history,
// as the orchestrator is handed it), so an episode reads nothing it wrote itself; like the
// extension's extended sessions, except that the orchestrator still replays the whole history
// (the out-of-process protocol has no other way). Every write of an instance or its history drops
// its cached copy at once; the engine puts a new one back only after the transaction that wrote
// it has committed, so the cache never holds what a rolled-back transaction wrote.
import type { UsageMeter } from '../usage';
import { randomUUID } from 'node:crypto';
import { migrate, type Db } from '../sqlite';
import { EventType, type ActionType, type HistoryEvent, type RetryOptionsDto } from './history';

/** The task hub's schema steps, in order; applied steps are never edited (a migration test replays the first ones). */
export const DURABLE_SCHEMA = [
  `CREATE TABLE df_instances (
     instance_id TEXT PRIMARY KEY, name TEXT NOT NULL, execution_id TEXT NOT NULL, status TEXT NOT NULL,
     input TEXT, output TEXT, custom_status TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
     parent TEXT, state TEXT NOT NULL) WITHOUT ROWID;
   CREATE INDEX df_instances_status ON df_instances(status, created_at);
   CREATE TABLE df_history (instance_id TEXT NOT NULL, seq INTEGER NOT NULL, event TEXT NOT NULL, PRIMARY KEY (instance_id, seq)) WITHOUT ROWID;
   CREATE TABLE df_messages (
     id INTEGER PRIMARY KEY AUTOINCREMENT, instance_id TEXT NOT NULL, execution_id TEXT, kind TEXT NOT NULL,
     payload TEXT NOT NULL, visible_at INTEGER NOT NULL);
   CREATE INDEX df_messages_instance ON df_messages(instance_id, id);
   CREATE INDEX df_messages_visible ON df_messages(visible_at);
   CREATE TABLE df_work (
     id INTEGER PRIMARY KEY AUTOINCREMENT, instance_id TEXT NOT NULL, execution_id TEXT NOT NULL, task_id INTEGER NOT NULL,
     name TEXT NOT NULL, input TEXT NOT NULL, created_at INTEGER NOT NULL);`,
  // Orchestration versioning: the version an instance was created with.
  `ALTER TABLE df_instances ADD COLUMN version TEXT;`,
  // History rows appended in rowid order: every episode's events go to the end of the table (the
  // same few pages for every instance of a group commit) instead of into each instance's place in
  // a WITHOUT ROWID tree, where events over ~1 KB also spilled into overflow pages of their own.
  // That is most of what an episode's commit wrote to the WAL.
  `CREATE TABLE df_history_v3 (id INTEGER PRIMARY KEY, instance_id TEXT NOT NULL, seq INTEGER NOT NULL, event TEXT NOT NULL);
   INSERT INTO df_history_v3 (instance_id, seq, event) SELECT instance_id, seq, event FROM df_history ORDER BY instance_id, seq;
   DROP TABLE df_history;
   ALTER TABLE df_history_v3 RENAME TO df_history;
   CREATE UNIQUE INDEX df_history_instance ON df_history(instance_id, seq);`,
  // Instances in a rowid table: a row of a few KB (custom status, the engine's bookkeeping) fits
  // in its leaf page there, where a WITHOUT ROWID tree keeps ~1 KB of it and puts the rest in
  // overflow pages, rewritten (and their old ones freed) by every episode.
  `CREATE TABLE df_instances_v4 (
     id INTEGER PRIMARY KEY, instance_id TEXT NOT NULL UNIQUE, name TEXT NOT NULL, execution_id TEXT NOT NULL, status TEXT NOT NULL,
     input TEXT, output TEXT, custom_status TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
     parent TEXT, state TEXT NOT NULL, version TEXT);
   INSERT INTO df_instances_v4 (instance_id, name, execution_id, status, input, output, custom_status, created_at, updated_at, parent, state, version)
     SELECT instance_id, name, execution_id, status, input, output, custom_status, created_at, updated_at, parent, state, version FROM df_instances ORDER BY created_at;
   DROP TABLE df_instances;
   ALTER TABLE df_instances_v4 RENAME TO df_instances;
   CREATE INDEX df_instances_status ON df_instances(status, created_at);`,
  // A work item points at the TaskScheduled event that holds its input (history_seq) instead of
  // carrying a copy: rows of a few dozen bytes share pages, where inputs of a few KB took a page
  // each to insert and another to delete. Items of earlier builds keep their input.
  `CREATE TABLE df_work_v5 (
     id INTEGER PRIMARY KEY AUTOINCREMENT, instance_id TEXT NOT NULL, execution_id TEXT NOT NULL, task_id INTEGER NOT NULL,
     name TEXT NOT NULL, input TEXT, history_seq INTEGER, created_at INTEGER NOT NULL);
   INSERT INTO df_work_v5 (id, instance_id, execution_id, task_id, name, input, created_at)
     SELECT id, instance_id, execution_id, task_id, name, input, created_at FROM df_work;
   INSERT INTO sqlite_sequence (name, seq) SELECT 'df_work_v5', seq FROM sqlite_sequence WHERE name = 'df_work'
     AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'df_work_v5');
   UPDATE sqlite_sequence SET seq = MAX(seq, (SELECT seq FROM sqlite_sequence WHERE name = 'df_work')) WHERE name = 'df_work_v5';
   DROP TABLE df_work;
   ALTER TABLE df_work_v5 RENAME TO df_work;`,
  // Durable entities: one row per entity that has state or holds a lock (its messages wait in
  // df_messages under its scheduler id, '@name@key', as the extension keeps them in the entity's queue).
  `CREATE TABLE df_entities (
     instance_id TEXT PRIMARY KEY, name TEXT NOT NULL, entity_key TEXT NOT NULL, state_exists INTEGER NOT NULL,
     state TEXT, locked_by TEXT, lock_request TEXT, updated_at INTEGER NOT NULL) WITHOUT ROWID;`,
];

/** How many running instances stay in memory between episodes, and how much history JSON at most (least recently used ones leave first). */
export const CACHED_INSTANCES = 2_000;
export const CACHED_HISTORY_CHARS = 32 * 2 ** 20;

export type RuntimeStatus = 'Pending' | 'Running' | 'Completed' | 'ContinuedAsNew' | 'Failed' | 'Terminated' | 'Suspended';
export const TERMINAL: ReadonlySet<RuntimeStatus> = new Set(['Completed', 'Failed', 'Terminated']);

export interface Slot {
  type: ActionType;
  name?: string;
  eventId?: number;
  /** A timer the orchestrator canceled: it never fires. */
  canceled?: boolean;
}

export interface RetryInfo {
  kind: 'activity' | 'sub';
  name: string;
  input: string;
  instanceId?: string;
  /** A sub-orchestration's version. */
  version?: string;
  options: RetryOptionsDto;
  /** The attempt now running (1 = the first). */
  attempt: number;
  firstAttemptAt: number;
  lastReason?: string;
  lastDetails?: string;
}

/** The engine's bookkeeping of one execution, kept with the instance. */
export interface EngineState {
  nextEventId: number;
  /** Every scheduling action the orchestrator returned so far, in order, with its event id. */
  slots: Slot[];
  /** Task id of the attempt now running → its retry policy and progress. */
  retryByTask: Record<number, RetryInfo>;
  /** Retry timer id → the retry it belongs to. */
  retryByTimer: Record<number, RetryInfo>;
  /** Sub-orchestration task id → child instance id. */
  children: Record<number, string>;
  /** The critical section the orchestration is in or entering: its lock request and the entities (scheduler ids) it locks. */
  locks?: { requestId: string; entities: string[] };
}

export const newEngineState = (): EngineState => ({ nextEventId: 0, slots: [], retryByTask: {}, retryByTimer: {}, children: {} });

/** A deep copy of the engine's bookkeeping (every level an episode changes): cheaper than structuredClone. */
export function cloneState(s: EngineState): EngineState {
  const retry = (r: Record<number, RetryInfo>) => {
    const out: Record<number, RetryInfo> = {};
    for (const [k, v] of Object.entries(r)) out[Number(k)] = { ...v, options: { ...v.options } };
    return out;
  };
  return {
    nextEventId: s.nextEventId,
    slots: s.slots.map((slot) => ({ ...slot })),
    retryByTask: retry(s.retryByTask),
    retryByTimer: retry(s.retryByTimer),
    children: { ...s.children },
    ...(s.locks ? { locks: { requestId: s.locks.requestId, entities: [...s.locks.entities] } } : {}),
  };
}

export interface ParentRef {
  instanceId: string;
  executionId: string;
  taskId: number;
}

export interface InstanceRow {
  instanceId: string;
  name: string;
  executionId: string;
  status: RuntimeStatus;
  input: string | null;
  output: string | null;
  customStatus: string | null;
  createdAt: number;
  updatedAt: number;
  parent?: ParentRef;
  /** The version the instance was created with (orchestration versioning); none before it was used. */
  version?: string;
  state: EngineState;
}

export type MessageKind = 'event' | 'terminate' | 'suspend' | 'resume' | 'entity';

/** An entity as the store keeps it (the extension's SchedulerState: existence, state, lock). */
export interface EntityRow {
  /** The scheduler id, '@name@key' (name in lower case, as durable-functions and the extension form it). */
  instanceId: string;
  name: string;
  key: string;
  exists: boolean;
  /** The state's JSON text. */
  state: string | null;
  /** The orchestration holding the entity's lock, and the id of its lock request. */
  lockedBy: string | null;
  lockRequest: string | null;
  updatedAt: number;
}

interface RawEntity {
  instance_id: string;
  name: string;
  entity_key: string;
  state_exists: number;
  state: string | null;
  locked_by: string | null;
  lock_request: string | null;
  updated_at: number;
}

const toEntity = (r: RawEntity): EntityRow => ({
  instanceId: r.instance_id,
  name: r.name,
  key: r.entity_key,
  exists: r.state_exists === 1,
  state: r.state,
  lockedBy: r.locked_by,
  lockRequest: r.lock_request,
  updatedAt: r.updated_at,
});

export interface MessageRow {
  id: number;
  instanceId: string;
  executionId: string | null;
  kind: MessageKind;
  payload: HistoryEvent | { reason?: string } | EntityMessage;
  visibleAt: number;
}

/** A message to an entity: an operation or lock request ('op'), or a lock release ('release'), as the extension names them. */
export interface EntityMessage {
  name: 'op' | 'release';
  /** The extension's RequestMessage / ReleaseMessage. */
  input: EntityRequest;
}

export interface EntityRequest {
  id: string;
  op?: string;
  signal?: boolean;
  /** The operation's input as JSON text. */
  input?: string;
  parent?: string;
  parentExecution?: string;
  /** A lock request: the entities to lock, in order, and the position of the one it is at. */
  lockset?: { name: string; key: string }[];
  pos?: number;
}

export interface WorkItem {
  id: number;
  instanceId: string;
  executionId: string;
  taskId: number;
  name: string;
  /** The input, when the item carries it; else it is the Input of the history event at historySeq. */
  input: string | null;
  historySeq: number | null;
}

interface RawInstance {
  instance_id: string;
  name: string;
  execution_id: string;
  status: RuntimeStatus;
  input: string | null;
  output: string | null;
  custom_status: string | null;
  created_at: number;
  updated_at: number;
  parent: string | null;
  version: string | null;
  state: string;
}

function toInstance(r: RawInstance): InstanceRow {
  return {
    instanceId: r.instance_id,
    name: r.name,
    executionId: r.execution_id,
    status: r.status,
    input: r.input,
    output: r.output,
    customStatus: r.custom_status,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    ...(r.parent ? { parent: JSON.parse(r.parent) as ParentRef } : {}),
    ...(r.version !== null ? { version: r.version } : {}),
    state: JSON.parse(r.state) as EngineState,
  };
}

/**
 * A running instance as its last committed episode left it: the row, and the history with every
 * event marked played — as the next episode hands it to the orchestrator — also as JSON text.
 */
export interface CachedInstance {
  instance: InstanceRow;
  history: HistoryEvent[];
  /** The events' JSON, comma-separated (the inside of the history array). */
  historyJson: string;
}

/** Running instances kept in memory, least recently used first, within a count and a size. */
class InstanceCache {
  readonly #entries = new Map<string, CachedInstance>();
  #chars = 0;

  get(instanceId: string): CachedInstance | undefined {
    return this.#entries.get(instanceId);
  }

  /** The entry, now the most recently used. */
  touch(instanceId: string): CachedInstance | undefined {
    const entry = this.#entries.get(instanceId);
    if (entry) {
      this.#entries.delete(instanceId);
      this.#entries.set(instanceId, entry);
    }
    return entry;
  }

  set(instanceId: string, entry: CachedInstance): void {
    this.drop(instanceId);
    this.#entries.set(instanceId, entry);
    this.#chars += entry.historyJson.length;
    while (this.#entries.size > CACHED_INSTANCES || (this.#chars > CACHED_HISTORY_CHARS && this.#entries.size > 1)) this.drop(this.#entries.keys().next().value!);
  }

  drop(instanceId: string): void {
    const entry = this.#entries.get(instanceId);
    if (!entry) return;
    this.#entries.delete(instanceId);
    this.#chars -= entry.historyJson.length;
  }
}

const played = (e: HistoryEvent): HistoryEvent => (e.IsPlayed ? e : { ...e, IsPlayed: true });

/**
 * The JSON of an event as played, from its JSON as recorded: events are built with IsPlayed as
 * their third key, after two numbers (history.ts event()), so its first occurrence is that key.
 */
export function playedJson(recorded: string, e: HistoryEvent): string {
  const at = recorded.indexOf('"IsPlayed":false');
  return at > 0 && at < 48 ? `${recorded.slice(0, at)}"IsPlayed":true${recorded.slice(at + 16)}` : JSON.stringify(played(e));
}

export interface InstanceQuery {
  runtimeStatus?: RuntimeStatus[];
  createdTimeFrom?: number;
  createdTimeTo?: number;
  /** Instance ids starting with this prefix. */
  prefix?: string;
  top?: number;
  /** Offset continuation. */
  skip?: number;
}

export class DurableStore {
  readonly #s;
  readonly #cache = new InstanceCache();
  #added: { instanceId: string; visibleAt: number }[] = [];

  /**
   * `usage` hears of the task hub traffic the Azure Storage backend would carry: a control-queue
   * message per new history event delivered to an instance, a work-item message per activity, a
   * history table write per episode.
   */
  constructor(
    readonly db: Db,
    private readonly usage?: UsageMeter,
  ) {
    migrate(db, 'durable', DURABLE_SCHEMA);
    this.#s = {
      getInstance: db.prepare('SELECT * FROM df_instances WHERE instance_id = ?'),
      putInstance: db.prepare(
        `INSERT INTO df_instances (instance_id, name, execution_id, status, input, output, custom_status, created_at, updated_at, parent, version, state)
         VALUES (@instanceId, @name, @executionId, @status, @input, @output, @customStatus, @createdAt, @updatedAt, @parent, @version, @state)
         ON CONFLICT(instance_id) DO UPDATE SET name = excluded.name, execution_id = excluded.execution_id, status = excluded.status,
           input = excluded.input, output = excluded.output, custom_status = excluded.custom_status, created_at = excluded.created_at,
           updated_at = excluded.updated_at, parent = excluded.parent, version = excluded.version, state = excluded.state`,
      ),
      // An episode changes these; leaving status out of the SET list leaves its index alone.
      updateProgress: db.prepare('UPDATE df_instances SET output = @output, custom_status = @customStatus, updated_at = @updatedAt, state = @state WHERE instance_id = @instanceId'),
      updateStatus: db.prepare('UPDATE df_instances SET status = @status, output = @output, custom_status = @customStatus, updated_at = @updatedAt, state = @state WHERE instance_id = @instanceId'),
      deleteInstance: db.prepare('DELETE FROM df_instances WHERE instance_id = ?'),
      history: db.prepare('SELECT event FROM df_history WHERE instance_id = ? ORDER BY seq').pluck(),
      historyCount: db.prepare('SELECT COUNT(*) FROM df_history WHERE instance_id = ?').pluck(),
      clearHistory: db.prepare('DELETE FROM df_history WHERE instance_id = ?'),
      addMessage: db.prepare('INSERT INTO df_messages (instance_id, execution_id, kind, payload, visible_at) VALUES (?, ?, ?, ?, ?)'),
      firstMessage: db.prepare('SELECT * FROM df_messages WHERE instance_id = ? AND visible_at <= ? ORDER BY id LIMIT 1'),
      firstControl: db.prepare("SELECT * FROM df_messages WHERE instance_id = ? AND visible_at <= ? AND kind IN ('terminate', 'resume') ORDER BY id LIMIT 1"),
      deleteMessage: db.prepare('DELETE FROM df_messages WHERE id = ?'),
      deferMessages: db.prepare("UPDATE df_messages SET visible_at = ? WHERE instance_id = ? AND kind = 'event' AND visible_at <= ?"),
      deleteMessages: db.prepare('DELETE FROM df_messages WHERE instance_id = ?'),
      deleteExecutionMessages: db.prepare("DELETE FROM df_messages WHERE instance_id = ? AND kind NOT IN ('terminate', 'suspend', 'resume')"),
      deleteTimerMessage: db.prepare("DELETE FROM df_messages WHERE instance_id = ? AND execution_id = ? AND kind = 'event' AND json_extract(payload, '$.TimerId') = ?"),
      // A suspended instance only takes terminate and resume until it is resumed.
      readyInstances: db
        .prepare(
          `SELECT m.instance_id FROM df_messages m LEFT JOIN df_instances i ON i.instance_id = m.instance_id
           WHERE m.visible_at <= ? AND (i.status IS NULL OR i.status <> 'Suspended' OR m.kind IN ('terminate', 'resume'))
           GROUP BY m.instance_id ORDER BY MIN(m.id) LIMIT ?`,
        )
        .pluck(),
      nextVisible: db.prepare('SELECT MIN(visible_at) FROM df_messages WHERE visible_at > ?').pluck(),
      addWork: db.prepare('INSERT INTO df_work (instance_id, execution_id, task_id, name, input, history_seq, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      work: db.prepare('SELECT id, instance_id, execution_id, task_id, name, input, history_seq FROM df_work ORDER BY id LIMIT ?'),
      historyEvent: db.prepare('SELECT event FROM df_history WHERE instance_id = ? AND seq = ?').pluck(),
      // Before a history goes (continue-as-new), the items pointing into it take their inputs along.
      keepWorkInputs: db.prepare(
        `UPDATE df_work SET input = (SELECT json_extract(h.event, '$.Input') FROM df_history h WHERE h.instance_id = df_work.instance_id AND h.seq = df_work.history_seq),
           history_seq = NULL WHERE instance_id = ? AND history_seq IS NOT NULL`,
      ),
      deleteWork: db.prepare('DELETE FROM df_work WHERE id = ?'),
      getEntity: db.prepare('SELECT * FROM df_entities WHERE instance_id = ?'),
      putEntity: db.prepare(
        `INSERT OR REPLACE INTO df_entities (instance_id, name, entity_key, state_exists, state, locked_by, lock_request, updated_at)
         VALUES (@instanceId, @name, @key, @exists, @state, @lockedBy, @lockRequest, @updatedAt)`,
      ),
      deleteEntity: db.prepare('DELETE FROM df_entities WHERE instance_id = ?'),
      entityMessages: db.prepare("SELECT * FROM df_messages WHERE instance_id = ? AND visible_at <= ? AND kind = 'entity' ORDER BY id LIMIT ?"),
      listEntities: db.prepare('SELECT * FROM df_entities WHERE name = ? AND state_exists = 1 AND instance_id > ? ORDER BY instance_id LIMIT ?'),
      deleteWorkOf: db.prepare('DELETE FROM df_work WHERE instance_id = ?'),
    };
  }

  newExecutionId(): string {
    return randomUUID().replaceAll('-', '');
  }

  /** The instance's row (the cached copy when it has one: the caller must not change it). */
  getInstance(instanceId: string): InstanceRow | undefined {
    const cached = this.#cache.get(instanceId);
    if (cached) return cached.instance;
    const r = this.#s.getInstance.get(instanceId) as RawInstance | undefined;
    return r ? toInstance(r) : undefined;
  }

  /** The instance with its history as the orchestrator is handed it: from memory, else read (and kept). */
  loadInstance(instanceId: string): CachedInstance | undefined {
    const cached = this.#cache.touch(instanceId);
    if (cached) return cached;
    const instance = this.getInstance(instanceId);
    if (!instance) return undefined;
    const history = this.history(instanceId).map(played);
    const entry = { instance, history, historyJson: history.map((e) => JSON.stringify(e)).join(',') };
    // Inside a transaction this may be what it wrote and has not committed yet: not kept.
    return this.db.inTransaction ? entry : this.remember(entry.instance, entry.history, entry.historyJson);
  }

  /**
   * Keeps an instance in memory as committed: call it only once the transaction that wrote this
   * row and history has committed (GroupCommit.afterCommit), never inside it. Finished instances
   * are not kept.
   */
  remember(instance: InstanceRow, history: HistoryEvent[], historyJson: string): CachedInstance {
    const entry = { instance, history, historyJson };
    if (TERMINAL.has(instance.status)) this.#cache.drop(instance.instanceId);
    else this.#cache.set(instance.instanceId, entry);
    return entry;
  }

  /** Appends played events (with their JSON as recorded, when known) to a cached history: the new history's parts, for remember. */
  static extend(entry: CachedInstance | undefined, events: HistoryEvent[], texts?: string[]): { history: HistoryEvent[]; historyJson: string } {
    const added = events.map(played);
    const json = (texts ? events.map((e, i) => playedJson(texts[i]!, e)) : added.map((e) => JSON.stringify(e))).join(',');
    if (!entry?.history.length) return { history: added, historyJson: json };
    return { history: [...entry.history, ...added], historyJson: json ? `${entry.historyJson},${json}` : entry.historyJson };
  }

  /**
   * Writes an instance. Given the row as it is now (`previous`), only what an episode changes is
   * written when nothing else has changed.
   */
  putInstance(i: InstanceRow, previous?: InstanceRow): void {
    this.#cache.drop(i.instanceId);
    if (
      previous &&
      previous.instanceId === i.instanceId &&
      previous.executionId === i.executionId &&
      previous.name === i.name &&
      previous.input === i.input &&
      previous.createdAt === i.createdAt &&
      previous.parent === i.parent &&
      previous.version === i.version
    ) {
      const changes = { instanceId: i.instanceId, status: i.status, output: i.output, customStatus: i.customStatus, updatedAt: i.updatedAt, state: JSON.stringify(i.state) };
      if (previous.status === i.status) {
        const { status: _unchanged, ...progress } = changes;
        this.#s.updateProgress.run(progress);
      } else {
        this.#s.updateStatus.run(changes);
      }
      return;
    }
    this.#s.putInstance.run({
      instanceId: i.instanceId,
      name: i.name,
      executionId: i.executionId,
      status: i.status,
      input: i.input,
      output: i.output,
      customStatus: i.customStatus,
      createdAt: i.createdAt,
      updatedAt: i.updatedAt,
      parent: i.parent ? JSON.stringify(i.parent) : null,
      version: i.version ?? null,
      state: JSON.stringify(i.state),
    });
  }

  history(instanceId: string): HistoryEvent[] {
    return (this.#s.history.all(instanceId) as string[]).map((e) => JSON.parse(e) as HistoryEvent);
  }

  historyLength(instanceId: string): number {
    return this.#cache.get(instanceId)?.history.length ?? (this.#s.historyCount.get(instanceId) as number);
  }

  /** Appends events at `from` (their JSON given when the caller has it already). */
  appendHistory(instanceId: string, from: number, events: HistoryEvent[], texts = events.map((e) => JSON.stringify(e))): void {
    this.#cache.drop(instanceId);
    // An episode's events in as few statements as possible: one for up to eight.
    for (let i = 0; i < texts.length; i += 8) {
      const chunk = texts.slice(i, i + 8);
      const params: (string | number)[] = [];
      chunk.forEach((text, j) => params.push(instanceId, from + i + j, text));
      this.#appendRows(chunk.length).run(params);
    }
    this.usage?.call(
      'durable',
      'history',
      'write',
      texts.map((t) => Buffer.byteLength(t)),
    );
  }

  readonly #appendStatements: ReturnType<Db['prepare']>[] = [];

  #appendRows(n: number): ReturnType<Db['prepare']> {
    return (this.#appendStatements[n] ??= this.db.prepare(`INSERT INTO df_history (instance_id, seq, event) VALUES ${Array.from({ length: n }, () => '(?, ?, ?)').join(', ')}`));
  }

  clearHistory(instanceId: string): void {
    this.#cache.drop(instanceId);
    this.#s.keepWorkInputs.run(instanceId);
    this.#s.clearHistory.run(instanceId);
  }

  addMessage(instanceId: string, executionId: string | null, kind: MessageKind, payload: unknown, visibleAt: number): void {
    const text = JSON.stringify(payload);
    this.#s.addMessage.run(instanceId, executionId, kind, text, visibleAt);
    this.#added.push({ instanceId, visibleAt });
    this.usage?.call('durable', 'control-queue', 'message', [Buffer.byteLength(text)]);
  }

  /**
   * The instances given a message since the last call, with when it becomes visible: news for the
   * dispatcher, which reads them only between transactions (a message of a rolled-back one is
   * simply not found).
   */
  takeAdded(): { instanceId: string; visibleAt: number }[] {
    const added = this.#added;
    this.#added = [];
    return added;
  }

  /** The next message of an instance that is visible now (control operations only, when suspended). */
  nextMessage(instanceId: string, now: number, controlOnly = false): MessageRow | undefined {
    const r = (controlOnly ? this.#s.firstControl : this.#s.firstMessage).get(instanceId, now) as
      { id: number; instance_id: string; execution_id: string | null; kind: MessageKind; payload: string; visible_at: number } | undefined;
    return r ? { id: r.id, instanceId: r.instance_id, executionId: r.execution_id, kind: r.kind, payload: JSON.parse(r.payload) as MessageRow['payload'], visibleAt: r.visible_at } : undefined;
  }

  deleteMessage(id: number): void {
    this.#s.deleteMessage.run(id);
  }

  /** Hides the instance's visible event messages until `until` (a rejected work item, retried later). */
  deferMessages(instanceId: string, now: number, until: number): void {
    this.#s.deferMessages.run(until, instanceId, now);
  }

  deleteMessages(instanceId: string): void {
    this.#s.deleteMessages.run(instanceId);
  }

  /** What an execution leaves when it continues as new: its events go, requests to the instance (terminate, suspend, resume) stay for the next. */
  deleteExecutionMessages(instanceId: string): void {
    this.#s.deleteExecutionMessages.run(instanceId);
  }

  cancelTimer(instanceId: string, executionId: string, timerId: number): void {
    this.#s.deleteTimerMessage.run(instanceId, executionId, timerId);
  }

  readyInstances(now: number, max: number): string[] {
    return this.#s.readyInstances.all(now, max) as string[];
  }

  /** When the next message that is not yet visible (a timer) becomes visible. */
  nextVisibleAt(now: number): number | undefined {
    return (this.#s.nextVisible.get(now) as number | null) ?? undefined;
  }

  /** A work item; given `historySeq`, the TaskScheduled event there holds its input and the item only points at it. */
  addWork(instanceId: string, executionId: string, taskId: number, name: string, input: string, now: number, historySeq?: number): void {
    this.#s.addWork.run(instanceId, executionId, taskId, name, historySeq === undefined ? input : null, historySeq ?? null, now);
    // In Azure Storage the work-item message carries the input.
    this.usage?.call('durable', 'workitem-queue', 'message', [Buffer.byteLength(input)]);
  }

  work(max: number): WorkItem[] {
    return (this.#s.work.all(max) as { id: number; instance_id: string; execution_id: string; task_id: number; name: string; input: string | null; history_seq: number | null }[]).map((r) => ({
      id: r.id,
      instanceId: r.instance_id,
      executionId: r.execution_id,
      taskId: r.task_id,
      name: r.name,
      input: r.input,
      historySeq: r.history_seq,
    }));
  }

  /** A work item's input: its own, else the Input of the TaskScheduled event it points at (from memory when the instance is there). */
  workInput(item: WorkItem): string {
    if (item.input !== null) return item.input;
    const seq = item.historySeq;
    const cached = seq === null ? undefined : this.#cache.get(item.instanceId)?.history[seq];
    const scheduled = cached ?? (seq === null ? undefined : (this.#s.historyEvent.get(item.instanceId, seq) as string | undefined));
    const e = typeof scheduled === 'string' ? (JSON.parse(scheduled) as HistoryEvent) : scheduled;
    if (e?.EventType !== EventType.TaskScheduled || e.EventId !== item.taskId || e.Input === undefined)
      throw new Error(`The input of activity '${item.name}' (task ${item.taskId} of '${item.instanceId}') is no longer in its history.`);
    return e.Input;
  }

  deleteWork(id: number): void {
    this.#s.deleteWork.run(id);
  }

  deleteInstance(instanceId: string): void {
    this.#cache.drop(instanceId);
    this.#s.deleteInstance.run(instanceId);
    this.#s.clearHistory.run(instanceId);
    this.#s.deleteMessages.run(instanceId);
    this.#s.deleteWorkOf.run(instanceId);
  }

  getEntity(instanceId: string): EntityRow | undefined {
    const r = this.#s.getEntity.get(instanceId) as RawEntity | undefined;
    return r ? toEntity(r) : undefined;
  }

  /** Keeps an entity that has state or a lock; forgets one that has neither (as the extension deletes an empty scheduler state). */
  putEntity(e: EntityRow): void {
    if (!e.exists && !e.lockedBy) this.#s.deleteEntity.run(e.instanceId);
    else this.#s.putEntity.run({ ...e, exists: e.exists ? 1 : 0 });
  }

  /** The entity's visible messages, oldest first. */
  entityMessages(instanceId: string, now: number, max: number): { id: number; message: EntityMessage }[] {
    return (this.#s.entityMessages.all(instanceId, now, max) as { id: number; payload: string }[]).map((r) => ({ id: r.id, message: JSON.parse(r.payload) as EntityMessage }));
  }

  /** Entities of one name that exist, in id order, after the given id. */
  listEntities(name: string, after: string, max: number): EntityRow[] {
    return (this.#s.listEntities.all(name, after, max) as RawEntity[]).map(toEntity);
  }

  query(q: InstanceQuery): InstanceRow[] {
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.runtimeStatus?.length) {
      where.push(`status IN (${q.runtimeStatus.map(() => '?').join(', ')})`);
      params.push(...q.runtimeStatus);
    }
    if (q.createdTimeFrom !== undefined) {
      where.push('created_at >= ?');
      params.push(q.createdTimeFrom);
    }
    if (q.createdTimeTo !== undefined) {
      where.push('created_at <= ?');
      params.push(q.createdTimeTo);
    }
    if (q.prefix) {
      where.push('instance_id >= ? AND instance_id < ?');
      params.push(q.prefix, `${q.prefix}\uffff`);
    }
    const sql = `SELECT * FROM df_instances ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, instance_id LIMIT ? OFFSET ?`;
    return (this.db.prepare(sql).all(...params, q.top ?? 1000, q.skip ?? 0) as RawInstance[]).map(toInstance);
  }
}
