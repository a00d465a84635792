// The embedded Service Bus: queues, topics with filtered subscriptions, peek-lock, sessions,
// dead-lettering, TTL, scheduling, deferral and duplicate detection, persisted in SQLite.
// Every state change goes through GroupCommit, so a send resolves only once it is on disk and
// a message is handed to a receiver only once its lock (and delivery count) is on disk — a
// message that crashes the process still reaches the dead-letter queue after maxDeliveryCount.
//
// Delivery counts follow the AMQP wire and @azure/service-bus: 0 on the first delivery,
// +1 on abandon, lock expiry and defer; the settlement that brings it to maxDeliveryCount moves
// the message to the dead-letter queue.
import { type UsageMeter } from '../usage';
import { randomUUID } from 'node:crypto';
import type { LocalServiceBus } from '@backbone/azure-model/local-runtime';
import type { Clock, Timer } from '../clock';
import { GroupCommit, migrate, type Db } from '../sqlite';
import { prepareStatements, SCHEMA, type BrokerStatements } from './statements';
import { decodeProps, encodeProps, STATE_CODE, toOutgoing, toReceived, type Row } from './rows';
import { DLQ_SUFFIX, EntityTable, subscriptionCopies, type EntityChange, type ReceivingEntity, type SendingEntity } from './entities';
import type { FilterMessage } from './sql-filter';
import {
  BrokerError,
  type EntityDescription,
  type EntityRuntimeProperties,
  type MessageState,
  type OutgoingMessage,
  type PropertyValue,
  type ReceivedMessage,
  type SessionLock,
} from '@backbone/azure-model/service-bus';

/** A message's size as Service Bus counts it, roughly: body and application properties. */
const messageBytes = (m: { body: Buffer; applicationProperties?: Record<string, unknown> }): number =>
  m.body.length + (m.applicationProperties ? Buffer.byteLength(JSON.stringify(m.applicationProperties)) : 0);

const MAX_ID_LENGTH = 128;
const MAX_HEADER_BYTES = 64 * 1024;
const MAX_DEAD_LETTER_TEXT = 4096;
const GENERIC_SUFFIX = '\u0000any';
const SESSION_KEY = '\u0000session\u0000';
const SESSION_TOUCH = '\u0001';
const sessionKey = (path: string, sessionId: string) => `${path}${SESSION_KEY}${sessionId}`;
const sessionTouch = (path: string, sessionId: string) => `${SESSION_TOUCH}${path}${SESSION_TOUCH}${sessionId}`;
const NEVER = Number.MAX_SAFE_INTEGER;

export interface ReceiveOptions {
  maxMessages?: number;
  /** How long to wait for a first message; 0 returns at once. */
  maxWaitMs?: number;
  signal?: AbortSignal;
}

export interface DeadLetterOptions {
  deadLetterReason?: string;
  deadLetterErrorDescription?: string;
  propertiesToModify?: Record<string, PropertyValue>;
}

export interface BrokerOptions {
  /** How often expired messages are swept from entities nobody is receiving from. */
  sweepIntervalMs?: number;
  /** Counts API calls (what Service Bus bills as operations). */
  usage?: UsageMeter;
}

function headerBytes(m: OutgoingMessage): number {
  let n = 0;
  for (const s of [m.messageId, m.contentType, m.correlationId, m.subject, m.to, m.replyTo, m.replyToSessionId, m.sessionId, m.partitionKey]) {
    if (s) n += Buffer.byteLength(s);
  }
  for (const [k, v] of Object.entries(m.applicationProperties ?? {})) {
    n += Buffer.byteLength(k) + (typeof v === 'string' ? Buffer.byteLength(v) : 8);
  }
  return n;
}

export class EmbeddedBroker implements LocalServiceBus {
  readonly entities: EntityTable;
  readonly #db: Db;
  readonly #clock: Clock;
  readonly #commit: GroupCommit;
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #versions = new Map<string, number>();
  #activationTimer?: Timer;
  #activationAt = NEVER;
  #sweepTimer?: NodeJS.Timeout;
  #closed = false;
  readonly #stmt: BrokerStatements;

  readonly #usage: UsageMeter | undefined;

  constructor(db: Db, entities: EntityTable, clock: Clock, commit: GroupCommit, options: BrokerOptions = {}) {
    this.#usage = options.usage;
    this.#db = db;
    this.#clock = clock;
    this.#commit = commit;
    this.entities = entities;
    migrate(db, 'broker', SCHEMA);
    this.#stmt = prepareStatements(db);
    for (const row of this.#stmt.entityChanges.all() as { change: string; at: number }[]) {
      this.entities.apply(JSON.parse(row.change) as EntityChange, row.at, true);
    }
    this.#recoverLocks();
    this.#armActivation();
    const sweepMs = options.sweepIntervalMs ?? 10_000;
    if (sweepMs > 0) {
      this.#sweepTimer = setInterval(() => void this.sweepExpired().catch(() => undefined), sweepMs);
      this.#sweepTimer.unref();
    }
  }

  // ------------------------------------------------------------------ sending

  /** Sends messages; resolves once they are durable. Duplicates (by messageId) are dropped silently. */
  async send(path: string, messages: OutgoingMessage[]): Promise<void> {
    await this.#sendInternal(path, messages);
  }

  #count(path: string, operation: string, sizes: readonly number[] = []): void {
    this.#usage?.call('serviceBus', path, operation, sizes);
    this.entities.touch(path, this.#clock.now());
  }

  /**
   * Creates, changes or deletes an entity (the administration API). The change is logged, and a
   * deleted entity's messages, sessions and duplicate history removed, in one transaction.
   */
  async changeEntity(change: EntityChange): Promise<void> {
    if (this.#closed) throw new BrokerError('GeneralError', 'The broker is closed');
    await this.#commit.run(() => {
      const at = this.#clock.now();
      this.#stmt.recordEntityChange.run(JSON.stringify(change), at);
      for (const path of this.entities.apply(change, at)) {
        for (const purge of [this.#stmt.purgeMessages, this.#stmt.purgeSessions, this.#stmt.purgeDuplicates, this.#stmt.purgeSequence]) purge.run(path);
        this.#notify(path);
      }
    });
  }

  /** Schedules messages for a later enqueue; returns their sequence numbers (valid until activation). */
  async schedule(path: string, messages: OutgoingMessage[], scheduledEnqueueTimeUtc: number): Promise<number[]> {
    return this.#sendInternal(
      path,
      messages.map((m) => ({ ...m, scheduledEnqueueTimeUtc })),
    );
  }

  async cancelScheduled(path: string, sequenceNumbers: number[]): Promise<void> {
    const entity = this.entities.sending(path);
    await this.#commit.run(() => {
      for (const seq of sequenceNumbers) {
        const id = this.#stmt.scheduledBySeq.get(entity.path, seq) as number | undefined;
        if (id !== undefined) this.#stmt.delete.run(id);
      }
    });
    this.#armActivation();
  }

  #validate(entity: SendingEntity, m: OutgoingMessage): void {
    const check = (name: string, v: string | undefined) => {
      if (v !== undefined && v.length > MAX_ID_LENGTH) {
        throw new BrokerError('InvalidOperation', `Length of '${name}' property on the message cannot be greater than 128 characters.`);
      }
    };
    check('messageId', m.messageId);
    check('sessionId', m.sessionId);
    check('partitionKey', m.partitionKey);
    if (!Buffer.isBuffer(m.body)) throw new BrokerError('InvalidOperation', 'The message body must be a Buffer');
    const header = headerBytes(m);
    if (header > MAX_HEADER_BYTES) {
      throw new BrokerError('MessageSizeExceeded', `The message properties are ${header} bytes; the limit is ${MAX_HEADER_BYTES}.`);
    }
    const size = header + m.body.length;
    if (size > entity.sender.maxMessageSizeBytes) {
      throw new BrokerError('MessageSizeExceeded', `The message is ${size} bytes; '${entity.path}' accepts at most ${entity.sender.maxMessageSizeBytes}.`);
    }
    if (entity.kind === 'queue' && entity.receiver.requiresSession && !m.sessionId) {
      throw new BrokerError(
        'InvalidOperation',
        'The SessionId was not set on a message, and it cannot be sent to the entity. Entities that have session support enabled can only receive messages that have the SessionId set to a valid value.',
      );
    }
  }

  async #sendInternal(path: string, messages: OutgoingMessage[]): Promise<number[]> {
    if (this.#closed) throw new BrokerError('GeneralError', 'The broker is closed');
    const entity = this.entities.sending(path);
    for (const m of messages) this.#validate(entity, m);
    this.#count(entity.path, messages.some((m) => m.scheduledEnqueueTimeUtc !== undefined) ? 'schedule' : 'send', messages.map(messageBytes));
    const touched = new Set<string>();
    const seqs = await this.#commit.run(() => {
      const now = this.#clock.now();
      const result: number[] = [];
      for (const m of messages) {
        const messageId = m.messageId ?? randomUUID().replaceAll('-', '');
        if (entity.sender.duplicateDetection) {
          const until = this.#stmt.dupGet.get(entity.path, messageId) as number | undefined;
          if (until !== undefined && until > now) {
            result.push(-1);
            continue;
          }
          this.#stmt.dupPut.run(entity.path, messageId, now + entity.sender.duplicateWindowMs);
        }
        const seq = this.#nextSeq(entity.path);
        result.push(seq);
        const message = { ...m, messageId };
        if (m.scheduledEnqueueTimeUtc !== undefined && m.scheduledEnqueueTimeUtc > now) {
          this.#insert(entity.path, message, seq, 'scheduled', now, undefined);
        } else {
          this.#enqueue(entity, message, seq, now, touched);
        }
      }
      return result;
    });
    this.#armActivation();
    this.#notifyTouched(touched);
    return seqs;
  }

  #nextSeq(entityPath: string): number {
    return this.#stmt.nextSeq.get(entityPath) as unknown as number;
  }

  /** Makes a message active in a queue, or fans it out to the subscriptions whose rules match. */
  #enqueue(entity: SendingEntity, m: OutgoingMessage & { messageId: string }, seq: number, now: number, touched: Set<string>) {
    if (entity.kind === 'queue') {
      this.#insert(entity.path, m, seq, 'active', now, entity.receiver.defaultTtlMs);
      touched.add(entity.receiver.requiresSession && m.sessionId ? sessionTouch(entity.path, m.sessionId) : entity.path);
      return;
    }
    const filterMessage = this.#filterView(m, seq, now);
    for (const sub of entity.subscriptions) {
      // Copies past the first (rules with actions) take sequence numbers of their own, so each stays unique in the subscription.
      subscriptionCopies(sub, m, filterMessage).forEach((copy, i) => {
        const copySeq = i === 0 ? seq : this.#nextSeq(entity.path);
        if (sub.receiver.requiresSession && !copy.sessionId) {
          this.#insert(sub.path, copy, copySeq, 'active', now, sub.receiver.defaultTtlMs, {
            reason: 'Session id is null.',
            description: "Session enabled entity doesn't allow a message whose session identifier is null.",
          });
        } else {
          this.#insert(sub.path, copy, copySeq, 'active', now, sub.receiver.defaultTtlMs);
        }
        touched.add(sub.receiver.requiresSession && copy.sessionId ? sessionTouch(sub.path, copy.sessionId) : sub.path);
      });
    }
  }

  #filterView(m: OutgoingMessage & { messageId: string }, seq: number, now: number): FilterMessage {
    return {
      system: {
        MessageId: m.messageId,
        CorrelationId: m.correlationId,
        To: m.to,
        ReplyTo: m.replyTo,
        Label: m.subject,
        SessionId: m.sessionId,
        ReplyToSessionId: m.replyToSessionId,
        ContentType: m.contentType,
        PartitionKey: m.partitionKey,
        DeliveryCount: 0,
        SequenceNumber: seq,
        EnqueuedTimeUtc: new Date(now),
        ScheduledEnqueueTimeUtc: m.scheduledEnqueueTimeUtc !== undefined ? new Date(m.scheduledEnqueueTimeUtc) : undefined,
        TimeToLive: m.timeToLiveMs,
        Size: m.body.length + headerBytes(m),
      },
      application: m.applicationProperties ?? {},
    };
  }

  #insert(
    entityPath: string,
    m: OutgoingMessage & { messageId: string },
    seq: number,
    state: MessageState,
    now: number,
    entityTtlMs: number | undefined,
    deadLetter?: { reason: string; description: string },
  ): void {
    const ttl = Math.min(m.timeToLiveMs ?? NEVER, entityTtlMs ?? NEVER);
    const props = { ...(m.applicationProperties ?? {}) };
    if (deadLetter) {
      props.DeadLetterReason = deadLetter.reason;
      props.DeadLetterErrorDescription = deadLetter.description;
    }
    this.#stmt.insert.run({
      entity: entityPath,
      dlq: deadLetter ? 1 : 0,
      seq,
      state: STATE_CODE[state],
      message_id: m.messageId,
      session_id: m.sessionId ?? null,
      partition_key: m.partitionKey ?? null,
      correlation_id: m.correlationId ?? null,
      content_type: m.contentType ?? null,
      subject: m.subject ?? null,
      to_addr: m.to ?? null,
      reply_to: m.replyTo ?? null,
      reply_to_session_id: m.replyToSessionId ?? null,
      app_props: encodeProps(props),
      body: m.body,
      size: m.body.length + headerBytes(m),
      ttl_ms: m.timeToLiveMs ?? null,
      enqueued_at: now,
      scheduled_at: state === 'scheduled' ? (m.scheduledEnqueueTimeUtc ?? null) : null,
      expires_at: state === 'scheduled' || ttl >= NEVER - now ? null : now + ttl,
      delivery_count: 0,
      dl_reason: deadLetter?.reason ?? null,
      dl_description: deadLetter?.description ?? null,
      dl_source: null,
    });
  }

  // ------------------------------------------------------------------ scheduling

  /** Activates scheduled messages that are due: a new sequence number, as Service Bus assigns. */
  async activateDue(): Promise<void> {
    const touched = new Set<string>();
    await this.#commit.run(() => {
      const now = this.#clock.now();
      for (const row of this.#stmt.dueScheduled.all(now) as Row[]) {
        const entity = this.entities.get(row.entity);
        this.#stmt.delete.run(row.id);
        if (!entity || entity.kind === 'subscription') continue;
        const m = { ...toOutgoing(row), scheduledEnqueueTimeUtc: row.scheduled_at ?? undefined };
        this.#enqueue(entity, m, this.#nextSeq(entity.path), now, touched);
      }
    });
    this.#notifyTouched(touched);
    this.#armActivation();
  }

  #armActivation(): void {
    if (this.#closed) return;
    const next = (this.#stmt.nextScheduled.get() as number | null) ?? NEVER;
    if (next === this.#activationAt) return;
    this.#activationTimer?.cancel();
    this.#activationAt = next;
    if (next === NEVER) return;
    this.#activationTimer = this.#clock.setTimer(next, () => {
      this.#activationAt = NEVER;
      void this.activateDue().catch(() => this.#armActivation());
    });
  }

  // ------------------------------------------------------------------ receiving

  /** Peek-lock receive; waits up to maxWaitMs for the first message. */
  async receive(path: string, options: ReceiveOptions = {}): Promise<ReceivedMessage[]> {
    const { entity, dlq } = this.entities.receiving(path);
    if (entity.receiver.requiresSession && !dlq) {
      throw new BrokerError('InvalidOperation', `'${path}' requires sessions; accept a session to receive from it.`);
    }
    const key = this.#waitKey(entity.path, dlq);
    const got = await this.#receiveLoop([key], entity.path, options, () => this.#lockNext(entity, dlq, options.maxMessages ?? 1));
    this.#countReceive(path, got);
    return got;
  }

  // An empty receive is a call too, but one an idle app makes: counted apart.
  #countReceive(path: string, got: ReceivedMessage[]): void {
    this.#count(path, got.length ? 'receive' : 'receive (empty)', got.map(messageBytes));
  }

  async #receiveLoop<T>(keys: string[], entityPath: string, options: ReceiveOptions, attempt: () => T[]): Promise<T[]> {
    const deadline = this.#clock.now() + (options.maxWaitMs ?? 0);
    for (;;) {
      if (this.#closed) return [];
      const version = this.#version(keys);
      const got = await this.#commit.run(attempt);
      if (got.length > 0 || options.signal?.aborted || this.#clock.now() >= deadline) return got;
      await this.#wait(keys, entityPath, version, deadline, options.signal);
      if (options.signal?.aborted) return [];
    }
  }

  #lockNext(entity: ReceivingEntity, dlq: boolean, max: number): ReceivedMessage[] {
    const now = this.#clock.now();
    const out: ReceivedMessage[] = [];
    let after = 0;
    // Locked rows are left out by the query, so nearly every row it returns is delivered: a page
    // one larger than what is asked for. (Pages of 16 had a receiver of one message read and
    // decode 16 rows, bodies included, under a backlog.)
    const page = max + 1;
    while (out.length < max) {
      const rows = this.#stmt.candidates.all(entity.path, dlq ? 1 : 0, now, after, page) as Row[];
      if (rows.length === 0) break;
      for (const row of rows) {
        after = row.seq;
        if (out.length >= max) break;
        if (!this.#settleExpiredLock(entity, row)) continue;
        if (!dlq && this.#expireIfDue(entity, row, now)) continue;
        out.push(this.#lockRow(row, entity, dlq, null, now + entity.receiver.lockDurationMs));
      }
      if (rows.length < page) break;
    }
    return out;
  }

  /**
   * A message whose lock ran out counts as one more delivery; if that reaches maxDeliveryCount it
   * goes to the dead-letter queue. Returns whether the row is still deliverable.
   */
  #settleExpiredLock(entity: ReceivingEntity, row: Row): boolean {
    if (row.lock_token === null) return true;
    row.delivery_count += 1;
    row.lock_token = null;
    if (row.dlq === 0 && row.delivery_count >= entity.receiver.maxDeliveryCount) {
      this.#moveToDlq(row, 'MaxDeliveryCountExceeded', `Message could not be consumed after ${entity.receiver.maxDeliveryCount} delivery attempts.`);
      return false;
    }
    this.#stmt.release.run(row.delivery_count, row.app_props, row.state, row.id);
    return true;
  }

  #expireIfDue(entity: ReceivingEntity, row: Row, now: number): boolean {
    if (row.expires_at === null || row.expires_at > now) return false;
    if (entity.receiver.deadLetterOnExpiration) {
      this.#moveToDlq(row, 'TTLExpiredException', 'The message expired and was dead lettered.');
    } else {
      this.#stmt.delete.run(row.id);
    }
    return true;
  }

  #moveToDlq(row: Row, reason: string, description: string, extraProps?: Record<string, PropertyValue>): void {
    const props = { ...decodeProps(row.app_props), ...(extraProps ?? {}), DeadLetterReason: reason, DeadLetterErrorDescription: description };
    this.#stmt.toDlq.run(row.delivery_count, encodeProps(props), reason, description, row.id);
    // Whoever waits on the dead-letter queue (triage) hears of it once it is committed.
    this.#commit.afterCommit(() => this.#notify(row.entity));
  }

  #lockRow(row: Row, entity: ReceivingEntity, dlq: boolean, sessionLock: string | null, until: number): ReceivedMessage {
    const token = randomUUID();
    this.#stmt.lock.run(token, until, sessionLock, row.id);
    return toReceived({ ...row, lock_token: token, locked_until: until }, entity.path + (dlq ? DLQ_SUFFIX : ''));
  }

  // ------------------------------------------------------------------ sessions

  /** Locks a session (a given one, or the next with available messages); null if none in time. */
  async acceptSession(path: string, options: ReceiveOptions & { sessionId?: string } = {}): Promise<SessionLock | null> {
    const { entity, dlq } = this.entities.receiving(path);
    if (!entity.receiver.requiresSession || dlq) {
      throw new BrokerError('InvalidOperation', `'${path}' is not session-enabled.`);
    }
    // Woken by any send to the entity (a new session may have arrived).
    const got = await this.#receiveLoop([entity.path], entity.path, options, () => {
      const now = this.#clock.now();
      const sessionId = options.sessionId ?? (this.#stmt.nextSession.get(entity.path, now, now) as { session_id: string } | undefined)?.session_id;
      if (sessionId === undefined) return [];
      const existing = this.#stmt.session.get(entity.path, sessionId) as { lock_token: string | null; locked_until: number | null } | undefined;
      if (existing?.lock_token && (existing.locked_until ?? 0) > now) {
        if (options.sessionId !== undefined) {
          throw new BrokerError('SessionCannotBeLocked', `The session '${sessionId}' is locked by another receiver.`);
        }
        return [];
      }
      if (existing?.lock_token) this.#expireSessionLock(entity, existing.lock_token);
      const lockToken = randomUUID();
      const until = now + entity.receiver.lockDurationMs;
      this.#stmt.sessionUpsert.run(entity.path, sessionId, lockToken, until);
      return [{ entityPath: entity.path, sessionId, lockToken, lockedUntilUtc: new Date(until) }];
    });
    return got[0] ?? null;
  }

  /** A session lock that ran out: its locked messages count one more delivery, as in Service Bus. */
  #expireSessionLock(entity: ReceivingEntity, sessionLock: string): void {
    for (const row of this.#stmt.sessionMessagesLocked.all(sessionLock) as Row[]) {
      this.#settleExpiredLock(entity, row);
    }
  }

  async receiveFromSession(session: SessionLock, options: ReceiveOptions = {}): Promise<ReceivedMessage[]> {
    const { entity } = this.entities.receiving(session.entityPath);
    // Woken by sends to this session only (not by every send to the entity: with one session per
    // order, waking every session holder on each send costs a query per held session), and by
    // what may make any message available again (activation of scheduled messages, abandon, …).
    const keys = [entity.path + GENERIC_SUFFIX, sessionKey(entity.path, session.sessionId)];
    const got = await this.#receiveLoop(keys, entity.path, options, () => {
      const now = this.#clock.now();
      const until = this.#checkSession(entity, session, now);
      const out: ReceivedMessage[] = [];
      const max = options.maxMessages ?? 1;
      let after = 0;
      for (;;) {
        const rows = this.#stmt.sessionCandidates.all(entity.path, session.sessionId, after, max + 8) as Row[];
        if (rows.length === 0) break;
        for (const row of rows) {
          after = row.seq;
          if (out.length >= max) break;
          if (this.#expireIfDue(entity, row, now)) continue;
          out.push(this.#lockRow(row, entity, false, session.lockToken, until));
        }
        if (out.length >= max || rows.length < max + 8) break;
      }
      return out;
    });
    this.#countReceive(session.entityPath, got);
    return got;
  }

  #checkSession(entity: ReceivingEntity, session: SessionLock, now: number): number {
    const row = this.#stmt.session.get(entity.path, session.sessionId) as { lock_token: string | null; locked_until: number | null } | undefined;
    if (!row || row.lock_token !== session.lockToken || (row.locked_until ?? 0) <= now) {
      throw new BrokerError('SessionLockLost', `The session lock on '${session.sessionId}' has expired or was released.`);
    }
    return row.locked_until!;
  }

  async renewSessionLock(session: SessionLock): Promise<Date> {
    const { entity } = this.entities.receiving(session.entityPath);
    this.#count(entity.path, 'renewSessionLock');
    return this.#commit.run(() => {
      const now = this.#clock.now();
      this.#checkSession(entity, session, now);
      const until = now + entity.receiver.lockDurationMs;
      this.#stmt.sessionUpsert.run(entity.path, session.sessionId, session.lockToken, until);
      this.#stmt.extendSessionMessages.run(until, session.lockToken);
      return new Date(until);
    });
  }

  /** Closing a session: its unsettled messages become available again, without a delivery counted. */
  async releaseSession(session: SessionLock): Promise<void> {
    const { entity } = this.entities.receiving(session.entityPath);
    await this.#commit.run(() => {
      const row = this.#stmt.session.get(entity.path, session.sessionId) as { lock_token: string | null } | undefined;
      if (row?.lock_token !== session.lockToken) return;
      for (const m of this.#stmt.sessionMessagesLocked.all(session.lockToken) as Row[]) {
        this.#stmt.release.run(m.delivery_count, m.app_props, m.state, m.id);
      }
      this.#stmt.sessionUpsert.run(entity.path, session.sessionId, null, null);
    });
    // The session is free for the acceptors; the other sessions' holders have nothing new.
    this.#wake(entity.path);
  }

  async getSessionState(session: SessionLock): Promise<Buffer | null> {
    const { entity } = this.entities.receiving(session.entityPath);
    this.#count(entity.path, 'getSessionState');
    this.#checkSession(entity, session, this.#clock.now());
    const row = this.#stmt.session.get(entity.path, session.sessionId) as { state: Buffer | null };
    return row.state && row.state.length > 0 ? row.state : null;
  }

  async setSessionState(session: SessionLock, state: Buffer | null): Promise<void> {
    const { entity } = this.entities.receiving(session.entityPath);
    this.#count(entity.path, 'setSessionState', state ? [state.length] : []);
    await this.#commit.run(() => {
      this.#checkSession(entity, session, this.#clock.now());
      this.#stmt.sessionState.run(state && state.length > 0 ? state : null, entity.path, session.sessionId);
    });
  }

  // ------------------------------------------------------------------ settlement

  #lockedRow(lockToken: string, now: number): { row: Row; entity: ReceivingEntity } {
    const row = this.#stmt.byLock.get(lockToken) as Row | undefined;
    const lost = () =>
      new BrokerError(
        'MessageLockLost',
        'The lock supplied is invalid. Either the lock expired, or the message has already been removed from the queue, or was received by a different receiver instance.',
      );
    if (!row || (row.locked_until ?? 0) <= now) throw lost();
    const entity = this.entities.receiving(row.entity).entity;
    if (row.session_lock) {
      const session = this.#stmt.session.get(row.entity, row.session_id) as { lock_token: string | null; locked_until: number | null };
      if (session?.lock_token !== row.session_lock || (session.locked_until ?? 0) <= now) {
        throw new BrokerError('SessionLockLost', `The session lock on '${row.session_id}' has expired or was released.`);
      }
    }
    return { row, entity };
  }

  async complete(lockToken: string): Promise<void> {
    const entity = await this.#commit.run(() => {
      const { row } = this.#lockedRow(lockToken, this.#clock.now());
      this.#stmt.delete.run(row.id);
      return row.entity;
    });
    this.#count(entity, 'complete');
  }

  async abandon(lockToken: string, propertiesToModify?: Record<string, PropertyValue>): Promise<void> {
    const entityPath = await this.#commit.run(() => {
      const now = this.#clock.now();
      const { row, entity } = this.#lockedRow(lockToken, now);
      const props = propertiesToModify ? encodeProps({ ...decodeProps(row.app_props), ...propertiesToModify }) : row.app_props;
      if (row.dlq === 1) {
        // The dead-letter queue keeps no delivery count and has no maximum.
        this.#stmt.release.run(row.delivery_count, props, row.state, row.id);
        return row.entity;
      }
      const count = row.delivery_count + 1;
      if (count >= entity.receiver.maxDeliveryCount) {
        this.#moveToDlq({ ...row, delivery_count: count, app_props: props }, 'MaxDeliveryCountExceeded', `Message could not be consumed after ${entity.receiver.maxDeliveryCount} delivery attempts.`);
        return row.entity;
      }
      this.#stmt.release.run(count, props, row.state, row.id);
      // Expiry was held off while the message was locked; it takes effect now.
      this.#expireIfDue(entity, { ...row, delivery_count: count, app_props: props }, now);
      return row.entity;
    });
    this.#count(entityPath, 'abandon');
    this.#notify(entityPath);
  }

  /**
   * Gives back a lock that never reached a receiver (an AMQP link whose credit ran out, or that
   * closed, before the delivery went out): available again at once, no delivery counted — the
   * service only locks what it delivers.
   */
  async release(lockToken: string): Promise<void> {
    const entityPath = await this.#commit.run(() => {
      const row = this.#stmt.byLock.get(lockToken) as Row | undefined;
      if (!row) return undefined;
      this.#stmt.release.run(row.delivery_count, row.app_props, row.state, row.id);
      return row.entity;
    });
    if (entityPath) this.#notify(entityPath);
  }

  async deadLetter(lockToken: string, options: DeadLetterOptions = {}): Promise<void> {
    const reason = options.deadLetterReason ?? '';
    const description = options.deadLetterErrorDescription ?? '';
    if (reason.length > MAX_DEAD_LETTER_TEXT || description.length > MAX_DEAD_LETTER_TEXT) {
      throw new BrokerError('InvalidOperation', 'deadLetterReason and deadLetterErrorDescription are limited to 4096 characters.');
    }
    const entity = await this.#commit.run(() => {
      const { row } = this.#lockedRow(lockToken, this.#clock.now());
      if (row.dlq === 1) throw new BrokerError('GeneralError', 'A message in a dead-letter queue cannot be dead-lettered again.');
      this.#moveToDlq(row, reason, description, options.propertiesToModify);
      return row.entity;
    });
    this.#count(entity, 'deadLetter');
  }

  /** Sets a message aside; only receiveDeferred (by sequence number) returns it again. */
  async defer(lockToken: string, propertiesToModify?: Record<string, PropertyValue>): Promise<void> {
    await this.#commit.run(() => {
      const { row, entity } = this.#lockedRow(lockToken, this.#clock.now());
      this.#count(entity.path, 'defer');
      const props = propertiesToModify ? encodeProps({ ...decodeProps(row.app_props), ...propertiesToModify }) : row.app_props;
      const count = row.dlq === 1 ? row.delivery_count : row.delivery_count + 1;
      if (row.dlq === 0 && count >= entity.receiver.maxDeliveryCount) {
        this.#moveToDlq({ ...row, delivery_count: count, app_props: props }, 'MaxDeliveryCountExceeded', `Message could not be consumed after ${entity.receiver.maxDeliveryCount} delivery attempts.`);
        return;
      }
      this.#stmt.release.run(count, props, STATE_CODE.deferred, row.id);
    });
  }

  async receiveDeferred(path: string, sequenceNumbers: number[]): Promise<ReceivedMessage[]> {
    const { entity, dlq } = this.entities.receiving(path);
    return this.#commit.run(() => {
      const now = this.#clock.now();
      const out: ReceivedMessage[] = [];
      for (const seq of sequenceNumbers) {
        const row = this.#stmt.deferredBySeq.get(entity.path, dlq ? 1 : 0, seq) as Row | undefined;
        if (!row || (row.lock_token && (row.locked_until ?? 0) > now)) continue;
        if (row.lock_token && !this.#settleExpiredLock(entity, row)) continue;
        // Deferred messages expire only when someone tries to retrieve them.
        if (!dlq && row.expires_at !== null && row.expires_at <= now) {
          if (entity.receiver.deadLetterOnExpiration) this.#moveToDlq(row, 'TTLExpiredException', 'The message expired and was dead lettered.');
          else this.#stmt.delete.run(row.id);
          continue;
        }
        out.push(this.#lockRow(row, entity, dlq, null, now + entity.receiver.lockDurationMs));
      }
      return out;
    });
  }

  async renewLock(lockToken: string): Promise<Date> {
    return this.#commit.run(() => {
      const now = this.#clock.now();
      const { row, entity } = this.#lockedRow(lockToken, now);
      this.#count(entity.path, 'renewLock');
      if (row.session_lock) throw new BrokerError('InvalidOperation', 'Messages in a session are locked by the session; renew the session lock.');
      const until = now + entity.receiver.lockDurationMs;
      this.#stmt.lock.run(lockToken, until, null, row.id);
      return new Date(until);
    });
  }

  // ------------------------------------------------------------------ browsing and operations

  /** Browses without locking; fromSequenceNumber is inclusive, as in Service Bus. */
  peek(path: string, options: { fromSequenceNumber?: number; maxMessageCount?: number } = {}): ReceivedMessage[] {
    const { entity, dlq } = this.entities.receiving(path);
    const max = Math.min(Math.max(options.maxMessageCount ?? 1, 1), 250);
    const rows = this.#stmt.peek.all(entity.path, dlq ? 1 : 0, options.fromSequenceNumber ?? 0, max) as Row[];
    return rows.map((r) => {
      const m = toReceived(r, path);
      delete m.lockToken;
      delete m.lockedUntilUtc;
      return m;
    });
  }

  /** Every queue, topic and subscription. */
  listEntities(): EntityDescription[] {
    return [
      ...this.entities.queues.map((q) => ({ path: q.path, kind: 'queue' as const })),
      ...this.entities.topics.flatMap((t) => [{ path: t.path, kind: 'topic' as const }, ...t.subscriptions.map((sub) => ({ path: sub.path, kind: 'subscription' as const }))]),
    ];
  }

  runtimeProperties(path: string): EntityRuntimeProperties {
    const { entity } = this.entities.resolve(path);
    const counts = (p: string) => this.#stmt.counts.get(p) as { active: number; scheduled: number; dead: number; total: number; bytes: number };
    if (entity.kind === 'topic') {
      const c = counts(entity.path);
      return {
        name: entity.path,
        kind: 'topic',
        scheduledMessageCount: c.scheduled,
        sizeInBytes: c.bytes,
        subscriptionCount: entity.subscriptions.length,
      };
    }
    const c = counts(entity.path);
    if (entity.kind === 'subscription') {
      return {
        name: entity.path,
        kind: 'subscription',
        topicName: entity.topic,
        subscriptionName: entity.subscriptionName,
        activeMessageCount: c.active,
        deadLetterMessageCount: c.dead,
        transferMessageCount: 0,
        transferDeadLetterMessageCount: 0,
        totalMessageCount: c.total,
      };
    }
    return {
      name: entity.path,
      kind: 'queue',
      activeMessageCount: c.active,
      deadLetterMessageCount: c.dead,
      scheduledMessageCount: c.scheduled,
      transferMessageCount: 0,
      transferDeadLetterMessageCount: 0,
      totalMessageCount: c.total,
      sizeInBytes: c.bytes,
    };
  }

  /**
   * Sends one message back: from a dead-letter queue to its entity (the default), or from any
   * queue or dead-letter queue to the given target, as a new message (new sequence number,
   * delivery count 0) in one transaction with its removal; `build` makes the new message from the
   * one taken (throwing leaves it where it was).
   */
  async resubmit(
    sourcePath: string,
    sequenceNumber: number,
    targetPath: string | undefined,
    build: (original: ReceivedMessage) => OutgoingMessage,
  ): Promise<{ sequenceNumber: number; messageId: string }> {
    const { entity: source, dlq } = this.entities.receiving(sourcePath);
    if (!dlq && targetPath === undefined) throw new BrokerError('InvalidOperation', `Resubmitting from '${sourcePath}' needs a target entity.`);
    const target = targetPath === undefined ? source : this.entities.resolve(targetPath).entity;
    const touched = new Set<string>();
    const result = await this.#commit.run(() => {
      const now = this.#clock.now();
      const row = (this.#stmt.peek.all(source.path, dlq ? 1 : 0, sequenceNumber, 1) as Row[]).find((r) => r.seq === sequenceNumber);
      if (!row || row.state === STATE_CODE.scheduled) {
        throw new BrokerError('MessageNotFound', `No message with sequence number ${sequenceNumber} in '${sourcePath}'.`);
      }
      if (row.lock_token && (row.locked_until ?? 0) > now) throw new BrokerError('MessageLockLost', `Message ${sequenceNumber} is locked by a receiver.`);
      // What goes back is the caller's to say (its conventions for a resubmitted message's id and properties).
      const built = build(toReceived(row, sourcePath));
      const messageId = built.messageId ?? randomUUID();
      const m = { ...built, messageId };
      this.#stmt.delete.run(row.id);
      if (target.kind === 'subscription') {
        // Service Bus cannot send to one subscription; the embedded broker puts it back directly.
        const seq = this.#nextSeq(target.topic);
        this.#insert(target.path, m, seq, 'active', now, target.receiver.defaultTtlMs);
        touched.add(target.path);
        return { sequenceNumber: seq, messageId };
      }
      const seq = this.#nextSeq(target.path);
      this.#enqueue(target, m, seq, now, touched);
      return { sequenceNumber: seq, messageId };
    });
    this.#notifyTouched(touched);
    return result;
  }

  /** Deletes the given messages (not locked, not scheduled) from a queue or dead-letter queue. */
  async remove(sourcePath: string, sequenceNumbers: number[]): Promise<number> {
    const { entity, dlq } = this.entities.receiving(sourcePath);
    return this.#commit.run(() => {
      const now = this.#clock.now();
      let removed = 0;
      for (const seq of sequenceNumbers) {
        const row = (this.#stmt.peek.all(entity.path, dlq ? 1 : 0, seq, 1) as Row[]).find((r) => r.seq === seq);
        if (!row || row.state === STATE_CODE.scheduled || (row.lock_token && (row.locked_until ?? 0) > now)) continue;
        this.#stmt.delete.run(row.id);
        removed++;
      }
      return removed;
    });
  }

  /** Removes expired messages (dead-lettering them where configured) from every entity. */
  async sweepExpired(): Promise<void> {
    if (this.#closed) return;
    await this.#commit.run(() => {
      const now = this.#clock.now();
      for (const entity of this.entities.receivers()) {
        for (const row of this.#stmt.expiredRows.all(entity.path, now, now) as Row[]) {
          if (this.#settleExpiredLock(entity, row)) this.#expireIfDue(entity, row, now);
        }
      }
      this.#stmt.dupSweep.run(now);
    });
  }

  // ------------------------------------------------------------------ waiting

  #waitKey(entityPath: string, dlq: boolean): string {
    return dlq ? entityPath + DLQ_SUFFIX : entityPath;
  }

  #wake(key: string): void {
    this.#versions.set(key, (this.#versions.get(key) ?? 0) + 1);
    for (const wake of this.#waiters.get(key) ?? []) wake();
  }

  /** Something changed in the entity: wakes its receivers, session acceptors and session holders. */
  #notify(path: string): void {
    for (const key of [path, path + DLQ_SUFFIX, path + GENERIC_SUFFIX]) this.#wake(key);
  }

  /** After sends: a session message wakes its session's holder and the acceptors, not every session holder. */
  #notifyTouched(touched: Set<string>): void {
    for (const t of touched) {
      if (!t.startsWith(SESSION_TOUCH)) {
        this.#notify(t);
        continue;
      }
      // Entity paths never hold the separator; a session id may.
      const rest = t.slice(SESSION_TOUCH.length);
      const cut = rest.indexOf(SESSION_TOUCH);
      const path = rest.slice(0, cut);
      const sessionId = rest.slice(cut + SESSION_TOUCH.length);
      this.#wake(path);
      this.#wake(path + DLQ_SUFFIX);
      this.#wake(sessionKey(path, sessionId));
    }
  }

  #version(keys: string[]): string {
    return keys.map((k) => this.#versions.get(k) ?? 0).join(',');
  }

  /** Waits for a change to any of the keys, a lock or session lock to run out, the deadline or abort. */
  #wait(keys: string[], entityPath: string, version: string, deadline: number, signal?: AbortSignal): Promise<void> {
    if (this.#version(keys) !== version) return Promise.resolve();
    const now = this.#clock.now();
    const nextLock = (this.#stmt.nextLockExpiry.get(entityPath, now) as number | null) ?? NEVER;
    const nextSession = (this.#stmt.nextSessionExpiry.get(entityPath, now) as number | null) ?? NEVER;
    const wakeAt = Math.min(deadline, nextLock, nextSession);
    return new Promise<void>((resolve) => {
      const sets = keys.map((key) => {
        let set = this.#waiters.get(key);
        if (!set) this.#waiters.set(key, (set = new Set()));
        return set;
      });
      const done = () => {
        keys.forEach((key, i) => {
          const set = sets[i]!;
          set.delete(done);
          // Per-session keys come and go with the sessions: forget them once nobody waits (a
          // receiver that read the old version only queries once more).
          if (set.size === 0 && key.includes(SESSION_KEY)) {
            this.#waiters.delete(key);
            this.#versions.delete(key);
          }
        });
        timer.cancel();
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = this.#clock.setTimer(wakeAt, done);
      for (const set of sets) set.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  // ------------------------------------------------------------------ lifecycle

  /**
   * After a restart, locks held by the previous process are lost — like locks whose receiver
   * link died. They count as a delivery, so a message that kills the process every time it is
   * handled still ends in the dead-letter queue instead of looping forever.
   */
  #recoverLocks(): void {
    this.#db.transaction(() => {
      for (const row of this.#stmt.allLocked.all() as Row[]) {
        const entity = this.entities.get(row.entity);
        if (!entity || entity.kind === 'topic') continue;
        this.#settleExpiredLock(entity, row);
      }
      this.#stmt.clearSessionLocks.run();
    })();
  }

  close(): void {
    this.#closed = true;
    this.#activationTimer?.cancel();
    if (this.#sweepTimer) clearInterval(this.#sweepTimer);
    for (const set of this.#waiters.values()) for (const wake of [...set]) wake();
  }

  // ------------------------------------------------------------------ mapping
}
