// What a resubmitted dead letter becomes, the same for both messaging adapters: a new message with
// a new messageId and the app's resubmit properties (so duplicate detection keeps it, and triage can tell).
import { createHash } from 'node:crypto';
import type { OutgoingMessage, PropertyValue, ReceivedMessage } from '@backbone/azure-model/service-bus';

const MAX_ID_LENGTH = 128;

/**
 * A resubmitted dead letter is a new message; its messageId gets a "#rN" suffix so duplicate
 * detection (keyed on messageId) does not silently drop it. Consumers deduplicate on the
 * envelope's own messageId, which stays unchanged.
 */
export function resubmittedMessageId(messageId: string, attempt: number): string {
  const suffix = `#r${attempt}`;
  const base = messageId.length + suffix.length <= MAX_ID_LENGTH ? messageId : createHash('sha256').update(messageId).digest('hex');
  return base + suffix;
}

/**
 * The message a resubmit sends, from the one it takes: the same body and broker properties, a
 * new messageId (above), `x-resubmit-count` and `x-original-message-id` added, and what dead
 * lettering and triage wrote (DeadLetter*, x-dead-letter-*, x-triaged-at) left behind. Both
 * adapters send this.
 */
export function resubmitCopy(original: ReceivedMessage): OutgoingMessage {
  const props = { ...(original.applicationProperties ?? {}) } as Record<string, PropertyValue>;
  const attempt = Number(props['x-resubmit-count'] ?? 0) + 1;
  const originalId = typeof props['x-original-message-id'] === 'string' ? props['x-original-message-id'] : String(original.messageId);
  for (const key of Object.keys(props)) if (key.startsWith('DeadLetter') || key.startsWith('x-dead-letter-') || key === 'x-triaged-at') delete props[key];
  return {
    body: original.body,
    messageId: resubmittedMessageId(originalId, attempt),
    contentType: original.contentType,
    correlationId: original.correlationId,
    subject: original.subject,
    to: original.to,
    replyTo: original.replyTo,
    replyToSessionId: original.replyToSessionId,
    sessionId: original.sessionId,
    partitionKey: original.partitionKey,
    timeToLiveMs: original.timeToLiveMs,
    applicationProperties: { ...props, 'x-resubmit-count': attempt, 'x-original-message-id': originalId },
  };
}
