// "Where is my message now?" — every queue, subscription and dead-letter queue is browsed for a
// message and what it caused: copies the router sent (causationId = its id), their own copies
// (a partner order canonicalised, then routed), resubmissions and parked copies.
import type { Messaging } from '../ports/messaging';
import type { ReceivedMessage } from '@backbone/azure-model/service-bus';
import { NotFoundError, ValidationError } from '../shared/errors';
import { TRIAGE_PROPERTIES } from './dead-letter-triage';

export interface TrailEntry {
  entity: string;
  messageId: string;
  sequenceNumber: number;
  state: string;
  messageType?: string;
  contentType?: string;
  route?: string;
  causationId?: string;
  deadLetterReason?: string;
  deadLetterErrorDescription?: string;
  enqueuedTimeUtc: string;
}

const PAGE = 250;
const SCAN_PER_ENTITY = 5000;
const MAX_DEPTH = 4;

function causedBy(m: ReceivedMessage, ids: Set<string>): boolean {
  const p = m.applicationProperties;
  const base = m.messageId.replace(/(#[atr]\d+)+$/, '');
  return ids.has(m.messageId) || ids.has(base) || ids.has(String(p.causationId)) || ids.has(String(p[TRIAGE_PROPERTIES.originalMessageId])) || ids.has(String(p['x-original-message-id']));
}

async function browse(port: Messaging, path: string): Promise<ReceivedMessage[]> {
  const out: ReceivedMessage[] = [];
  let from = 0;
  for (;;) {
    const page = await port.peek(path, { fromSequenceNumber: from, maxMessageCount: PAGE });
    out.push(...page);
    if (page.length < PAGE || out.length >= SCAN_PER_ENTITY) return out;
    from = page.at(-1)!.sequenceNumber + 1;
  }
}

/** Finds a message and what it caused (by messageId), or everything of one business transaction (by correlationId). */
export async function messageTrail(port: Messaging, by: { messageId?: string; correlationId?: string }): Promise<{ trail: TrailEntry[] }> {
  if (!by.messageId && !by.correlationId) throw new ValidationError('Give messageId or correlationId', 'messageId');
  const paths = (await port.listEntities()).filter((e) => e.kind !== 'topic').flatMap((e) => [e.path, `${e.path}/$deadletterqueue`]);
  const all = (await Promise.all(paths.map(async (path) => (await browse(port, path)).map((m) => ({ path, m }))))).flat();
  const ids = new Set(by.messageId ? [by.messageId] : []);
  const related = by.correlationId ? (m: ReceivedMessage) => m.correlationId === by.correlationId : (m: ReceivedMessage) => causedBy(m, ids);
  const found = new Map<string, TrailEntry>();
  // Follow the causation chain a few levels: each found message's id may have caused more.
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    let grew = false;
    for (const { path, m } of all) {
      const key = `${path}#${m.sequenceNumber}`;
      if (found.has(key) || !related(m)) continue;
      const p = m.applicationProperties;
      found.set(key, {
        entity: path,
        messageId: m.messageId,
        sequenceNumber: m.sequenceNumber,
        state: path.endsWith('/$deadletterqueue') ? 'dead-lettered' : m.state,
        messageType: typeof p.messageType === 'string' ? p.messageType : m.subject,
        contentType: m.contentType,
        route: typeof p.route === 'string' ? p.route : undefined,
        causationId: typeof p.causationId === 'string' ? p.causationId : undefined,
        deadLetterReason: m.deadLetterReason ?? (typeof p[TRIAGE_PROPERTIES.reason] === 'string' ? (p[TRIAGE_PROPERTIES.reason] as string) : undefined),
        deadLetterErrorDescription: m.deadLetterErrorDescription ?? (typeof p[TRIAGE_PROPERTIES.description] === 'string' ? (p[TRIAGE_PROPERTIES.description] as string) : undefined),
        enqueuedTimeUtc: m.enqueuedTimeUtc.toISOString(),
      });
      ids.add(m.messageId);
      grew = true;
    }
    if (!grew) break;
  }
  if (found.size === 0) {
    throw new NotFoundError(
      by.correlationId ? `No queue or subscription holds a message of correlation ${by.correlationId}` : `No queue or subscription holds message ${by.messageId} or anything it caused`,
      by.correlationId ? 'correlationId' : 'messageId',
    );
  }
  return { trail: [...found.values()].sort((a, b) => a.enqueuedTimeUtc.localeCompare(b.enqueuedTimeUtc)) };
}
