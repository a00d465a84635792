// Signature verification at a Service Bus trigger (SDK-type bindings,
// @azure/functions-extensions-servicebus): before a function does anything with a message, its
// HMAC is checked over the bytes and properties as the broker delivered them; a message that is
// unsigned, names an unknown or long-retired key, or does not match is dead-lettered with reason
// SignatureInvalid and a description saying which check failed.
import type { InvocationContext } from '@azure/functions';
import type { ServiceBusMessageContext } from '@azure/functions-extensions-servicebus';
import type { ServiceBusReceivedMessage } from '@azure/service-bus';
import { CATEGORY_PROPERTY, categorise } from '../esb/dead-letter-categories';
import { markActiveSpan } from '../observability/tracing';
import { signingKeys } from '../security/key-settings';
import { SIGNATURE_INVALID, verifyMessage, type SignableMessage, type Verification } from '../security/message-signature';
import { deadLetter } from './service-bus-actions';

type RawAmqp = { body?: { content?: unknown }; messageAnnotations?: Record<string, unknown> };
const raw = (message: ServiceBusReceivedMessage) => (message as unknown as { _rawAmqpMessage?: RawAmqp })._rawAmqpMessage;

/** The message's bytes as they were sent (the extension decodes JSON bodies into objects). */
export function rawBody(message: ServiceBusReceivedMessage): Buffer {
  const content = raw(message)?.body?.content;
  if (Buffer.isBuffer(content)) return content;
  const body: unknown = message.body;
  if (Buffer.isBuffer(body)) return body;
  return Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
}

/** When the broker accepted the message; the extension leaves enqueuedTimeUtc unset when the annotation decodes as a Date. */
export function enqueuedTimeOf(message: ServiceBusReceivedMessage): number | undefined {
  const annotated = raw(message)?.messageAnnotations?.['x-opt-enqueued-time'];
  const at = message.enqueuedTimeUtc ?? (annotated instanceof Date ? annotated : typeof annotated === 'number' ? new Date(annotated) : undefined);
  return at && !Number.isNaN(at.getTime()) ? at.getTime() : undefined;
}

export function signableOf(message: ServiceBusReceivedMessage): SignableMessage {
  return {
    messageId: message.messageId,
    subject: message.subject,
    correlationId: message.correlationId,
    contentType: message.contentType,
    sessionId: message.sessionId,
    applicationProperties: (message.applicationProperties ?? {}) as Record<string, unknown>,
    body: rawBody(message),
  };
}

/** Checks a delivered message's signature for the entity it came from; a missing or broken key setting throws (the invocation fails and the message comes back). */
export function verifyDelivered(message: ServiceBusReceivedMessage, entityPath: string, now = Date.now()): Verification {
  return verifyMessage(signableOf(message), signingKeys(), { destination: entityPath, enqueuedAt: enqueuedTimeOf(message), now });
}

/** True when the message may be processed; otherwise it has been dead-lettered SignatureInvalid. */
export async function verifiedOrDeadLettered(serviceBus: ServiceBusMessageContext, context: InvocationContext, entityPath: string): Promise<boolean> {
  const message = serviceBus.messages as ServiceBusReceivedMessage;
  const check = verifyDelivered(message, entityPath);
  if (check.valid) return true;
  markActiveSpan('error', `${SIGNATURE_INVALID}: ${check.description}`, { 'esb.deadletter.reason': SIGNATURE_INVALID });
  context.warn(`Dead-lettered message ${String(message.messageId)}: ${SIGNATURE_INVALID} ${check.description}`);
  await deadLetter(serviceBus.actions, message, SIGNATURE_INVALID, check.description, { [CATEGORY_PROPERTY]: categorise(SIGNATURE_INVALID) });
  return false;
}
