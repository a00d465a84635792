// Service Bus on the wire: the dialect @azure/service-bus and the other Service Bus SDKs speak
// over AMQP 1.0 (read in their source and in Microsoft's "AMQP 1.0 in Azure Service Bus" guide),
// served by the local Azure's AMQP listener (listener.ts: CBS, routing) in front of the embedded
// broker. rhea does the framing; this file is the Service Bus semantics:
// - sender links to a queue or topic: single messages and batches (message format 0x80013700, one
//   encoded message per data section), accepted once the broker has them on disk; refused with
//   amqp:not-found (unknown entity), amqp:link:message-size-exceeded or the broker's error;
// - receiver links on a queue, `topic/Subscriptions/name` and their `/$DeadLetterQueue`, in
//   peek-lock (rcv-settle-mode second: settled when the service answers the disposition) and
//   receive-and-delete, with the annotations the SDKs read (x-opt-sequence-number,
//   x-opt-enqueued-time, x-opt-locked-until, x-opt-partition-key, x-opt-scheduled-enqueue-time,
//   x-opt-deadletter-source, x-opt-message-state) and the lock token as the delivery tag (in .NET's
//   GUID byte order);
// - settlement: accepted (complete), modified (abandon; undeliverable-here: defer, with properties
//   to modify), rejected with com.microsoft:dead-letter (reason, description, properties);
// - sessions: a receiver link with the session filter locks the session it names or the next one;
// - $management (management.ts): renew lock, peek, schedule and cancel, receive deferred by
//   sequence number and settle it (update-disposition), session state and lock renewal, rules.
import { message as amqpMessage, types, type Connection, type Delivery, type EventContext, type Message, type Receiver, type Sender } from 'rhea';
import type { OutgoingMessage, PropertyValue, ReceivedMessage, SessionLock } from '@backbone/azure-model/service-bus';
import { BrokerError } from '@backbone/azure-model/service-bus';
import type { EmbeddedBroker } from '../broker/broker';
import type { HostLogger } from '../host/logger';
import { sendSettled, type AmqpAccess, type AmqpService, type Outcome as SettlementOutcome } from './listener';
import { manage } from './management';

/**
 * rhea echoes a drain (a flow with drain=true) only while the link still has credit to give up;
 * when the last credited message went out just as the drain arrived, it sends nothing, and the
 * client waits for an answer that never comes (@azure/service-bus gives up after 200 ms and closes
 * the link, stranding the locks it holds from it). AMQP 1.0 (2.6.7) has the sender answer a drain
 * whatever credit is left, so this sender's flow carries drain=true once the drain is answered.
 */
function answerDrainWithoutCredit(sender: Sender): void {
  const link = sender as unknown as { _draining: boolean; _drained: boolean; credit: number; delivery_count: number; _get_drain(): boolean };
  link._get_drain = function (this: typeof link) {
    if (!this._draining || !this._drained) return false;
    this.delivery_count += this.credit;
    this.credit = 0;
    return true;
  };
}

/** What wakes a delivery loop waiting for credit: credit, a drain to answer, the link closing. */
const WAKE_EVENTS = ['sendable', 'sender_draining', 'sender_close'] as const;
/**
 * How long a drain may wait for a receive already in progress (locks being written): the client
 * waits 200 ms for the answer (@azure/service-bus), and a loaded disk can take longer than that.
 */
const DRAIN_ANSWER_MS = 50;
const BATCH_FORMAT = 0x80013700;
const MAX_MESSAGE_BYTES = 256 * 1024;
const DEAD_LETTER_CONDITION = 'com.microsoft:dead-letter';
const DLQ = '/$deadletterqueue';
const SESSION_FILTER = 'com.microsoft:session-filter';
/** How long an "accept the next session" link waits for one before it is refused. */
const NEXT_SESSION_WAIT_MS = 5_000;
/** How long (on the broker's clock) an idle session link waits for credit before looking again; its lock running out or credit ends the wait sooner. */
const SESSION_PROBE_MS = 60_000;

/** A time as .NET ticks (100 ns since 0001-01-01), 8 bytes big-endian: how Service Bus states a session's locked-until. */
export function ticksOf(date: Date): Buffer {
  const ticks = BigInt(date.getTime()) * 10_000n + 621_355_968_000_000_000n;
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(ticks);
  return b;
}

/** The entity a link address names, as the broker's path ('queue', 'topic/subscriptions/sub', with '/$deadletterqueue'). */
export function brokerPath(address: string): string {
  let path = address.replace(/^amqps?:\/\/[^/]+\//i, '').replace(/^\//, '');
  path = path.replace(/\/subscriptions\//i, '/subscriptions/');
  if (path.toLowerCase().endsWith(DLQ)) path = `${path.slice(0, -DLQ.length)}${DLQ}`;
  return path;
}

/** The lock token (a GUID's text) as the delivery tag, in the byte order the SDKs read it in (.NET's). */
export function lockTokenTag(lockToken: string): Buffer {
  const hex = lockToken.replace(/-/g, '');
  const b = Buffer.from(hex, 'hex');
  return Buffer.from([b[3]!, b[2]!, b[1]!, b[0]!, b[5]!, b[4]!, b[7]!, b[6]!, ...b.subarray(8)]);
}

function toOutgoing(m: Message): OutgoingMessage {
  const body = m.body as unknown;
  const bytes =
    body && typeof body === 'object' && (body as { typecode?: number }).typecode === 0x75
      ? Buffer.from((body as { content: Buffer }).content)
      : Buffer.isBuffer(body)
        ? body
        : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body ?? null));
  const annotations = (m.message_annotations ?? {}) as Record<string, unknown>;
  const out: OutgoingMessage = { body: bytes };
  if (m.message_id !== undefined) out.messageId = String(m.message_id);
  if (m.content_type !== undefined) out.contentType = String(m.content_type);
  if (m.correlation_id !== undefined) out.correlationId = String(m.correlation_id);
  if (m.subject !== undefined) out.subject = m.subject;
  if (m.to !== undefined) out.to = m.to;
  if (m.reply_to !== undefined) out.replyTo = m.reply_to;
  if (m.reply_to_group_id !== undefined) out.replyToSessionId = m.reply_to_group_id;
  if (m.group_id !== undefined) out.sessionId = m.group_id;
  if (typeof annotations['x-opt-partition-key'] === 'string') out.partitionKey = annotations['x-opt-partition-key'];
  const scheduled = annotations['x-opt-scheduled-enqueue-time'];
  if (scheduled instanceof Date) out.scheduledEnqueueTimeUtc = scheduled.getTime();
  if (m.ttl !== undefined) out.timeToLiveMs = Number(m.ttl);
  if (m.application_properties) out.applicationProperties = { ...(m.application_properties as Record<string, PropertyValue>) };
  return out;
}

/**
 * Whole numbers as int (long beyond 32 bits), as a .NET sender's `3` goes out and its reader casts
 * it back: rhea would write a positive one as uint, which (int)value refuses. The broker keeps a
 * property's number, not its AMQP type.
 */
function typedProperties(props: Record<string, PropertyValue>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(props)) {
    out[k] = typeof v === 'number' && Number.isInteger(v) ? (v >= -0x8000_0000 && v <= 0x7fff_ffff ? types.wrap_int(v) : types.wrap_long(v)) : v;
  }
  return out;
}

function toAmqp(m: ReceivedMessage): Message {
  const annotations: Record<string, unknown> = {
    'x-opt-sequence-number': types.wrap_long(m.sequenceNumber),
    'x-opt-enqueued-time': m.enqueuedTimeUtc,
  };
  if (m.lockedUntilUtc) annotations['x-opt-locked-until'] = m.lockedUntilUtc;
  if (m.partitionKey) annotations['x-opt-partition-key'] = m.partitionKey;
  if (m.scheduledEnqueueTimeUtc) annotations['x-opt-scheduled-enqueue-time'] = m.scheduledEnqueueTimeUtc;
  if (m.deadLetterSource) annotations['x-opt-deadletter-source'] = m.deadLetterSource;
  // 0 active, 1 deferred, 2 scheduled: how a peeked or deferred message says what it is.
  annotations['x-opt-message-state'] = types.wrap_int(m.state === 'deferred' ? 1 : m.state === 'scheduled' ? 2 : 0);
  const out: Message = {
    body: amqpMessage.data_section(m.body),
    message_id: m.messageId,
    delivery_count: m.deliveryCount,
    message_annotations: annotations,
    application_properties: {
      ...typedProperties(m.applicationProperties ?? {}),
      ...(m.deadLetterReason ? { DeadLetterReason: m.deadLetterReason } : {}),
      ...(m.deadLetterErrorDescription ? { DeadLetterErrorDescription: m.deadLetterErrorDescription } : {}),
    },
  };
  if (m.contentType) out.content_type = m.contentType;
  if (m.correlationId) out.correlation_id = m.correlationId;
  if (m.subject) out.subject = m.subject;
  if (m.to) out.to = m.to;
  if (m.replyTo) out.reply_to = m.replyTo;
  if (m.replyToSessionId) out.reply_to_group_id = m.replyToSessionId;
  if (m.sessionId) out.group_id = m.sessionId;
  // The time to live in effect (the message's own, or the entity's default when shorter): what the SDKs add to the enqueued time as expiresAtUtc.
  const ttl = m.expiresAtUtc ? m.expiresAtUtc.getTime() - m.enqueuedTimeUtc.getTime() : m.timeToLiveMs;
  if (ttl !== undefined) out.ttl = ttl;
  return out;
}

/** The AMQP error a broker failure is, as Service Bus words its conditions. */
function amqpError(error: unknown): { condition: string; description: string } {
  const description = (error as Error)?.message ?? String(error);
  const code = error instanceof BrokerError ? error.code : undefined;
  switch (code) {
    case 'MessagingEntityNotFound':
      return { condition: 'amqp:not-found', description };
    case 'MessageSizeExceeded':
      return { condition: 'amqp:link:message-size-exceeded', description };
    case 'MessageLockLost':
      return { condition: 'com.microsoft:message-lock-lost', description };
    case 'SessionLockLost':
      return { condition: 'com.microsoft:session-lock-lost', description };
    case 'SessionCannotBeLocked':
      return { condition: 'com.microsoft:session-cannot-be-locked', description };
    case 'InvalidOperation':
      return { condition: 'amqp:invalid-field', description };
    // A request the broker will never carry out (dead-lettering a dead letter): amqp:not-allowed,
    // which the SDKs take as final (InvalidOperation) — internal-error they retry, and a retried
    // settlement of a delivery already settled only hides the refusal.
    case 'GeneralError':
      return { condition: 'amqp:not-allowed', description };
    default:
      return { condition: 'amqp:internal-error', description };
  }
}

/** rhea's outcome constructors (its typings leave them out). */
type Outcome = { described(): unknown };
const outcomes = amqpMessage as unknown as { accepted(): Outcome; released(): Outcome; modified(fields?: unknown): Outcome; rejected(fields?: unknown): Outcome };

export class ServiceBusAmqp implements AmqpService {
  /** The sessions each connection holds, by entity path and session id ($management's session operations name them so). */
  readonly #sessions = new WeakMap<Connection, Map<string, SessionLock>>();

  constructor(
    private readonly broker: EmbeddedBroker,
    private readonly access: AmqpAccess,
    private readonly logger: HostLogger,
  ) {}

  /** The catch-all: any address that is not another service's is a Service Bus entity (known or not: amqp:not-found). */
  owns(): boolean {
    return true;
  }

  /** Whether the connection may use the entity (a token for it, a parent, the namespace, or its `$management`). */
  #authorized(connection: Connection, address: string): boolean {
    return this.access.authorized(connection, brokerPath(address).replace(DLQ, ''));
  }

  /** The client's receiver: management replies, or messages of an entity. */
  senderOpened(context: EventContext, address: string): void {
    const sender = context.sender!;
    if (address.toLowerCase().endsWith('/$management')) return;
    if (!this.#authorized(context.connection, address)) {
      sender.close({ condition: 'amqp:unauthorized-access', description: `Unauthorized access. 'Listen' claim(s) are required to perform this operation on ${address}.` });
      return;
    }
    const path = brokerPath(address);
    try {
      this.broker.runtimeProperties(path.replace(DLQ, ''));
    } catch (error) {
      sender.close(amqpError(error));
      return;
    }
    const receiveAndDelete = (sender as unknown as { rcv_settle_mode?: number; snd_settle_mode?: number }).snd_settle_mode === 1;
    const filter = (sender.source as { filter?: Record<string, unknown> } | undefined)?.filter;
    if (filter && SESSION_FILTER in filter) {
      void this.#openSession(context, path, filter[SESSION_FILTER] ?? undefined, receiveAndDelete);
      return;
    }
    void this.#pump(sender, path, receiveAndDelete);
  }

  /**
   * A session receiver: the attach is answered only once a session is locked — the one asked for,
   * or the next available — naming it in the source's session filter and its lock's end in the
   * link's com.microsoft:locked-until-utc; none available: the link is refused
   * (com.microsoft:session-cannot-be-locked, or com.microsoft:timeout for the next available).
   */
  async #openSession(context: EventContext, path: string, requested: unknown, receiveAndDelete: boolean): Promise<void> {
    const sender = context.sender!;
    // rhea answers the attach as soon as the event returns; held back until the session is known.
    const state = (sender as unknown as { state: { open_requests: number } }).state;
    const held = state.open_requests;
    state.open_requests = 0;
    const answer = () => {
      state.open_requests = held;
      (sender.connection as unknown as { _register(): void })._register();
    };
    let session: SessionLock | null = null;
    let failure: { condition: string; description: string } | undefined;
    try {
      session = await this.broker.acceptSession(path, { ...(typeof requested === 'string' ? { sessionId: requested } : {}), maxWaitMs: typeof requested === 'string' ? 0 : NEXT_SESSION_WAIT_MS });
      if (!session) {
        failure =
          typeof requested === 'string'
            ? { condition: 'com.microsoft:session-cannot-be-locked', description: `The requested session '${requested}' cannot be accepted. It may be locked by another receiver.` }
            : { condition: 'com.microsoft:timeout', description: 'No unlocked sessions were available.' };
      }
    } catch (error) {
      failure = amqpError(error);
    }
    const address = sender.source?.address ?? path;
    if (!session) {
      // Attached naming no session: the SDKs read that as "cannot be locked" for a requested
      // session (and close the link); an error on the link says why when none was available.
      sender.set_source({ address });
      answer();
      if (typeof requested !== 'string' || failure?.condition !== 'com.microsoft:session-cannot-be-locked') sender.close(failure);
      return;
    }
    sender.set_source({ address, filter: { [SESSION_FILTER]: session.sessionId } });
    (sender as unknown as { local: { attach: { properties?: unknown } } }).local.attach.properties = { 'com.microsoft:locked-until-utc': types.wrap_long(ticksOf(session.lockedUntilUtc)) };
    const held_ = this.#sessions.get(context.connection) ?? new Map<string, SessionLock>();
    held_.set(`${path.toLowerCase()}\u0000${session.sessionId}`, session);
    this.#sessions.set(context.connection, held_);
    answer();
    sender.once('sender_close', () => void this.#release(session).catch(() => undefined));
    void this.#pump(sender, path, receiveAndDelete, session);
  }

  /**
   * A session link closed: the session is free again, its unsettled messages uncounted — unless
   * its lock had already run out, when they count one more delivery, as in Service Bus (the next
   * acceptor's lock settles them so; a release now would not count them).
   */
  async #release(session: SessionLock): Promise<void> {
    if (await this.#lockLost(session)) return;
    await this.broker.releaseSession(session);
  }

  /** Whether the session's lock ran out on the broker's clock (a receive of nothing checks it). */
  async #lockLost(session: SessionLock, signal?: AbortSignal, waitMs = 0): Promise<boolean> {
    try {
      await this.broker.receiveFromSession(session, { maxMessages: 0, maxWaitMs: waitMs, ...(signal ? { signal } : {}) });
      return false;
    } catch (error) {
      if (error instanceof BrokerError && error.code === 'SessionLockLost') return true;
      throw error;
    }
  }

  /**
   * A session link without credit: waits for credit, and meanwhile for its lock to run out on the
   * broker's clock — then the service detaches the link with com.microsoft:session-lock-lost, which
   * the SDKs turn into SessionLockLost for the receive and settlement that follow.
   */
  /**
   * Until the client gives credit, asks to drain (or room frees up in the window, or the link
   * goes): woken by rhea's events, not polled, so a receive that adds credit is served at once and
   * a drain is answered at once — @azure/service-bus waits only 200 ms for the answer to a drain and
   * then closes the link, and the messages it received there can then no longer be settled on it
   * (it settles them on the new link of the same name, where the deliveries are unknown, and times
   * out after 20 s). At most 200 ms, as a safety net for a wake-up rhea does not signal (room in
   * the window freed by a settlement).
   */
  async #credit(sender: Sender): Promise<void> {
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        for (const event of WAKE_EVENTS) sender.removeListener(event, done);
        resolve();
      };
      const timer = setTimeout(done, 200);
      for (const event of WAKE_EVENTS) sender.on(event, done);
    });
  }

  async #creditOrLockLoss(sender: Sender, session: SessionLock): Promise<boolean> {
    const wake = new AbortController();
    const onCredit = () => wake.abort();
    for (const event of WAKE_EVENTS) sender.on(event, onCredit);
    try {
      return await this.#lockLost(session, AbortSignal.any([wake.signal, this.access.closing]), SESSION_PROBE_MS);
    } finally {
      for (const event of WAKE_EVENTS) sender.removeListener(event, onCredit);
    }
  }

  /** The session a $management request names, as this connection holds it. */
  sessionOf(connection: Connection, path: string, sessionId: string): SessionLock | undefined {
    return this.#sessions.get(connection)?.get(`${path.toLowerCase()}\u0000${sessionId}`);
  }

  /**
   * Delivers while the client gives credit: locks at most that many, and gives back (uncounted)
   * whatever the link can no longer take by the time the locks are on disk (the client drained its
   * credit or closed), as the service locks only what it delivers.
   */
  async #pump(sender: Sender, path: string, receiveAndDelete: boolean, session?: SessionLock): Promise<void> {
    const link = sender as Sender & { is_closed(): boolean; credit: number };
    // sendable(): credit, and room in the session's window of unsettled deliveries (rhea keeps
    // 2,048 and throws past them: a client holding that many locks waits, the host does not fall over).
    // A client that drains (.NET at the end of every receive that found too few, @azure/service-bus
    // at the end of a receiveMessages) waits for its credit back, and gives up on the link when it
    // does not come: what is there now goes out, then a flow gives back the rest.
    // Each drain the client asks for is answered once: a second answer could reach it after it
    // has given new credit, and a drained flow zeroes the credit it holds.
    let drainAnswered = true;
    sender.on('sender_draining', () => (drainAnswered = false));
    const draining = () => (sender as unknown as { _draining?: boolean })._draining === true && !drainAnswered;
    const drained = () => {
      drainAnswered = true;
      sender.set_drained(true);
      (sender.connection as unknown as { _register(): void })._register();
    };
    answerDrainWithoutCredit(sender);
    while (!this.access.closing.aborted && !link.is_closed()) {
      if (link.credit <= 0 || !sender.sendable()) {
        // No credit left, or no room in the window for more: nothing more can go out now, so a drain ends here.
        if (draining()) drained();
        if (!session || link.credit > 0) await this.#credit(sender);
        else if (await this.#creditOrLockLoss(sender, session).catch(() => false)) {
          if (!link.is_closed()) sender.close({ condition: 'com.microsoft:session-lock-lost', description: `The session lock on '${session.sessionId}' has expired.` });
          return;
        }
        continue;
      }
      // A drain stops the wait for messages at once, and is answered at most DRAIN_ANSWER_MS after
      // it came even while this batch is still being locked: what the batch then brings is given
      // back, as the client no longer has credit for it.
      const drain = new AbortController();
      let answerLate: NodeJS.Timeout | undefined;
      const onDrain = () => {
        drain.abort();
        answerLate ??= setTimeout(() => {
          if (draining() && !link.is_closed()) drained();
        }, DRAIN_ANSWER_MS);
      };
      sender.on('sender_draining', onDrain);
      if (draining()) onDrain();
      try {
        let got: ReceivedMessage[];
        try {
          const options = { maxMessages: Math.min(link.credit, 100), maxWaitMs: draining() ? 0 : 200, signal: drain.signal };
          got = session ? await this.broker.receiveFromSession(session, options) : await this.broker.receive(path, options);
        } catch (error) {
          sender.close(amqpError(error));
          return;
        } finally {
          sender.removeListener('sender_draining', onDrain);
        }
        await this.#deliver(sender, got, receiveAndDelete);
      } finally {
        clearTimeout(answerLate);
      }
      // The batch in hand is out: a drain is answered now rather than after the rest of the credit
      // (up to the client's whole prefetch, 100 locks per batch) has been locked and sent.
      if (draining() && !link.is_closed()) drained();
    }
  }

  /** Sends what was received while the link can take it, and gives the rest back uncounted. */
  async #deliver(sender: Sender, got: ReceivedMessage[], receiveAndDelete: boolean): Promise<void> {
    const link = sender as Sender & { is_closed(): boolean; credit: number };
    for (const m of got) {
      if (link.is_closed() || link.credit <= 0 || !sender.sendable()) {
        await this.broker.release(m.lockToken!).catch(() => undefined);
        continue;
      }
      if (receiveAndDelete) {
        await this.broker.complete(m.lockToken!);
        sender.send(toAmqp({ ...m, lockToken: undefined } as ReceivedMessage));
      } else {
        const delivery = sender.send(toAmqp(m), lockTokenTag(m.lockToken!));
        (delivery as Delivery & { lockToken?: string }).lockToken = m.lockToken!;
      }
    }
  }

  receiverOpened(context: EventContext, address: string): void {
    const receiver = context.receiver as Receiver;
    if (address.toLowerCase().endsWith('/$management')) return;
    if (!this.#authorized(context.connection, address)) {
      receiver.close({ condition: 'amqp:unauthorized-access', description: `Unauthorized access. 'Send' claim(s) are required to perform this operation on ${address}.` });
      return;
    }
    try {
      this.broker.entities.sending(brokerPath(address));
    } catch (error) {
      receiver.close(amqpError(error));
      return;
    }
    // What a client sizes its batches by (Service Bus Standard: 256 KB).
    (receiver as unknown as { local: { attach: { max_message_size?: unknown } } }).local.attach.max_message_size = MAX_MESSAGE_BYTES;
  }

  async message(context: EventContext, address: string): Promise<void> {
    const delivery = context.delivery!;
    if (address.toLowerCase().endsWith('/$management')) return this.#management(context, address.slice(0, -'/$management'.length));
    let messages: OutgoingMessage[];
    try {
      const format = (delivery as unknown as { format?: number }).format;
      if (format === BATCH_FORMAT) {
        // rhea hands a message of another format over undecoded: the batch envelope, whose data
        // sections hold one encoded message each (several sections come as one with `multiple`).
        const envelope = amqpMessage.decode(context.message as unknown as Buffer) as unknown as Message;
        const section = envelope.body as { content: Buffer | Buffer[]; multiple?: boolean };
        const encoded = section.multiple ? (section.content as Buffer[]) : [section.content as Buffer];
        messages = encoded.map((bytes) => toOutgoing(amqpMessage.decode(Buffer.from(bytes)) as unknown as Message));
      } else messages = [toOutgoing(context.message!)];
      await this.broker.send(brokerPath(address), messages);
      delivery.accept();
    } catch (error) {
      delivery.reject(amqpError(error));
    }
  }

  /** The client settled a message it received: the broker does it, then the disposition is settled (peek-lock: the SDK waits for it). */
  async settled(context: EventContext, outcome: SettlementOutcome): Promise<void> {
    const delivery = context.delivery as Delivery & { lockToken?: string; remote_state?: Record<string, unknown> };
    const lockToken = delivery.lockToken;
    if (!lockToken) return;
    const state = delivery.remote_state ?? {};
    const annotations = (state.message_annotations ?? undefined) as Record<string, PropertyValue> | undefined;
    try {
      if (outcome === 'accepted') await this.broker.complete(lockToken);
      else if (outcome === 'rejected') {
        const error = (state.error ?? {}) as { condition?: string; description?: string; info?: Record<string, unknown> };
        if (error.condition !== DEAD_LETTER_CONDITION) await this.broker.abandon(lockToken);
        else {
          const { DeadLetterReason, DeadLetterErrorDescription, ...props } = error.info ?? {};
          await this.broker.deadLetter(lockToken, {
            ...(DeadLetterReason !== undefined ? { deadLetterReason: String(DeadLetterReason) } : {}),
            ...(DeadLetterErrorDescription !== undefined ? { deadLetterErrorDescription: String(DeadLetterErrorDescription) } : {}),
            ...(Object.keys(props).length ? { propertiesToModify: props as Record<string, PropertyValue> } : {}),
          });
        }
      } else if (outcome === 'modified' && state.undeliverable_here === true) await this.broker.defer(lockToken, annotations);
      else await this.broker.abandon(lockToken, annotations);
      // Settled with the outcome the client chose, without an error: the SDK then resolves the
      // settlement (an error in the state rejects it — as for a lock that was lost, below).
      const echoed =
        outcome === 'accepted'
          ? outcomes.accepted()
          : outcome === 'released'
            ? outcomes.released()
            : outcome === 'modified'
              ? outcomes.modified({ delivery_failed: state.delivery_failed, undeliverable_here: state.undeliverable_here })
              : outcomes.rejected({});
      delivery.update(true, echoed.described());
    } catch (error) {
      this.logger.log('debug', 'Host.AMQP', `settlement refused: ${(error as Error).message}`);
      delivery.update(true, outcomes.rejected({ error: amqpError(error) }).described());
    }
    // In rcv-settle-mode second the service settling is the last word (AMQP 1.0, 2.6.12: the
    // receiver then settles without a frame), so the delivery is done here; rhea would wait for a
    // disposition that never comes and keep it in the session's window until the window is full.
    (delivery as unknown as { remote_settled: boolean }).remote_settled = true;
  }

  /** A $management request: carried out on the broker, answered on the client's reply link. */
  async #management(context: EventContext, entityAddress: string): Promise<void> {
    const request = context.message!;
    context.delivery!.accept();
    const operation = String((request.application_properties as Record<string, unknown> | undefined)?.operation ?? '');
    const reply = this.#authorized(context.connection, entityAddress)
      ? await manage(this.broker, brokerPath(entityAddress), operation, (request.body ?? {}) as Record<string, unknown>, {
          toAmqp,
          toOutgoing,
          session: (sessionId) => this.sessionOf(context.connection, brokerPath(entityAddress), sessionId),
        })
      : { statusCode: 401, statusDescription: `Unauthorized access to ${entityAddress}.`, errorCondition: 'amqp:unauthorized-access' };
    const replyTo = request.reply_to;
    const link = context.connection.find_sender((s: Sender) => s.target?.address === replyTo) ?? context.connection.find_sender((s: Sender) => s.source?.address === `${entityAddress}/$management`);
    if (!link) return;
    sendSettled(link, {
      body: reply.body ?? null,
      correlation_id: request.message_id,
      ...(replyTo ? { to: replyTo } : {}),
      // statusCode an int, as the SDKs cast it (rhea would write 200 as uint).
      application_properties: {
        statusCode: types.wrap_int(reply.statusCode),
        statusDescription: reply.statusDescription,
        // errorCondition, camel-cased like its neighbours and a symbol, as Service Bus' management
        // replies carry it (Event Hubs' say error-condition): .NET reads it so and no other way,
        // else guesses from the status code (404 → MessagingEntityNotFound); @azure/service-bus reads either.
        ...(reply.errorCondition ? { errorCondition: types.wrap_symbol(reply.errorCondition) } : {}),
      },
    });
  }
}
