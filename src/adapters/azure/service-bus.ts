// The messaging port on Azure Service Bus (@azure/service-bus). Connects with an identity
// (<Connection>__fullyQualifiedNamespace) in Azure, or with a connection string for the Service
// Bus emulator. Settlement needs the receiver that received a message, so received messages
// are tracked by lock token until settled.
import {
  ServiceBusAdministrationClient,
  ServiceBusClient,
  type ServiceBusMessage,
  type ServiceBusReceivedMessage,
  type ServiceBusReceiver,
  type ServiceBusSender,
  type ServiceBusSessionReceiver,
} from '@azure/service-bus';
import Long from 'long';
import type { DeadLetterOptions, EntityDescription, Messaging, ReceiveOptions, ResubmitPreparer } from '../../ports/messaging';
import { resubmitCopy } from '../resubmit';
import type { EntityRuntimeProperties, OutgoingMessage, PropertyValue, ReceivedMessage, SessionLock } from '@backbone/azure-model/service-bus';
import { credentialFor } from './credentials';

const DLQ = '/$deadletterqueue';

interface EntityAddress {
  queue?: string;
  topic?: string;
  subscription?: string;
  deadLetter: boolean;
}

export function parseEntityPath(path: string): EntityAddress {
  let p = path;
  const deadLetter = p.toLowerCase().endsWith(DLQ);
  if (deadLetter) p = p.slice(0, -DLQ.length);
  const m = /^([^/]+)\/subscriptions\/([^/]+)$/i.exec(p);
  return m ? { topic: m[1], subscription: m[2], deadLetter } : { queue: p, deadLetter };
}

function toSdk(m: OutgoingMessage): ServiceBusMessage {
  return {
    body: m.body,
    messageId: m.messageId,
    contentType: m.contentType,
    correlationId: m.correlationId,
    subject: m.subject,
    to: m.to,
    replyTo: m.replyTo,
    replyToSessionId: m.replyToSessionId,
    sessionId: m.sessionId,
    partitionKey: m.partitionKey,
    timeToLive: m.timeToLiveMs,
    scheduledEnqueueTimeUtc: m.scheduledEnqueueTimeUtc !== undefined ? new Date(m.scheduledEnqueueTimeUtc) : undefined,
    applicationProperties: m.applicationProperties as ServiceBusMessage['applicationProperties'],
  };
}

function fromSdk(m: ServiceBusReceivedMessage, entityPath: string): ReceivedMessage {
  const seq = m.sequenceNumber as Long | undefined;
  const body: unknown = m.body;
  return {
    entityPath,
    body: Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body ?? null)),
    messageId: String(m.messageId ?? ''),
    contentType: m.contentType,
    correlationId: m.correlationId === undefined ? undefined : String(m.correlationId),
    subject: m.subject,
    to: m.to,
    replyTo: m.replyTo,
    replyToSessionId: m.replyToSessionId,
    sessionId: m.sessionId,
    partitionKey: m.partitionKey,
    applicationProperties: (m.applicationProperties ?? {}) as Record<string, PropertyValue>,
    sequenceNumber: seq ? seq.toNumber() : 0,
    enqueuedTimeUtc: m.enqueuedTimeUtc ?? new Date(0),
    expiresAtUtc: m.expiresAtUtc,
    timeToLiveMs: m.timeToLive,
    scheduledEnqueueTimeUtc: m.scheduledEnqueueTimeUtc,
    deliveryCount: m.deliveryCount ?? 0,
    state: m.state,
    lockToken: m.lockToken,
    lockedUntilUtc: m.lockedUntilUtc,
    deadLetterReason: m.deadLetterReason,
    deadLetterErrorDescription: m.deadLetterErrorDescription,
    deadLetterSource: m.deadLetterSource,
  };
}

export interface AzureServiceBusOptions {
  connection: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * The administration client. The emulators serve the administration API on a port of its own
 * (the official one on 5300, beside AMQP's 5672), so it may have a connection string of its own,
 * <Connection>__administrationConnectionString. With UseDevelopmentEmulator=true that API is
 * plain HTTP: @azure/service-bus 7.9 always speaks HTTPS to it, later releases do what the
 * policy here does (Azure/azure-sdk-for-js#32771).
 */
function administrationClient(connectionString: string): ServiceBusAdministrationClient {
  const admin = new ServiceBusAdministrationClient(connectionString);
  if (/(^|;)\s*UseDevelopmentEmulator\s*=\s*true\s*(;|$)/i.test(connectionString)) {
    admin.pipeline.addPolicy({
      name: 'developmentEmulatorHttp',
      sendRequest: (request, next) => {
        request.url = request.url.replace(/^https:/, 'http:');
        request.allowInsecureConnection = true;
        return next(request);
      },
    });
  }
  return admin;
}

export class AzureServiceBusMessaging implements Messaging {
  readonly kind = 'azure' as const;
  readonly #client: ServiceBusClient;
  readonly #admin: ServiceBusAdministrationClient;
  readonly #senders = new Map<string, ServiceBusSender>();
  readonly #receivers = new Map<string, ServiceBusReceiver>();
  readonly #inflight = new Map<string, { receiver: ServiceBusReceiver; message: ServiceBusReceivedMessage }>();
  readonly #sessions = new Map<string, ServiceBusSessionReceiver>();

  constructor(options: AzureServiceBusOptions) {
    const env = options.env ?? process.env;
    const namespace = env[`${options.connection}__fullyQualifiedNamespace`];
    const connectionString = env[options.connection];
    if (namespace) {
      const credential = credentialFor(options.connection, env);
      this.#client = new ServiceBusClient(namespace, credential);
      this.#admin = new ServiceBusAdministrationClient(namespace, credential);
    } else if (connectionString) {
      this.#client = new ServiceBusClient(connectionString);
      this.#admin = administrationClient(env[`${options.connection}__administrationConnectionString`] || connectionString);
    } else {
      throw new Error(`Set ${options.connection}__fullyQualifiedNamespace (identity) or ${options.connection} (emulator connection string).`);
    }
  }

  #sender(path: string): ServiceBusSender {
    let sender = this.#senders.get(path);
    if (!sender) this.#senders.set(path, (sender = this.#client.createSender(path)));
    return sender;
  }

  #receiver(path: string): ServiceBusReceiver {
    let receiver = this.#receivers.get(path);
    if (!receiver) {
      const a = parseEntityPath(path);
      const options = {
        receiveMode: 'peekLock' as const,
        skipParsingBodyAsJson: true,
        maxAutoLockRenewalDurationInMs: 0,
        subQueueType: a.deadLetter ? ('deadLetter' as const) : undefined,
      };
      receiver = a.topic ? this.#client.createReceiver(a.topic, a.subscription!, options) : this.#client.createReceiver(a.queue!, options);
      this.#receivers.set(path, receiver);
    }
    return receiver;
  }

  #track(receiver: ServiceBusReceiver, messages: ServiceBusReceivedMessage[], path: string): ReceivedMessage[] {
    return messages.map((m) => {
      if (m.lockToken) this.#inflight.set(m.lockToken, { receiver, message: m });
      return fromSdk(m, path);
    });
  }

  #settling(message: ReceivedMessage) {
    const entry = message.lockToken ? this.#inflight.get(message.lockToken) : undefined;
    if (!entry) throw Object.assign(new Error('The lock supplied is invalid (not received by this client).'), { code: 'MessageLockLost' });
    return entry;
  }

  async send(entityPath: string, messages: OutgoingMessage[]): Promise<void> {
    await this.#sender(entityPath).sendMessages(messages.map(toSdk));
  }

  async schedule(entityPath: string, messages: OutgoingMessage[], enqueueAt: Date): Promise<number[]> {
    const seqs = await this.#sender(entityPath).scheduleMessages(messages.map(toSdk), enqueueAt);
    return seqs.map((s) => s.toNumber());
  }

  async cancelScheduled(entityPath: string, sequenceNumbers: number[]): Promise<void> {
    await this.#sender(entityPath).cancelScheduledMessages(sequenceNumbers.map((n) => Long.fromNumber(n)));
  }

  async receive(entityPath: string, options: ReceiveOptions = {}): Promise<ReceivedMessage[]> {
    const receiver = this.#receiver(entityPath);
    const got = await receiver.receiveMessages(options.maxMessages ?? 1, { maxWaitTimeInMs: options.maxWaitMs ?? 0 });
    return this.#track(receiver, got, entityPath);
  }

  async peek(entityPath: string, options: { fromSequenceNumber?: number; maxMessageCount?: number } = {}): Promise<ReceivedMessage[]> {
    const got = await this.#receiver(entityPath).peekMessages(options.maxMessageCount ?? 1, {
      fromSequenceNumber: options.fromSequenceNumber !== undefined ? Long.fromNumber(options.fromSequenceNumber) : undefined,
    });
    return got.map((m) => fromSdk(m, entityPath));
  }

  async complete(message: ReceivedMessage): Promise<void> {
    const { receiver, message: m } = this.#settling(message);
    await receiver.completeMessage(m);
    this.#inflight.delete(message.lockToken!);
  }

  async abandon(message: ReceivedMessage, propertiesToModify?: Record<string, PropertyValue>): Promise<void> {
    const { receiver, message: m } = this.#settling(message);
    await receiver.abandonMessage(m, propertiesToModify as Record<string, number | boolean | string | Date | null>);
    this.#inflight.delete(message.lockToken!);
  }

  async deadLetter(message: ReceivedMessage, options: DeadLetterOptions = {}): Promise<void> {
    const { receiver, message: m } = this.#settling(message);
    await receiver.deadLetterMessage(m, {
      deadLetterReason: options.deadLetterReason ?? '',
      deadLetterErrorDescription: options.deadLetterErrorDescription ?? '',
      ...(options.propertiesToModify as Record<string, number | boolean | string | Date | null>),
    });
    this.#inflight.delete(message.lockToken!);
  }

  async defer(message: ReceivedMessage, propertiesToModify?: Record<string, PropertyValue>): Promise<void> {
    const { receiver, message: m } = this.#settling(message);
    await receiver.deferMessage(m, propertiesToModify as Record<string, number | boolean | string | Date | null>);
    this.#inflight.delete(message.lockToken!);
  }

  async receiveDeferred(entityPath: string, sequenceNumbers: number[]): Promise<ReceivedMessage[]> {
    const receiver = this.#receiver(entityPath);
    const got = await receiver.receiveDeferredMessages(sequenceNumbers.map((n) => Long.fromNumber(n)));
    return this.#track(receiver, got, entityPath);
  }

  async renewLock(message: ReceivedMessage): Promise<Date> {
    const { receiver, message: m } = this.#settling(message);
    return receiver.renewMessageLock(m);
  }

  async acceptSession(entityPath: string, options: { sessionId?: string; maxWaitMs?: number } = {}): Promise<SessionLock | null> {
    const a = parseEntityPath(entityPath);
    const opts = { receiveMode: 'peekLock' as const, skipParsingBodyAsJson: true, maxAutoLockRenewalDurationInMs: 0 };
    let receiver: ServiceBusSessionReceiver;
    try {
      if (options.sessionId !== undefined) {
        receiver = a.topic ? await this.#client.acceptSession(a.topic, a.subscription!, options.sessionId, opts) : await this.#client.acceptSession(a.queue!, options.sessionId, opts);
      } else {
        const abortSignal = options.maxWaitMs !== undefined ? AbortSignal.timeout(Math.max(options.maxWaitMs, 1)) : undefined;
        receiver = a.topic ? await this.#client.acceptNextSession(a.topic, a.subscription!, { ...opts, abortSignal }) : await this.#client.acceptNextSession(a.queue!, { ...opts, abortSignal });
      }
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (options.sessionId === undefined && (code === 'ServiceTimeout' || code === 'SessionCannotBeLocked' || (error as Error).name === 'AbortError')) {
        return null;
      }
      throw error;
    }
    const lockToken = `${receiver.sessionId}:${crypto.randomUUID()}`;
    this.#sessions.set(lockToken, receiver);
    return { entityPath, sessionId: receiver.sessionId, lockToken, lockedUntilUtc: receiver.sessionLockedUntilUtc ?? new Date() };
  }

  #session(session: SessionLock): ServiceBusSessionReceiver {
    const receiver = this.#sessions.get(session.lockToken);
    if (!receiver) throw Object.assign(new Error('The session lock has expired or was released.'), { code: 'SessionLockLost' });
    return receiver;
  }

  async receiveFromSession(session: SessionLock, options: ReceiveOptions = {}): Promise<ReceivedMessage[]> {
    const receiver = this.#session(session);
    const got = await receiver.receiveMessages(options.maxMessages ?? 1, { maxWaitTimeInMs: options.maxWaitMs ?? 0 });
    return this.#track(receiver, got, session.entityPath);
  }

  renewSessionLock(session: SessionLock): Promise<Date> {
    return this.#session(session).renewSessionLock();
  }

  async getSessionState(session: SessionLock): Promise<Buffer | null> {
    const state: unknown = await this.#session(session).getSessionState();
    if (state === null || state === undefined) return null;
    return Buffer.isBuffer(state) ? state : Buffer.from(String(state));
  }

  async setSessionState(session: SessionLock, state: Buffer | null): Promise<void> {
    await this.#session(session).setSessionState(state ?? '');
  }

  async releaseSession(session: SessionLock): Promise<void> {
    const receiver = this.#sessions.get(session.lockToken);
    this.#sessions.delete(session.lockToken);
    await receiver?.close();
  }

  async listEntities(): Promise<EntityDescription[]> {
    const out: EntityDescription[] = [];
    for await (const q of this.#admin.listQueues()) out.push({ path: q.name, kind: 'queue' });
    for await (const t of this.#admin.listTopics()) {
      out.push({ path: t.name, kind: 'topic' });
      for await (const s of this.#admin.listSubscriptions(t.name)) out.push({ path: `${t.name}/subscriptions/${s.subscriptionName}`, kind: 'subscription' });
    }
    return out;
  }

  async runtimeProperties(entityPath: string): Promise<EntityRuntimeProperties> {
    const a = parseEntityPath(entityPath);
    if (a.topic) {
      const s = await this.#admin.getSubscriptionRuntimeProperties(a.topic, a.subscription!);
      return {
        name: `${a.topic}/subscriptions/${a.subscription}`,
        kind: 'subscription',
        topicName: a.topic,
        subscriptionName: a.subscription!,
        activeMessageCount: s.activeMessageCount,
        deadLetterMessageCount: s.deadLetterMessageCount,
        transferMessageCount: s.transferMessageCount,
        transferDeadLetterMessageCount: s.transferDeadLetterMessageCount,
        totalMessageCount: s.totalMessageCount,
      };
    }
    // Service Bus answers GET /{name} with whichever entity has the name, and a topic's description
    // reads as a queue's runtime properties without complaint: ask which kind it is first.
    if (!(await this.#admin.queueExists(a.queue!))) {
      const t = await this.#admin.getTopicRuntimeProperties(a.queue!);
      return { name: t.name, kind: 'topic', scheduledMessageCount: t.scheduledMessageCount, sizeInBytes: t.sizeInBytes ?? 0, subscriptionCount: t.subscriptionCount ?? 0 };
    }
    const q = await this.#admin.getQueueRuntimeProperties(a.queue!);
    return {
      name: q.name,
      kind: 'queue',
      activeMessageCount: q.activeMessageCount,
      deadLetterMessageCount: q.deadLetterMessageCount,
      scheduledMessageCount: q.scheduledMessageCount,
      transferMessageCount: q.transferMessageCount,
      transferDeadLetterMessageCount: q.transferDeadLetterMessageCount,
      totalMessageCount: q.totalMessageCount ?? 0,
      sizeInBytes: q.sizeInBytes ?? 0,
    };
  }

  /**
   * Service Bus cannot receive one message by sequence number unless it is deferred, so the
   * source is received in peek-lock until the wanted messages turn up; each is handled and
   * completed, the others are abandoned (a dead-letter queue keeps no delivery count; on a
   * parking queue an abandon counts one). Returns the sequence numbers it found.
   */
  async #takeBySequence(sourcePath: string, wanted: Set<number>, handle: (m: ServiceBusReceivedMessage) => Promise<void>): Promise<number[]> {
    const receiver = this.#receiver(sourcePath);
    const passed: ServiceBusReceivedMessage[] = [];
    const found: number[] = [];
    // A peek from the lowest sequence number wanted tells at once whether any of them is there,
    // rather than after receives that wait for messages that do not exist.
    const ahead = (await receiver.peekMessages(100, { fromSequenceNumber: Long.fromNumber(Math.min(...wanted)) })).map((m) => (m.sequenceNumber as Long).toNumber());
    const covered = ahead.length < 100 || ahead[ahead.length - 1]! >= Math.max(...wanted);
    if (covered && !ahead.some((seq) => wanted.has(seq))) return found;
    try {
      for (let round = 0; round < 100 && found.length < wanted.size; round++) {
        const batch = await receiver.receiveMessages(100, { maxWaitTimeInMs: 2000 });
        if (batch.length === 0) break;
        for (const m of batch) {
          const seq = (m.sequenceNumber as Long).toNumber();
          if (!wanted.has(seq)) {
            passed.push(m);
            continue;
          }
          try {
            await handle(m);
          } catch (error) {
            // Refused or failed: the message stays where it was, at once rather than after its lock expires.
            await receiver.abandonMessage(m).catch(() => undefined);
            throw error;
          }
          await receiver.completeMessage(m);
          found.push(seq);
        }
      }
    } finally {
      await Promise.allSettled(passed.map((m) => receiver.abandonMessage(m)));
    }
    return found;
  }

  /** A subscription's dead letter goes back through its topic — Service Bus cannot send to one subscription. */
  async resubmit(sourcePath: string, sequenceNumber: number, targetPath?: string, prepare?: ResubmitPreparer): Promise<{ messageId: string; sequenceNumber?: number }> {
    const deadLetter = sourcePath.toLowerCase().endsWith(DLQ);
    if (!deadLetter && targetPath === undefined) throw new Error(`Resubmitting from '${sourcePath}' needs a target entity.`);
    const origin = parseEntityPath(deadLetter ? sourcePath.slice(0, -DLQ.length) : sourcePath);
    const target = targetPath ?? origin.topic ?? origin.queue!;
    let messageId = '';
    const found = await this.#takeBySequence(sourcePath, new Set([sequenceNumber]), async (m) => {
      const original = fromSdk(m, sourcePath);
      const copy = resubmitCopy(original);
      messageId = copy.messageId!;
      await this.send(parseEntityPath(target).topic ?? target, [prepare ? { ...prepare(copy, original), messageId } : copy]);
    });
    if (found.length === 0) throw Object.assign(new Error(`No message with sequence number ${sequenceNumber} in '${sourcePath}'.`), { code: 'MessageNotFound' });
    return { messageId };
  }

  async remove(sourcePath: string, sequenceNumbers: number[]): Promise<number> {
    return (await this.#takeBySequence(sourcePath, new Set(sequenceNumbers), async () => undefined)).length;
  }

  async probe(): Promise<void> {
    const first = (await this.#admin.listQueues().byPage({ maxPageSize: 1 }).next()).value as { name: string }[] | undefined;
    if (first?.[0]) await this.#receiver(first[0].name).peekMessages(1);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#senders.values(), ...this.#receivers.values(), ...this.#sessions.values()].map((c) => c.close()));
    await this.#client.close();
  }
}
