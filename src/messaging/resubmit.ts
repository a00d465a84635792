import { createHash } from 'node:crypto';

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
