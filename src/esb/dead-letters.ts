// Operations on the messaging namespace: how deep every queue and subscription is, what sits in
// a dead-letter queue and why, and sending one dead letter back.
import type { Messaging } from '../messaging/messaging';
import type { ReceivedMessage } from '../messaging/types';
import { NotFoundError, ValidationError } from '../shared/errors';

export interface EntityDepth {
  path: string;
  kind: 'queue' | 'topic' | 'subscription';
  activeMessageCount?: number;
  deadLetterMessageCount?: number;
  scheduledMessageCount?: number;
  totalMessageCount?: number;
}

export async function entityDepths(port: Messaging): Promise<EntityDepth[]> {
  const entities = await port.listEntities();
  return Promise.all(
    entities.map(async (e) => {
      const p = await port.runtimeProperties(e.path);
      return {
        path: e.path,
        kind: e.kind,
        ...('activeMessageCount' in p ? { activeMessageCount: p.activeMessageCount, deadLetterMessageCount: p.deadLetterMessageCount } : {}),
        ...('scheduledMessageCount' in p ? { scheduledMessageCount: p.scheduledMessageCount } : {}),
        ...('totalMessageCount' in p ? { totalMessageCount: p.totalMessageCount } : {}),
      };
    }),
  );
}

export interface DeadLetterView {
  sequenceNumber: number;
  messageId: string;
  correlationId?: string;
  messageType?: string;
  deadLetterReason?: string;
  deadLetterErrorDescription?: string;
  deliveryCount: number;
  enqueuedTimeUtc: string;
  applicationProperties: Record<string, unknown>;
  body: unknown;
  bodyTruncated: boolean;
}

const BODY_PREVIEW_BYTES = 16 * 1024;

function view(m: ReceivedMessage): DeadLetterView {
  const truncated = m.body.length > BODY_PREVIEW_BYTES;
  const text = m.body.subarray(0, BODY_PREVIEW_BYTES).toString('utf8');
  let body: unknown = text;
  if (!truncated && m.contentType?.includes('json')) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  return {
    sequenceNumber: m.sequenceNumber,
    messageId: m.messageId,
    correlationId: m.correlationId,
    messageType: typeof m.applicationProperties.messageType === 'string' ? m.applicationProperties.messageType : m.subject,
    deadLetterReason: m.deadLetterReason,
    deadLetterErrorDescription: m.deadLetterErrorDescription,
    deliveryCount: m.deliveryCount,
    enqueuedTimeUtc: m.enqueuedTimeUtc.toISOString(),
    applicationProperties: m.applicationProperties,
    body,
    bodyTruncated: truncated,
  };
}

async function requireEntity(port: Messaging, entity: string | null): Promise<string> {
  if (!entity) throw new ValidationError('The entity query parameter is required (a queue, or topic/subscriptions/name)', 'entity');
  const known = await port.listEntities();
  const match = known.find((e) => e.path.toLowerCase() === entity.toLowerCase() && e.kind !== 'topic');
  if (!match) throw new NotFoundError(`No queue or subscription named '${entity}'`, 'entity');
  return match.path;
}

function intParam(value: string | null, name: string, min: number, max: number, fallback: number): number {
  if (value === null || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new ValidationError(`${name} must be an integer from ${min} to ${max}`, name);
  return n;
}

export async function browseDeadLetters(
  port: Messaging,
  query: { entity: string | null; fromSequenceNumber: string | null; max: string | null },
): Promise<{ entity: string; deadLetters: DeadLetterView[]; nextSequenceNumber?: number }> {
  const entity = await requireEntity(port, query.entity);
  const from = intParam(query.fromSequenceNumber, 'fromSequenceNumber', 0, Number.MAX_SAFE_INTEGER, 0);
  const max = intParam(query.max, 'max', 1, 250, 50);
  const messages = await port.peek(`${entity}/$deadletterqueue`, { fromSequenceNumber: from, maxMessageCount: max });
  const last = messages.at(-1);
  return {
    entity,
    deadLetters: messages.map(view),
    ...(messages.length === max && last ? { nextSequenceNumber: last.sequenceNumber + 1 } : {}),
  };
}

export async function resubmitDeadLetter(port: Messaging, entityParam: string | null, sequenceNumber: string) {
  const entity = await requireEntity(port, entityParam);
  const seq = intParam(sequenceNumber, 'sequenceNumber', 0, Number.MAX_SAFE_INTEGER, -1);
  try {
    return { entity, resubmitted: await port.resubmitDeadLetter(entity, seq) };
  } catch (error) {
    if ((error as { code?: string }).code === 'MessageNotFound') {
      throw new NotFoundError(`No dead letter with sequence number ${seq} in '${entity}'`, 'sequenceNumber');
    }
    throw error;
  }
}
