// Dead-letter triage: every message that lands in a dead-letter queue of the app's queues is
// categorised (dead-letter-categories.ts) and moved on:
//   TRANSIENT       back to its queue, scheduled with backoff, at most MAX_TRIAGE_RESUBMITS times;
//                   after that, archived
//   INVALID_FORMAT  to the review queue
//   BUSINESS_RULE   to the business-alerts topic
//   OTHER           to the archive queue
// Parked copies keep the body and properties and say where they came from and why, so the ops
// endpoints can filter them and send them back.
import type { MessageSender } from '../ports/messaging';
import type { OutgoingMessage, PropertyValue } from '@backbone/azure-model/service-bus';
import { CATEGORY_PROPERTY, categorise, type DeadLetterCategory } from './dead-letter-categories';
import { RETRY_PROPERTIES, retryDelayMs, type BackoffPolicy } from './retry';
import { SIGNATURE_INVALID, VERIFICATION_FAILED, VERIFICATION_PROPERTY } from '../security/message-signature';

export const REVIEW_QUEUE = 'review';
export const ARCHIVE_QUEUE = 'archive';
export const BUSINESS_ALERTS_TOPIC = 'business-alerts';
export const PARKING_QUEUES = [REVIEW_QUEUE, ARCHIVE_QUEUE] as const;
export const MAX_TRIAGE_RESUBMITS = 3;
export const TRIAGE_BACKOFF: BackoffPolicy = { initialIntervalMs: 5 * 60_000, maxIntervalMs: 2 * 3600_000 };

/** Properties a parked or resubmitted dead letter carries. */
export const TRIAGE_PROPERTIES = {
  reason: 'x-dead-letter-reason',
  description: 'x-dead-letter-description',
  category: 'x-dead-letter-category',
  originalEntity: 'x-original-entity',
  originalMessageId: 'x-original-message-id',
  triagedAt: 'x-triaged-at',
  resubmits: 'x-triage-resubmits',
} as const;

export interface DeadLetteredMessage {
  /** The queue (or subscription) it was dead-lettered from. */
  entity: string;
  messageId: string;
  body: Buffer;
  contentType?: string;
  correlationId?: string;
  subject?: string;
  sessionId?: string;
  applicationProperties: Record<string, PropertyValue>;
  deadLetterReason?: string;
  deadLetterErrorDescription?: string;
}

export type TriageDecision = { action: 'resubmit'; category: DeadLetterCategory; attempt: number; at: Date } | { action: 'park'; category: DeadLetterCategory; destination: string; why: string };

export function triage(message: DeadLetteredMessage, now: Date, random: () => number = Math.random): TriageDecision {
  const category = categorise(message.deadLetterReason, message.applicationProperties[CATEGORY_PROPERTY]);
  switch (category) {
    case 'TRANSIENT': {
      const done = Number(message.applicationProperties[TRIAGE_PROPERTIES.resubmits] ?? 0);
      if (done >= MAX_TRIAGE_RESUBMITS) {
        return { action: 'park', category, destination: ARCHIVE_QUEUE, why: `still failing after ${done} resubmissions` };
      }
      const attempt = done + 1;
      return { action: 'resubmit', category, attempt, at: new Date(now.getTime() + retryDelayMs(attempt, TRIAGE_BACKOFF, random)) };
    }
    case 'INVALID_FORMAT':
      return { action: 'park', category, destination: REVIEW_QUEUE, why: 'needs a person to look at its content' };
    case 'BUSINESS_RULE':
      return { action: 'park', category, destination: BUSINESS_ALERTS_TOPIC, why: 'a business rule or route rejected it' };
    default:
      return { action: 'park', category, destination: ARCHIVE_QUEUE, why: 'nothing automatic can fix it' };
  }
}

/** What to do when carrying out a decision failed: archive, saying why. */
export function triageFailed(message: DeadLetteredMessage, error: unknown): TriageDecision {
  message.applicationProperties = { ...message.applicationProperties, 'x-triage-error': String((error as Error)?.message ?? error).slice(0, 512) };
  return { action: 'park', category: categorise(message.deadLetterReason, message.applicationProperties[CATEGORY_PROPERTY]), destination: ARCHIVE_QUEUE, why: 'triage failed' };
}

/** Service Bus Standard: 64 KB of properties (the header), 256 KB for a message with its properties. */
export const MESSAGE_LIMITS = { maxHeaderBytes: 64 * 1024, maxMessageBytes: 256 * 1024 };

function headerBytes(m: OutgoingMessage): number {
  let n = 0;
  for (const s of [m.messageId, m.contentType, m.correlationId, m.subject, m.sessionId]) n += s ? Buffer.byteLength(s) : 0;
  for (const [k, v] of Object.entries(m.applicationProperties ?? {})) n += Buffer.byteLength(k) + (typeof v === 'string' ? Buffer.byteLength(v) : 8);
  return n;
}

/**
 * A parked copy carries the triage properties on top of the message's own, so a message that was
 * near the property limit when it arrived would no longer fit — and a dead letter that cannot be
 * moved comes back forever (a dead-letter queue has no maxDeliveryCount). The message's own
 * properties give way, largest first, and the copy names those it dropped.
 */
function fitted(copy: OutgoingMessage, own: Set<string>): OutgoingMessage {
  const props = copy.applicationProperties!;
  const over = () => headerBytes(copy) > MESSAGE_LIMITS.maxHeaderBytes || headerBytes(copy) + copy.body.length > MESSAGE_LIMITS.maxMessageBytes;
  if (!over()) return copy;
  const dropped: string[] = [];
  const triage = new Set<string>(Object.values(TRIAGE_PROPERTIES));
  const bySize = [...own].filter((k) => k in props && !triage.has(k)).sort((a, b) => String(props[b]).length + b.length - (String(props[a]).length + a.length));
  for (const key of bySize) {
    if (!over()) break;
    delete props[key];
    dropped.push(key);
    props['x-dropped-properties'] = dropped.join(',').slice(0, 512);
  }
  // Still too large (the body alone is near the limit): what the copy can do without, least needed first.
  for (const key of [TRIAGE_PROPERTIES.description, TRIAGE_PROPERTIES.triagedAt, TRIAGE_PROPERTIES.originalEntity, 'x-dropped-properties']) {
    if (!over()) break;
    delete props[key];
  }
  return copy;
}

/** A copy too large to send anywhere: the dead letter has to stay where it is (see the triage function). */
export function isTooLarge(error: unknown): boolean {
  return (error as { code?: unknown })?.code === 'MessageSizeExceeded';
}

function copyOf(message: DeadLetteredMessage, category: DeadLetterCategory, now: Date, extra: Record<string, PropertyValue>, messageId: string): OutgoingMessage {
  const props: Record<string, PropertyValue> = { ...message.applicationProperties };
  // What failed verification keeps its own properties (its own sig too) and is marked: the app's
  // sender does not sign it, and every consumer refuses it.
  const unverified: Record<string, PropertyValue> = message.deadLetterReason === SIGNATURE_INVALID ? { [VERIFICATION_PROPERTY]: VERIFICATION_FAILED } : {};
  delete props.DeadLetterReason;
  delete props.DeadLetterErrorDescription;
  const own = new Set(Object.keys(props));
  return fitted(
    {
      body: message.body,
      contentType: message.contentType,
      messageId,
      correlationId: message.correlationId,
      subject: message.subject,
      sessionId: message.sessionId,
      applicationProperties: {
        ...props,
        [TRIAGE_PROPERTIES.reason]: message.deadLetterReason ?? '',
        [TRIAGE_PROPERTIES.description]: (message.deadLetterErrorDescription ?? '').slice(0, 1024),
        [TRIAGE_PROPERTIES.category]: category,
        [TRIAGE_PROPERTIES.originalEntity]: message.entity,
        [TRIAGE_PROPERTIES.originalMessageId]: typeof props[TRIAGE_PROPERTIES.originalMessageId] === 'string' ? props[TRIAGE_PROPERTIES.originalMessageId]! : message.messageId,
        [TRIAGE_PROPERTIES.triagedAt]: now.toISOString(),
        ...extra,
        ...unverified,
      },
    },
    own,
  );
}

/** Carries out a decision; resolves once the copy is accepted (then the dead letter may be completed). */
export async function applyTriage(decision: TriageDecision, message: DeadLetteredMessage, sender: MessageSender, now: Date): Promise<void> {
  if (decision.action === 'resubmit') {
    const base = message.messageId.replace(/(#[at]\d+)+$/, '');
    const copy = copyOf(message, decision.category, now, { [TRIAGE_PROPERTIES.resubmits]: decision.attempt }, `${base}#t${decision.attempt}`);
    // A fresh round: the router gets its whole retry budget again (both budgets are bounded).
    for (const p of Object.values(RETRY_PROPERTIES)) delete copy.applicationProperties![p];
    await sender.schedule(message.entity, [copy], decision.at);
    return;
  }
  await sender.send(decision.destination, [copyOf(message, decision.category, now, {}, message.messageId)]);
}
