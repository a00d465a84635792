// The embedded Event Hubs: per hub, partitions of append-only logs in SQLite with Event Hubs'
// numbering (sequence numbers from 0 per partition, byte offsets), partition assignment by
// partition key (the service's hash), by explicit partition id, or round-robin; retention; and
// checkpoints per consumer group and partition, as the Functions extension keeps them in blob
// storage. Appends go through GroupCommit, so a publish resolves once it is on disk.
import type { UsageMeter } from '../usage';
import type { HubDefinition } from '@backbone/azure-model/eventhubs';
import type { Clock } from '../clock';
import { migrate, type Db, type GroupCommit } from '../sqlite';
import { partitionForKey } from './partition-key-hash';

const SCHEMA = [
  `CREATE TABLE eh_events (
     hub TEXT NOT NULL, partition INTEGER NOT NULL, seq INTEGER NOT NULL, offset INTEGER NOT NULL,
     enqueued_at INTEGER NOT NULL, partition_key TEXT, body BLOB NOT NULL, properties TEXT,
     content_type TEXT, correlation_id TEXT, message_id TEXT,
     PRIMARY KEY (hub, partition, seq)) WITHOUT ROWID;
   CREATE INDEX eh_events_time ON eh_events(hub, enqueued_at);
   CREATE TABLE eh_checkpoints (
     hub TEXT NOT NULL, consumer_group TEXT NOT NULL, partition INTEGER NOT NULL, seq INTEGER NOT NULL, offset INTEGER NOT NULL, updated_at INTEGER NOT NULL,
     PRIMARY KEY (hub, consumer_group, partition)) WITHOUT ROWID;`,
  // Where each partition's numbering stands once retention has taken every event of it: sequence
  // numbers and offsets never go back (a reader holding a position must not wait forever).
  `CREATE TABLE eh_marks (
     hub TEXT NOT NULL, partition INTEGER NOT NULL, seq INTEGER NOT NULL, offset INTEGER NOT NULL, size INTEGER NOT NULL,
     PRIMARY KEY (hub, partition)) WITHOUT ROWID;`,
];

/** Event Hubs' limit for one event (Standard tier), body and properties together. */
export const MAX_EVENT_BYTES = 1024 * 1024;

export interface EventToPublish {
  body: Buffer;
  properties?: Record<string, string | number | boolean>;
  contentType?: string;
  correlationId?: string;
  messageId?: string;
}

export interface PublishOptions {
  partitionKey?: string;
  partitionId?: string;
}

export interface HubEvent {
  partition: number;
  sequenceNumber: number;
  offset: number;
  enqueuedTime: Date;
  partitionKey?: string;
  body: Buffer;
  properties: Record<string, string | number | boolean>;
  contentType?: string;
  correlationId?: string;
  messageId?: string;
}

interface Row {
  partition: number;
  seq: number;
  offset: number;
  enqueued_at: number;
  partition_key: string | null;
  body: Buffer;
  properties: string | null;
  content_type: string | null;
  correlation_id: string | null;
  message_id: string | null;
}

export class EventHubError extends Error {
  override name = 'EventHubError';
  constructor(
    readonly code: 'MessagingEntityNotFound' | 'ArgumentError' | 'MessageTooLarge',
    message: string,
  ) {
    super(message);
  }
}

export class EmbeddedEventHubs {
  readonly #hubs = new Map<string, HubDefinition>();
  readonly #roundRobin = new Map<string, number>();
  readonly #listeners = new Map<string, Set<() => void>>();
  readonly #stmt;

  constructor(
    hubs: HubDefinition[],
    db: Db,
    private readonly commit: GroupCommit,
    private readonly clock: Clock,
    private readonly usage?: UsageMeter,
  ) {
    migrate(db, 'eventhubs', SCHEMA);
    for (const h of hubs) this.#hubs.set(h.name, h);
    this.#stmt = {
      last: db.prepare(
        `SELECT seq, offset, size FROM (
           SELECT seq, offset, length(body) AS size FROM eh_events WHERE hub = @hub AND partition = @partition
           UNION ALL SELECT seq, offset, size FROM eh_marks WHERE hub = @hub AND partition = @partition)
         ORDER BY seq DESC LIMIT 1`,
      ),
      insert: db.prepare(
        `INSERT INTO eh_events (hub, partition, seq, offset, enqueued_at, partition_key, body, properties, content_type, correlation_id, message_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      read: db.prepare('SELECT * FROM eh_events WHERE hub = ? AND partition = ? AND seq > ? ORDER BY seq LIMIT ?'),
      firstAfterTime: db.prepare('SELECT MIN(seq) FROM eh_events WHERE hub = ? AND partition = ? AND enqueued_at > ?').pluck(),
      getCheckpoint: db.prepare('SELECT seq, offset FROM eh_checkpoints WHERE hub = ? AND consumer_group = ? AND partition = ?'),
      putCheckpoint: db.prepare(
        `INSERT INTO eh_checkpoints (hub, consumer_group, partition, seq, offset, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(hub, consumer_group, partition) DO UPDATE SET seq = excluded.seq, offset = excluded.offset, updated_at = excluded.updated_at`,
      ),
      // Each partition's newest event, before retention may take it: the numbering continues from it.
      mark: db.prepare(
        `INSERT OR REPLACE INTO eh_marks (hub, partition, seq, offset, size)
         SELECT hub, partition, seq, offset, length(body) FROM eh_events e
         WHERE hub = ? AND enqueued_at < ? AND seq = (SELECT MAX(seq) FROM eh_events WHERE hub = e.hub AND partition = e.partition)`,
      ),
      sweep: db.prepare('DELETE FROM eh_events WHERE hub = ? AND enqueued_at < ?'),
    };
  }

  /** An event hub, created with this definition if there is none of that name. */
  add(definition: HubDefinition): void {
    if (!this.#hubs.has(definition.name)) this.#hubs.set(definition.name, definition);
  }

  hub(name: string): HubDefinition {
    const hub = this.#hubs.get(name);
    if (!hub) throw new EventHubError('MessagingEntityNotFound', `The messaging entity '${name}' could not be found (config/eventhubs.yaml).`);
    return hub;
  }

  get hubs(): HubDefinition[] {
    return [...this.#hubs.values()];
  }

  hasConsumerGroup(hub: string, group: string): boolean {
    return group === '$Default' || this.hub(hub).consumerGroups.includes(group);
  }

  #partition(hub: HubDefinition, options: PublishOptions): number {
    if (options.partitionKey !== undefined && options.partitionId !== undefined) throw new EventHubError('ArgumentError', 'partitionKey and partitionId cannot both be set');
    if (options.partitionId !== undefined) {
      const p = Number(options.partitionId);
      if (!/^\d+$/.test(options.partitionId) || p >= hub.partitionCount) throw new EventHubError('ArgumentError', `Partition '${options.partitionId}' does not exist on ${hub.name}`);
      return p;
    }
    if (options.partitionKey !== undefined) return partitionForKey(options.partitionKey, hub.partitionCount);
    const next = ((this.#roundRobin.get(hub.name) ?? -1) + 1) % hub.partitionCount;
    this.#roundRobin.set(hub.name, next);
    return next;
  }

  /** Appends events to one partition (as one batch). Resolves once they are durable. */
  async publish(hubName: string, events: EventToPublish[], options: PublishOptions = {}): Promise<HubEvent[]> {
    const hub = this.hub(hubName);
    if (events.length === 0) return [];
    const sizes = events.map((e) => e.body.length + Buffer.byteLength(JSON.stringify(e.properties ?? {})));
    sizes.forEach((size) => {
      if (size > MAX_EVENT_BYTES) throw new EventHubError('MessageTooLarge', `An event of ${size} bytes is over the ${MAX_EVENT_BYTES}-byte limit`);
    });
    // Event Hubs bills ingress per event (each 64 KB).
    this.usage?.call('eventHubs', hub.name, 'publish', sizes);
    const partition = this.#partition(hub, options);
    const stored = await this.commit.run(() => {
      // Processors hear of the events once they are committed.
      this.commit.afterCommit(() => {
        for (const wake of this.#listeners.get(hub.name) ?? []) wake();
      });
      const now = this.clock.now();
      const last = this.#stmt.last.get({ hub: hub.name, partition }) as { seq: number; offset: number; size: number } | undefined;
      let seq = last ? last.seq : -1;
      let offset = last ? last.offset + last.size : 0;
      return events.map((e) => {
        seq++;
        const row = {
          partition,
          sequenceNumber: seq,
          offset,
          enqueuedTime: new Date(now),
          body: e.body,
          properties: e.properties ?? {},
          ...(options.partitionKey !== undefined ? { partitionKey: options.partitionKey } : {}),
        };
        this.#stmt.insert.run(
          hub.name,
          partition,
          seq,
          offset,
          now,
          options.partitionKey ?? null,
          e.body,
          JSON.stringify(e.properties ?? {}),
          e.contentType ?? null,
          e.correlationId ?? null,
          e.messageId ?? null,
        );
        offset += e.body.length;
        return {
          ...row,
          ...(e.contentType ? { contentType: e.contentType } : {}),
          ...(e.correlationId ? { correlationId: e.correlationId } : {}),
          ...(e.messageId ? { messageId: e.messageId } : {}),
        } as HubEvent;
      });
    });
    return stored;
  }

  /** Events of a partition after a sequence number (-1: from the start), oldest first. */
  read(hubName: string, partition: number, afterSequence: number, max: number): HubEvent[] {
    const hub = this.hub(hubName);
    const rows = this.#stmt.read.all(hub.name, partition, afterSequence, max) as Row[];
    return rows.map((r) => ({
      partition: r.partition,
      sequenceNumber: r.seq,
      offset: r.offset,
      enqueuedTime: new Date(r.enqueued_at),
      ...(r.partition_key !== null ? { partitionKey: r.partition_key } : {}),
      body: r.body,
      properties: r.properties ? (JSON.parse(r.properties) as HubEvent['properties']) : {},
      ...(r.content_type ? { contentType: r.content_type } : {}),
      ...(r.correlation_id ? { correlationId: r.correlation_id } : {}),
      ...(r.message_id ? { messageId: r.message_id } : {}),
    }));
  }

  /** The sequence number to read after for an initial position: fromStart, fromEnd or fromEnqueuedTime. */
  startPosition(hubName: string, partition: number, position: { type: 'fromStart' | 'fromEnd' | 'fromEnqueuedTime'; enqueuedTimeUtc?: number }): number {
    const hub = this.hub(hubName);
    if (position.type === 'fromStart') return -1;
    const last = this.#stmt.last.get({ hub: hub.name, partition }) as { seq: number } | undefined;
    if (position.type === 'fromEnd') return last?.seq ?? -1;
    const first = this.#stmt.firstAfterTime.get(hub.name, partition, position.enqueuedTimeUtc ?? 0) as number | null;
    return first === null ? (last?.seq ?? -1) : first - 1;
  }

  checkpoint(hubName: string, group: string, partition: number): { sequenceNumber: number; offset: number } | undefined {
    const row = this.#stmt.getCheckpoint.get(hubName, group, partition) as { seq: number; offset: number } | undefined;
    return row ? { sequenceNumber: row.seq, offset: row.offset } : undefined;
  }

  async updateCheckpoint(hubName: string, group: string, partition: number, event: { sequenceNumber: number; offset: number }): Promise<void> {
    await this.commit.run(() => this.#stmt.putCheckpoint.run(hubName, group, partition, event.sequenceNumber, event.offset, this.clock.now()));
  }

  onPublish(hub: string, listener: () => void): () => void {
    let set = this.#listeners.get(hub);
    if (!set) this.#listeners.set(hub, (set = new Set()));
    set.add(listener);
    return () => set!.delete(listener);
  }

  /** Drops events past each hub's retention. */
  sweep(): void {
    const now = this.clock.now();
    for (const h of this.#hubs.values()) {
      const before = now - h.messageRetentionInDays * 86_400_000;
      this.#stmt.mark.run(h.name, before);
      this.#stmt.sweep.run(h.name, before);
    }
  }
}
