// The messaging port: what the app (and the broker contract suite) needs from Service Bus.
// Two adapters implement it — src/adapters/azure/service-bus.ts on @azure/service-bus, and
// src/adapters/embedded/messaging.ts on the embedded broker — chosen by configuration.
import type { DeadLetterOptions, EntityDescription, EntityRuntimeProperties, OutgoingMessage, PropertyValue, ReceivedMessage, ReceiveOptions, SessionLock } from '@backbone/azure-model/service-bus';

export type { DeadLetterOptions, EntityDescription, ReceiveOptions } from '@backbone/azure-model/service-bus';

export interface MessageSender {
  /** Resolves once the broker has accepted (and persisted) every message. */
  send(entityPath: string, messages: OutgoingMessage[]): Promise<void>;
  schedule(entityPath: string, messages: OutgoingMessage[], enqueueAt: Date): Promise<number[]>;
  cancelScheduled(entityPath: string, sequenceNumbers: number[]): Promise<void>;
}

export interface MessageReceiver {
  receive(entityPath: string, options?: ReceiveOptions): Promise<ReceivedMessage[]>;
  peek(entityPath: string, options?: { fromSequenceNumber?: number; maxMessageCount?: number }): Promise<ReceivedMessage[]>;
  complete(message: ReceivedMessage): Promise<void>;
  abandon(message: ReceivedMessage, propertiesToModify?: Record<string, PropertyValue>): Promise<void>;
  deadLetter(message: ReceivedMessage, options?: DeadLetterOptions): Promise<void>;
  defer(message: ReceivedMessage, propertiesToModify?: Record<string, PropertyValue>): Promise<void>;
  receiveDeferred(entityPath: string, sequenceNumbers: number[]): Promise<ReceivedMessage[]>;
  renewLock(message: ReceivedMessage): Promise<Date>;
  /** Locks a session (the given one, or the next available); null when none came in time. */
  acceptSession(entityPath: string, options?: { sessionId?: string; maxWaitMs?: number }): Promise<SessionLock | null>;
  receiveFromSession(session: SessionLock, options?: ReceiveOptions): Promise<ReceivedMessage[]>;
  renewSessionLock(session: SessionLock): Promise<Date>;
  getSessionState(session: SessionLock): Promise<Buffer | null>;
  setSessionState(session: SessionLock, state: Buffer | null): Promise<void>;
  releaseSession(session: SessionLock): Promise<void>;
}

/**
 * Sees the message as it sits and the copy about to be sent, and returns what is sent (the
 * signing decorator re-signs it there); throwing refuses the resubmit and leaves the message
 * where it is. Synchronous: the embedded broker calls it inside its transaction.
 */
export type ResubmitPreparer = (copy: OutgoingMessage, original: ReceivedMessage) => OutgoingMessage;

export interface MessagingAdmin {
  /** Queues, topics and subscriptions of the namespace. */
  listEntities(): Promise<EntityDescription[]>;
  runtimeProperties(entityPath: string): Promise<EntityRuntimeProperties>;
  /**
   * Sends one message back and removes it from where it sits: from a dead-letter queue
   * ("inbound/$deadletterqueue") to its entity by default, or from any queue to `targetPath`.
   * The copy gets messageId "<original>#r<n>" so duplicate detection does not drop it.
   */
  resubmit(sourcePath: string, sequenceNumber: number, targetPath?: string, prepare?: ResubmitPreparer): Promise<{ messageId: string; sequenceNumber?: number }>;
  /** Deletes the given messages from a queue or dead-letter queue; returns how many went. */
  remove(sourcePath: string, sequenceNumbers: number[]): Promise<number>;
  /** A cheap round trip to the namespace, for health checks. */
  probe(): Promise<void>;
}

export interface Messaging extends MessageSender, MessageReceiver, MessagingAdmin {
  readonly kind: 'embedded' | 'azure';
  close(): Promise<void>;
}

/** The messageId a resubmitted dead letter carries, so duplicate detection does not drop it. */
export { resubmittedMessageId } from '../adapters/resubmit';
