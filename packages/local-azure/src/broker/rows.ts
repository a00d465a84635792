// How a message sits in the broker's SQLite rows, and back: the row shape, application properties
// as JSON (dates kept as dates), the message state codes.
import type { MessageState, OutgoingMessage, PropertyValue, ReceivedMessage } from '@backbone/azure-model/service-bus';

export const STATE_CODE: Record<MessageState, number> = { active: 0, deferred: 1, scheduled: 2 };
export const STATE_NAME: MessageState[] = ['active', 'deferred', 'scheduled'];

export interface Row {
  id: number;
  entity: string;
  dlq: number;
  seq: number;
  state: number;
  message_id: string;
  session_id: string | null;
  partition_key: string | null;
  correlation_id: string | null;
  content_type: string | null;
  subject: string | null;
  to_addr: string | null;
  reply_to: string | null;
  reply_to_session_id: string | null;
  app_props: string | null;
  body: Buffer;
  size: number;
  ttl_ms: number | null;
  enqueued_at: number;
  scheduled_at: number | null;
  expires_at: number | null;
  delivery_count: number;
  lock_token: string | null;
  locked_until: number | null;
  session_lock: string | null;
  dl_reason: string | null;
  dl_description: string | null;
  dl_source: string | null;
}

export function encodeProps(props: Record<string, PropertyValue> | undefined): string | null {
  if (!props || Object.keys(props).length === 0) return null;
  return JSON.stringify(props, function (this: Record<string, unknown>, key, value: unknown) {
    const raw = this[key];
    return raw instanceof Date ? { $date: raw.getTime() } : value;
  });
}

export function decodeProps(text: string | null): Record<string, PropertyValue> {
  if (!text) return {};
  return JSON.parse(text, (_key, value: unknown) => (value && typeof value === 'object' && '$date' in value ? new Date((value as { $date: number }).$date) : value)) as Record<string, PropertyValue>;
}

export function toOutgoing(row: Row): OutgoingMessage & { messageId: string } {
  return {
    body: row.body,
    messageId: row.message_id,
    contentType: row.content_type ?? undefined,
    correlationId: row.correlation_id ?? undefined,
    subject: row.subject ?? undefined,
    to: row.to_addr ?? undefined,
    replyTo: row.reply_to ?? undefined,
    replyToSessionId: row.reply_to_session_id ?? undefined,
    sessionId: row.session_id ?? undefined,
    partitionKey: row.partition_key ?? undefined,
    timeToLiveMs: row.ttl_ms ?? undefined,
    applicationProperties: decodeProps(row.app_props),
  };
}

export function toReceived(row: Row, entityPath: string): ReceivedMessage {
  const m: ReceivedMessage = {
    entityPath,
    body: row.body,
    messageId: row.message_id,
    applicationProperties: decodeProps(row.app_props),
    sequenceNumber: row.seq,
    enqueuedTimeUtc: new Date(row.state === 2 ? (row.scheduled_at ?? row.enqueued_at) : row.enqueued_at),
    deliveryCount: row.delivery_count,
    state: STATE_NAME[row.state]!,
  };
  const optional: [keyof ReceivedMessage, unknown][] = [
    ['contentType', row.content_type],
    ['correlationId', row.correlation_id],
    ['subject', row.subject],
    ['to', row.to_addr],
    ['replyTo', row.reply_to],
    ['replyToSessionId', row.reply_to_session_id],
    ['sessionId', row.session_id],
    ['partitionKey', row.partition_key],
    ['timeToLiveMs', row.ttl_ms],
    ['expiresAtUtc', row.expires_at === null ? null : new Date(row.expires_at)],
    ['scheduledEnqueueTimeUtc', row.scheduled_at === null ? null : new Date(row.scheduled_at)],
    ['lockToken', row.lock_token],
    ['lockedUntilUtc', row.locked_until === null ? null : new Date(row.locked_until)],
    ['deadLetterReason', row.dl_reason],
    ['deadLetterErrorDescription', row.dl_description],
    ['deadLetterSource', row.dl_source],
  ];
  for (const [k, v] of optional) if (v !== null && v !== undefined) (m as unknown as Record<string, unknown>)[k] = v;
  return m;
}
