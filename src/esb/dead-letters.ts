// Operations on failed messages: how deep every entity is; what sits in a dead-letter queue (or
// on the review and archive queues, where triage parks it) and why, filtered; sending one or
// many back; and purging.
import type { Messaging } from '../ports/messaging';
import type { ReceivedMessage } from '@backbone/azure-model/service-bus';
import { NotFoundError, ValidationError } from '../shared/errors';
import { categorise, type DeadLetterCategory } from './dead-letter-categories';
import { PARKING_QUEUES, TRIAGE_PROPERTIES } from './dead-letter-triage';

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
  category: DeadLetterCategory;
  /** Where it failed: the queue itself for a dead-letter queue, the recorded origin for parked messages. */
  originalEntity?: string;
  deliveryCount: number;
  enqueuedTimeUtc: string;
  applicationProperties: Record<string, unknown>;
  body: unknown;
  bodyTruncated: boolean;
}

const BODY_PREVIEW_BYTES = 16 * 1024;
const PAGE = 250;
const SCAN_LIMIT = 5000;
const MAX_BULK = 1000;

export interface Source {
  /** The path messages are read from: "<entity>/$deadletterqueue", or a parking queue. */
  path: string;
  entity: string;
  parked: boolean;
}

function view(m: ReceivedMessage, source: Source): DeadLetterView {
  const props = m.applicationProperties;
  const text = (k: string) => (typeof props[k] === 'string' ? (props[k] as string) : undefined);
  const reason = source.parked ? text(TRIAGE_PROPERTIES.reason) : m.deadLetterReason;
  const truncated = m.body.length > BODY_PREVIEW_BYTES;
  const raw = m.body.subarray(0, BODY_PREVIEW_BYTES).toString('utf8');
  let body: unknown = m.contentType === 'avro/binary' ? m.body.subarray(0, BODY_PREVIEW_BYTES).toString('base64') : raw;
  if (!truncated && m.contentType?.includes('json')) {
    try {
      body = JSON.parse(raw);
    } catch {
      body = raw;
    }
  }
  return {
    sequenceNumber: m.sequenceNumber,
    messageId: m.messageId,
    correlationId: m.correlationId,
    messageType: text('messageType') ?? m.subject,
    deadLetterReason: reason,
    deadLetterErrorDescription: source.parked ? text(TRIAGE_PROPERTIES.description) : m.deadLetterErrorDescription,
    category: categorise(reason, source.parked ? props[TRIAGE_PROPERTIES.category] : props.DeadLetterCategory),
    originalEntity: source.parked ? text(TRIAGE_PROPERTIES.originalEntity) : source.entity,
    deliveryCount: m.deliveryCount,
    enqueuedTimeUtc: m.enqueuedTimeUtc.toISOString(),
    applicationProperties: props,
    body,
    bodyTruncated: truncated,
  };
}

export interface DeadLetterQuery {
  entity: string | null;
  reason?: string | null;
  category?: string | null;
  messageType?: string | null;
  correlationId?: string | null;
  since?: string | null;
  until?: string | null;
}

/** A queue or subscription names its dead-letter queue; review and archive name themselves. */
export async function resolveSource(port: Messaging, entity: string | null): Promise<Source> {
  if (!entity) throw new ValidationError('The entity query parameter is required (a queue, topic/subscriptions/name, review or archive)', 'entity');
  const known = await port.listEntities();
  const match = known.find((e) => e.path.toLowerCase() === entity.toLowerCase() && e.kind !== 'topic');
  if (!match) throw new NotFoundError(`No queue or subscription named '${entity}'`, 'entity');
  const parked = (PARKING_QUEUES as readonly string[]).includes(match.path);
  return { path: parked ? match.path : `${match.path}/$deadletterqueue`, entity: match.path, parked };
}

function timeParam(value: string | null | undefined, name: string): number | undefined {
  if (!value) return undefined;
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new ValidationError(`${name} must be an ISO 8601 date-time`, name);
  return t;
}

function filterOf(q: DeadLetterQuery): (v: DeadLetterView) => boolean {
  const since = timeParam(q.since, 'since');
  const until = timeParam(q.until, 'until');
  const category = q.category?.toUpperCase();
  if (category && !['TRANSIENT', 'INVALID_FORMAT', 'BUSINESS_RULE', 'OTHER'].includes(category)) {
    throw new ValidationError('category must be TRANSIENT, INVALID_FORMAT, BUSINESS_RULE or OTHER', 'category');
  }
  return (v) =>
    (!q.reason || v.deadLetterReason === q.reason) &&
    (!category || v.category === category) &&
    (!q.messageType || v.messageType === q.messageType) &&
    (!q.correlationId || v.correlationId === q.correlationId) &&
    (since === undefined || Date.parse(v.enqueuedTimeUtc) >= since) &&
    (until === undefined || Date.parse(v.enqueuedTimeUtc) <= until);
}

function hasFilter(q: DeadLetterQuery): boolean {
  return Boolean(q.reason || q.category || q.messageType || q.correlationId || q.since || q.until);
}

function intParam(value: string | null | undefined, name: string, min: number, max: number, fallback: number): number {
  if (value === null || value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new ValidationError(`${name} must be an integer from ${min} to ${max}`, name);
  return n;
}

/** Pages through the source from a sequence number, keeping what the filter accepts. */
async function scan(port: Messaging, source: Source, accept: (v: DeadLetterView) => boolean, from: number, max: number) {
  const found: DeadLetterView[] = [];
  let next = from;
  let scanned = 0;
  for (;;) {
    const page = await port.peek(source.path, { fromSequenceNumber: next, maxMessageCount: PAGE });
    for (const m of page) {
      next = m.sequenceNumber + 1;
      scanned++;
      if (m.state === 'scheduled') continue;
      const v = view(m, source);
      if (accept(v)) found.push(v);
      if (found.length >= max) return { found, next };
    }
    if (page.length < PAGE || scanned >= SCAN_LIMIT) return { found, next: page.length < PAGE ? undefined : next };
  }
}

export async function browseDeadLetters(port: Messaging, query: DeadLetterQuery & { fromSequenceNumber?: string | null; max?: string | null }) {
  const source = await resolveSource(port, query.entity);
  const from = intParam(query.fromSequenceNumber, 'fromSequenceNumber', 0, Number.MAX_SAFE_INTEGER, 0);
  const max = intParam(query.max, 'max', 1, 250, 50);
  const { found, next } = await scan(port, source, filterOf(query), from, max);
  return { entity: source.entity, source: source.path, deadLetters: found, ...(next !== undefined ? { nextSequenceNumber: next } : {}) };
}

function targetOf(v: DeadLetterView, source: Source, known: string[]): string | undefined {
  if (!source.parked) return undefined; // a dead letter goes back to its own entity
  if (!v.originalEntity || !known.includes(v.originalEntity)) {
    throw new ValidationError(`Message ${v.sequenceNumber} does not say which entity it came from`, 'sequenceNumber');
  }
  return v.originalEntity;
}

export async function resubmitDeadLetter(port: Messaging, entityParam: string | null, sequenceNumber: string) {
  const source = await resolveSource(port, entityParam);
  const seq = intParam(sequenceNumber, 'sequenceNumber', 0, Number.MAX_SAFE_INTEGER, -1);
  const [message] = await port.peek(source.path, { fromSequenceNumber: seq, maxMessageCount: 1 });
  if (!message || message.sequenceNumber !== seq) throw new NotFoundError(`No message with sequence number ${seq} in ${source.path}`, 'sequenceNumber');
  const known = (await port.listEntities()).map((e) => e.path);
  try {
    return { entity: source.entity, resubmitted: await port.resubmit(source.path, seq, targetOf(view(message, source), source, known)) };
  } catch (error) {
    if ((error as { code?: string }).code === 'MessageNotFound') throw new NotFoundError(`No message with sequence number ${seq} in ${source.path}`, 'sequenceNumber');
    throw error;
  }
}

/** Resubmits every message the filter accepts (up to 1000 a call; call again for more). */
export async function resubmitMatching(port: Messaging, query: DeadLetterQuery & { all?: string | null }) {
  const source = await resolveSource(port, query.entity);
  if (!hasFilter(query) && query.all !== 'true') throw new ValidationError('Give a filter (reason, category, messageType, correlationId, since, until) or all=true', 'all');
  const { found } = await scan(port, source, filterOf(query), 0, MAX_BULK);
  const known = (await port.listEntities()).map((e) => e.path);
  const resubmitted: { sequenceNumber: number; messageId: string }[] = [];
  const failed: { sequenceNumber: number; error: string }[] = [];
  for (const v of found) {
    try {
      const r = await port.resubmit(source.path, v.sequenceNumber, targetOf(v, source, known));
      resubmitted.push({ sequenceNumber: v.sequenceNumber, messageId: r.messageId });
    } catch (error) {
      failed.push({ sequenceNumber: v.sequenceNumber, error: (error as Error).message });
    }
  }
  return { entity: source.entity, matched: found.length, resubmitted, failed };
}

/** Deletes every message the filter accepts (a filter or all=true is required). */
export async function purgeMatching(port: Messaging, query: DeadLetterQuery & { all?: string | null }) {
  const source = await resolveSource(port, query.entity);
  if (!hasFilter(query) && query.all !== 'true') throw new ValidationError('Give a filter (reason, category, messageType, correlationId, since, until) or all=true', 'all');
  let purged = 0;
  for (;;) {
    const { found } = await scan(port, source, filterOf(query), 0, MAX_BULK);
    if (found.length === 0) break;
    const removed = await port.remove(
      source.path,
      found.map((v) => v.sequenceNumber),
    );
    purged += removed;
    if (removed === 0 || found.length < MAX_BULK) break;
  }
  return { entity: source.entity, purged };
}
