// Message shapes of the messaging port. They follow @azure/service-bus (ServiceBusMessage /
// ServiceBusReceivedMessage), so the Service Bus adapter maps them 1:1 and the embedded broker
// stores them as they are.

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
