// The audit in the event store: one stream per target and UTC day, concurrent records on one
// stream all kept, queries by target or over every target in a time range; and the rate limit
// that keeps refused requests from becoming unbounded writes.
import { DocumentEventStore } from '../../src/eventstore/event-store';
import { AUDIT_QUERY_MAX_DAYS, AuditLog, auditStreamId, parseAuditQuery, type AuditEntry } from '../../src/security/audit-log';
import { RefusalLimiter } from '../../src/security/refusal-limiter';
import { ValidationError } from '../../src/shared/errors';
import { embeddedDocumentHarness } from '../support/document-harness';

const OPS = { name: 'ops-console', kind: 'apiKey' as const, roles: ['ops'] };
const entry = (over: Partial<AuditEntry> = {}): AuditEntry => ({
  action: 'order.submit',
  kind: 'command',
  target: 'order:o-1',
  caller: { name: 'shop', kind: 'apiKey', roles: ['orders.write'] },
  correlationId: 'corr-1',
  outcome: 'accepted',
  status: 200,
  ...over,
});

function setup(start = '2026-01-15T10:00:00.000Z') {
  const h = embeddedDocumentHarness();
  const store = new DocumentEventStore(h.container('events'));
  let now = new Date(start);
  const log = new AuditLog(store, { now: () => now });
  return { store, log, at: (iso: string) => (now = new Date(iso)) };
}

const params = (values: Record<string, string>) => new URLSearchParams(values);

describe('audit records', () => {
  test('a record is an event on its target’s stream of the day, carrying caller and correlationId in data and metadata', async () => {
    const { store, log } = setup();
    const written = await log.record(entry());
    expect(written).toMatchObject({ type: 'CommandIssued', at: '2026-01-15T10:00:00.000Z', action: 'order.submit', target: 'order:o-1', outcome: 'accepted' });
    expect(auditStreamId('order:o-1', new Date('2026-01-15T23:59:59Z'))).toBe('audit-2026-01-15-order:o-1');
    const [event] = await store.readStream('audit-2026-01-15-order:o-1');
    expect(event).toMatchObject({
      type: 'CommandIssued',
      data: { action: 'order.submit', caller: { name: 'shop', kind: 'apiKey', roles: ['orders.write'] }, correlationId: 'corr-1', outcome: 'accepted', at: '2026-01-15T10:00:00.000Z' },
      metadata: { correlationId: 'corr-1', caller: { name: 'shop', kind: 'apiKey' } },
    });
  });

  test('event types: commands, ops actions, refusals', async () => {
    const { log } = setup();
    expect((await log.record(entry({ kind: 'ops', action: 'deadletters.purge', target: 'deadletters:inbound' }))).type).toBe('OpsActionPerformed');
    expect((await log.record(entry({ kind: 'read', outcome: 'refused', status: 401, action: 'order.read' }))).type).toBe('AccessRefused');
    expect((await log.record(entry({ kind: 'command', outcome: 'refused', status: 403 }))).type).toBe('AccessRefused');
  });

  test('targets with characters a Cosmos DB id cannot hold get a stream id that can, and a very long target a bounded one', () => {
    expect(auditStreamId('deadletters:order-events/subscriptions/analytics', new Date('2026-01-15T00:00:00Z'))).toBe('audit-2026-01-15-deadletters:order-events_subscriptions_analytics');
    const long = auditStreamId(`order:${'x'.repeat(500)}`, new Date('2026-01-15T00:00:00Z'));
    expect(long.length).toBeLessThan(140);
    expect(long).not.toMatch(/[/\\?#]/);
    expect(auditStreamId(`order:${'x'.repeat(500)}`, new Date('2026-01-15T00:00:00Z'))).toBe(long);
    expect(auditStreamId(`order:${'x'.repeat(499)}y`, new Date('2026-01-15T00:00:00Z'))).not.toBe(long);
  });

  test('20 records on one target at once are all kept, versions 1..20 (conflicts on the stream are retried)', async () => {
    const { store, log } = setup();
    await Promise.all(Array.from({ length: 20 }, (_, i) => log.record(entry({ correlationId: `c-${i}` }))));
    const events = await store.readStream('audit-2026-01-15-order:o-1');
    expect(events.map((e) => e.version)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(new Set(events.map((e) => (e.data as AuditEntry).correlationId)).size).toBe(20);
  });

  test('two processes writing about one target: each guesses the version from its own last write, a wrong guess is retried', async () => {
    const { store } = setup();
    const now = () => new Date('2026-01-15T10:00:00.000Z');
    const [a, b] = [new AuditLog(store, { now }), new AuditLog(store, { now })];
    await a.record(entry({ correlationId: 'a-1' }));
    await b.record(entry({ correlationId: 'b-1' })); // b guesses a new stream: taken by a
    await a.record(entry({ correlationId: 'a-2' })); // a guesses version 1: b wrote 2
    await b.record(entry({ correlationId: 'b-2' }));
    const events = await store.readStream('audit-2026-01-15-order:o-1');
    expect(events.map((e) => [e.version, (e.data as AuditEntry).correlationId])).toEqual([
      [1, 'a-1'],
      [2, 'b-1'],
      [3, 'a-2'],
      [4, 'b-2'],
    ]);
  });
});

describe('audit queries', () => {
  async function history() {
    const s = setup('2026-01-10T08:00:00.000Z');
    await s.log.record(entry({ correlationId: 'c-old' }));
    s.at('2026-01-14T09:00:00.000Z');
    await s.log.record(entry({ action: 'order.create', correlationId: 'c-create' }));
    s.at('2026-01-15T09:00:00.000Z');
    await s.log.record(entry({ action: 'order.cancel', outcome: 'rejected', status: 422, reason: 'BusinessRuleViolated', correlationId: 'c-cancel' }));
    s.at('2026-01-15T09:10:00.000Z');
    await s.log.record(entry({ kind: 'ops', action: 'deadletters.purge', target: 'deadletters:inbound', caller: OPS, correlationId: 'c-purge' }));
    s.at('2026-01-15T09:30:00.000Z');
    await s.log.record(
      entry({ kind: 'read', action: 'ops.readAudit', target: 'audit', outcome: 'refused', status: 403, caller: { name: 'shop', kind: 'apiKey', roles: ['orders.write'] }, correlationId: 'c-refused' }),
    );
    return s;
  }
  const q = (over: Partial<Parameters<AuditLog['query']>[0]> = {}) => ({ since: new Date('2026-01-14T00:00:00Z'), until: new Date('2026-01-15T23:00:00Z'), limit: 100, ...over });

  test('by target: the target’s records of every day in the range, newest first', async () => {
    const { log } = await history();
    const { records, truncated } = await log.query(q({ target: 'order:o-1' }));
    expect(records.map((r) => r.correlationId)).toEqual(['c-cancel', 'c-create']);
    expect(truncated).toBe(false);
    expect((await log.query(q({ target: 'order:o-1', since: new Date('2026-01-01T00:00:00Z') }))).records.map((r) => r.correlationId)).toEqual(['c-cancel', 'c-create', 'c-old']);
  });

  test('over every target in a time range, with filters on action and outcome', async () => {
    const { log } = await history();
    expect((await log.query(q())).records.map((r) => r.correlationId)).toEqual(['c-refused', 'c-purge', 'c-cancel', 'c-create']);
    expect((await log.query(q({ since: new Date('2026-01-15T09:15:00Z') }))).records.map((r) => r.correlationId)).toEqual(['c-refused']);
    expect((await log.query(q({ outcome: 'refused' }))).records.map((r) => r.type)).toEqual(['AccessRefused']);
    expect((await log.query(q({ action: 'deadletters.purge' }))).records).toEqual([
      expect.objectContaining({ type: 'OpsActionPerformed', target: 'deadletters:inbound', caller: OPS, at: '2026-01-15T09:10:00.000Z' }),
    ]);
  });

  test('a limit keeps the newest and says the answer was truncated', async () => {
    const { log } = await history();
    const { records, truncated } = await log.query(q({ limit: 2 }));
    expect(records.map((r) => r.correlationId)).toEqual(['c-refused', 'c-purge']);
    expect(truncated).toBe(true);
  });

  test('query parameters: defaults (the last 7 days, 100 records) and 400s for what does not parse', () => {
    const now = new Date('2026-01-15T12:00:00Z');
    expect(parseAuditQuery(params({}), now)).toEqual({ since: new Date('2026-01-08T12:00:00Z'), until: now, limit: 100 });
    expect(parseAuditQuery(params({ target: 'order:o-1', since: '2026-01-15', outcome: 'refused', action: 'order.create', limit: '5' }), now)).toEqual({
      target: 'order:o-1',
      since: new Date('2026-01-15T00:00:00Z'),
      until: now,
      outcome: 'refused',
      action: 'order.create',
      limit: 5,
    });
    for (const bad of <Record<string, string>[]>[
      { since: 'yesterday' },
      { until: '2026-13-45' },
      { since: '2026-01-16T00:00:00Z', until: '2026-01-15T00:00:00Z' },
      { since: '2025-01-01' },
      { limit: '0' },
      { limit: '5000' },
      { limit: 'ten' },
      { outcome: 'maybe' },
    ]) {
      expect(() => parseAuditQuery(params(bad), now)).toThrow(ValidationError);
    }
    expect(() => parseAuditQuery(params({ since: '2025-01-01' }), now)).toThrow(`at most ${AUDIT_QUERY_MAX_DAYS} days`);
  });
});

describe('the refusal rate limit', () => {
  test('a burst is recorded, then one per interval; the next record counts what was skipped', () => {
    let now = 0;
    const limiter = new RefusalLimiter({ burst: 3, refillEveryMs: 1_000, maxKeys: 100, now: () => now });
    const take = (n: number, key = '401|-|order.create') => Array.from({ length: n }, () => limiter.take(key));
    expect(take(3).map((d) => d.record)).toEqual([true, true, true]);
    expect(take(5).map((d) => d.record)).toEqual([false, false, false, false, false]);
    now += 999;
    expect(limiter.take('401|-|order.create').record).toBe(false);
    now += 1;
    expect(limiter.take('401|-|order.create')).toEqual({ record: true, suppressed: 6 });
    expect(limiter.take('401|-|order.create').record).toBe(false);
    // Another caller or operation has a bucket of its own.
    expect(limiter.take('403|shop|ops.readAudit')).toEqual({ record: true, suppressed: 0 });
    now += 60_000;
    expect(take(4).map((d) => d.record)).toEqual([true, true, true, false]);
  });

  test('the number of keys it remembers is bounded', () => {
    const limiter = new RefusalLimiter({ burst: 1, refillEveryMs: 1_000_000, maxKeys: 2, now: () => 0 });
    expect(limiter.take('a').record).toBe(true);
    expect(limiter.take('a').record).toBe(false);
    limiter.take('b');
    limiter.take('c'); // 'a' is forgotten
    expect(limiter.take('a').record).toBe(true);
  });
});
