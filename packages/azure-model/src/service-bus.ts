// Service Bus message shapes as both sides of this repository use them. They follow
// @azure/service-bus (ServiceBusMessage / ServiceBusReceivedMessage): the app's Service Bus adapter
// maps them 1:1, its messaging port is written in them, and the local Azure's broker stores them.

export type PropertyValue = string | number | boolean | Date | null;

/** The broker properties a message carries whichever way it travels. */
interface MessageHeaders {
  contentType?: string;
  correlationId?: string;
  subject?: string;
  to?: string;
  replyTo?: string;
  replyToSessionId?: string;
  sessionId?: string;
  partitionKey?: string;
}

export interface OutgoingMessage extends MessageHeaders {
  body: Buffer;
  messageId?: string;
  /** Per-message TTL; the entity's defaultMessageTimeToLive is the ceiling. */
  timeToLiveMs?: number;
  /** Epoch ms; the message stays invisible (state "scheduled") until then. */
  scheduledEnqueueTimeUtc?: number;
  applicationProperties?: Record<string, PropertyValue>;
}

export type MessageState = 'active' | 'deferred' | 'scheduled';

export interface ReceivedMessage extends MessageHeaders {
  /** The path it was received or peeked from, e.g. "inbound" or "inbound/$deadletterqueue". */
  entityPath: string;
  body: Buffer;
  messageId: string;
  applicationProperties: Record<string, PropertyValue>;
  sequenceNumber: number;
  enqueuedTimeUtc: Date;
  /** Undefined when the TTL is effectively infinite. */
  expiresAtUtc?: Date;
  timeToLiveMs?: number;
  scheduledEnqueueTimeUtc?: Date;
  /**
   * Previous delivery attempts, as on the AMQP wire and in @azure/service-bus: 0 on the first
   * delivery. (The Functions host shows this + 1 in trigger metadata, as the .NET SDK does.)
   */
  deliveryCount: number;
  state: MessageState;
  lockToken?: string;
  lockedUntilUtc?: Date;
  deadLetterReason?: string;
  deadLetterErrorDescription?: string;
  deadLetterSource?: string;
}

/** Error codes follow ServiceBusError.code in @azure/service-bus. */
export type BrokerErrorCode =
  | 'MessagingEntityNotFound'
  | 'MessagingEntityAlreadyExists'
  | 'MessageLockLost'
  | 'SessionLockLost'
  | 'SessionCannotBeLocked'
  | 'MessageSizeExceeded'
  | 'MessageNotFound'
  | 'InvalidOperation'
  | 'GeneralError';

export class BrokerError extends Error {
  override name = 'ServiceBusError';
  constructor(
    readonly code: BrokerErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface QueueRuntimeProperties {
  name: string;
  kind: 'queue';
  activeMessageCount: number;
  deadLetterMessageCount: number;
  scheduledMessageCount: number;
  transferMessageCount: number;
  transferDeadLetterMessageCount: number;
  totalMessageCount: number;
  sizeInBytes: number;
}

export interface SubscriptionRuntimeProperties {
  name: string;
  kind: 'subscription';
  topicName: string;
  subscriptionName: string;
  activeMessageCount: number;
  deadLetterMessageCount: number;
  transferMessageCount: number;
  transferDeadLetterMessageCount: number;
  totalMessageCount: number;
}

export interface TopicRuntimeProperties {
  name: string;
  kind: 'topic';
  scheduledMessageCount: number;
  sizeInBytes: number;
  subscriptionCount: number;
}

export type EntityRuntimeProperties = QueueRuntimeProperties | SubscriptionRuntimeProperties | TopicRuntimeProperties;

export interface SessionLock {
  entityPath: string;
  sessionId: string;
  lockToken: string;
  lockedUntilUtc: Date;
}

export interface ReceiveOptions {
  maxMessages?: number;
  maxWaitMs?: number;
}

export interface DeadLetterOptions {
  deadLetterReason?: string;
  deadLetterErrorDescription?: string;
  propertiesToModify?: Record<string, PropertyValue>;
}

export interface EntityDescription {
  path: string;
  kind: 'queue' | 'topic' | 'subscription';
}
