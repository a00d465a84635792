// The audit: who issued which command and which operator action, and who was refused, as events
// in the event store. One stream per target and UTC day ("audit-2026-01-15-order:o-1"): a stream
// is a Cosmos DB logical partition, so the writes spread over as many partitions as there are
// targets, and only writes about the same thing on the same day ever contend for a stream version
// (commands on one order are sequential anyway). Reading one target's trail reads one partition
// per day; reading everything in a time range reads a range of stream ids (streamId is indexed).
import { createHash } from 'node:crypto';
import type { EventStore, StoredEvent } from '../eventstore/event-store';
import type { EventSchemas } from '../eventstore/upcasting';
import { ConcurrencyError, ValidationError } from '../shared/errors';
import type { CallerKind } from './identity';
import type { OperationKind } from './operations';

export const AUDIT_STREAM_PREFIX = 'audit-';
export const AUDIT_EVENT_TYPES = { command: 'CommandIssued', ops: 'OpsActionPerformed', refused: 'AccessRefused' } as const;
export const AUDIT_EVENT_SCHEMAS: EventSchemas = { current: {}, upcasters: {} };

export type AuditOutcome = 'accepted' | 'rejected' | 'failed' | 'refused';
export const AUDIT_OUTCOMES: readonly AuditOutcome[] = ['accepted', 'rejected', 'failed', 'refused'];

export interface AuditCaller {
  name: string;
  /** unidentified: a refused request whose caller could not be identified. */
  kind: CallerKind | 'unidentified';
  roles: string[];
}

export interface AuditEntry {
  /** The operation: order.create, deadletters.purge, saga.approve, … */
  action: string;
  kind: OperationKind;
  /** What it acted on: order:o-1, deadletters:inbound, projection:order-summary, … */
  target: string;
  caller: AuditCaller;
  correlationId?: string;
  outcome: AuditOutcome;
  /** The HTTP status answered, for HTTP requests. */
  status?: number;
  /** The error code, dead-letter reason or refusal reason of an outcome other than accepted. */
  reason?: string;
  details?: Record<string, unknown>;
  /** Refusals of the same caller and operation that were not recorded since the previous one (rate limit). */
  suppressedRefusals?: number;
}

export interface AuditRecord extends AuditEntry {
  type: string;
  at: string;
}

export interface AuditQuery {
  target?: string;
  since: Date;
  until: Date;
  action?: string;
  outcome?: AuditOutcome;
  limit: number;
}

export const AUDIT_QUERY_DEFAULT_DAYS = 7;
export const AUDIT_QUERY_MAX_DAYS = 31;
export const AUDIT_QUERY_MAX_LIMIT = 1000;
const DAY_MS = 86_400_000;
// A query over every target reads at most this many records before it says it was truncated.
const MAX_SCANNED = 20_000;
// Each lost race means another record made it, so N writers racing on one stream all get through
// within N attempts; records about one target on one day rarely race at all.
const MAX_APPEND_ATTEMPTS = 25;

const dayOf = (at: Date) => at.toISOString().slice(0, 10);

/** The stream of a target's audit records of one UTC day; the key keeps to characters Cosmos DB ids allow. */
export function auditStreamId(target: string, at: Date): string {
  const safe = target.replace(/[^A-Za-z0-9._:@-]/g, '_');
  const key = safe.length <= 120 ? safe : `${safe.slice(0, 100)}~${createHash('sha256').update(target).digest('hex').slice(0, 16)}`;
  return `${AUDIT_STREAM_PREFIX}${dayOf(at)}-${key}`;
}

function eventType(entry: AuditEntry): string {
  if (entry.outcome === 'refused') return AUDIT_EVENT_TYPES.refused;
  return entry.kind === 'command' ? AUDIT_EVENT_TYPES.command : AUDIT_EVENT_TYPES.ops;
}

const toRecord = (e: StoredEvent): AuditRecord => ({ ...(e.data as AuditEntry & { at: string }), type: e.type });

/** The query of GET /api/ops/audit from its parameters; 400 for what does not parse. */
export function parseAuditQuery(params: { get(name: string): string | null }, now: Date): AuditQuery {
  const date = (name: string): Date | undefined => {
    const value = params.get(name);
    if (value === null || value === '') return undefined;
    const at = new Date(value);
    if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(at.getTime())) throw new ValidationError(`${name} must be an ISO 8601 date or time, like 2026-01-15T10:30:00Z`, name);
    return at;
  };
  const until = date('until') ?? now;
  const since = date('since') ?? new Date(until.getTime() - AUDIT_QUERY_DEFAULT_DAYS * DAY_MS);
  if (since > until) throw new ValidationError('since is after until', 'since');
  if (until.getTime() - since.getTime() > AUDIT_QUERY_MAX_DAYS * DAY_MS) throw new ValidationError(`A query spans at most ${AUDIT_QUERY_MAX_DAYS} days`, 'since');
  const limitText = params.get('limit');
  if (limitText !== null && limitText !== '' && !/^\d{1,4}$/.test(limitText)) throw new ValidationError('limit must be a whole number', 'limit');
  const limit = limitText ? Number(limitText) : 100;
  if (limit < 1 || limit > AUDIT_QUERY_MAX_LIMIT) throw new ValidationError(`limit must be between 1 and ${AUDIT_QUERY_MAX_LIMIT}`, 'limit');
  const outcome = params.get('outcome') || undefined;
  if (outcome !== undefined && !(AUDIT_OUTCOMES as string[]).includes(outcome)) throw new ValidationError(`outcome must be one of ${AUDIT_OUTCOMES.join(', ')}`, 'outcome');
  const target = params.get('target') || undefined;
  if (target !== undefined && target.length > 512) throw new ValidationError('target is longer than 512 characters', 'target');
  const action = params.get('action') || undefined;
  return { since, until, limit, ...(target ? { target } : {}), ...(action ? { action } : {}), ...(outcome ? { outcome: outcome as AuditOutcome } : {}) };
}

const MAX_REMEMBERED_STREAMS = 10_000;

export class AuditLog {
  readonly #now: () => Date;
  /**
   * The version this process last wrote to each recent stream. Most records open a new stream (a
   * target's first of the day) or follow this process's previous one (an order's next command),
   * so the append names its expected version instead of querying for it first; another writer
   * having got there makes it a conflict, retried with a query. Saves a query per record.
   */
  readonly #versions = new Map<string, number>();

  constructor(
    private readonly store: EventStore,
    options: { now?: () => Date } = {},
  ) {
    this.#now = options.now ?? (() => new Date());
  }

  /** Appends the record to its target's stream of the day; a concurrent append to that stream is retried. */
  async record(entry: AuditEntry): Promise<AuditRecord> {
    const at = this.#now();
    const data = { ...entry, at: at.toISOString() };
    const type = eventType(entry);
    const streamId = auditStreamId(entry.target, at);
    const metadata = {
      ...(entry.correlationId ? { correlationId: entry.correlationId } : {}),
      caller: { name: entry.caller.name, kind: entry.caller.kind },
    };
    for (let attempt = 1; ; attempt++) {
      try {
        const expectedVersion = attempt === 1 ? (this.#versions.get(streamId) ?? 0) : 'any';
        const { version } = await this.store.append(streamId, [{ type, data, metadata }], { expectedVersion, now: () => at });
        this.#remember(streamId, version);
        return { ...data, type };
      } catch (error) {
        if (!(error instanceof ConcurrencyError) || attempt >= MAX_APPEND_ATTEMPTS) throw error;
        // Another record of the same target and day got the version first: a short random pause spreads the retries.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * Math.min(attempt, 10)));
      }
    }
  }

  #remember(streamId: string, version: number): void {
    this.#versions.delete(streamId);
    if (this.#versions.size >= MAX_REMEMBERED_STREAMS) this.#versions.delete(this.#versions.keys().next().value!);
    this.#versions.set(streamId, version);
  }

  /** Records in the time range, newest first, at most `limit`; `truncated` when there were more. */
  async query(q: AuditQuery): Promise<{ records: AuditRecord[]; truncated: boolean }> {
    const matches = (r: AuditRecord) =>
      (q.target === undefined || r.target === q.target) &&
      (q.action === undefined || r.action === q.action) &&
      (q.outcome === undefined || r.outcome === q.outcome) &&
      r.at >= q.since.toISOString() &&
      r.at <= q.until.toISOString();
    const found: AuditRecord[] = [];
    let truncated = false;
    if (q.target !== undefined) {
      // One partition per day of the range.
      for (let day = Date.parse(dayOf(q.since)); day <= q.until.getTime(); day += DAY_MS) {
        for (const e of await this.store.readStream(auditStreamId(q.target, new Date(day)))) {
          const r = toRecord(e);
          if (matches(r)) found.push(r);
        }
      }
    } else {
      const range = { fromStreamId: `${AUDIT_STREAM_PREFIX}${dayOf(q.since)}`, toStreamId: `${AUDIT_STREAM_PREFIX}${dayOf(new Date(Date.parse(dayOf(q.until)) + DAY_MS))}` };
      let continuation: string | undefined;
      let scanned = 0;
      do {
        const page = await this.store.readStreamRange(range, { limit: 1000, continuation });
        scanned += page.events.length;
        for (const e of page.events) {
          const r = toRecord(e);
          if (matches(r)) found.push(r);
        }
        continuation = page.continuation;
        if (continuation && scanned >= MAX_SCANNED) {
          truncated = true;
          break;
        }
      } while (continuation);
    }
    found.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
    return { records: found.slice(0, q.limit), truncated: truncated || found.length > q.limit };
  }
}
