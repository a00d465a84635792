// Saga outcomes projected for queries: one document per saga in the views container (partition
// "sagas"), written by the saga's last activity — by status, and failed or compensated ones in a
// time window.
import { queryWithCallerToken, type Document, type DocumentContainer } from '../ports/documents';
import type { Condition } from '../ports/documents';
import { ValidationError } from '../shared/errors';
import type { SagaState, SagaStatus } from './definition';

export const SAGAS_PK = 'sagas';

export interface SagaOutcome extends Document {
  pk: typeof SAGAS_PK;
  kind: 'saga-outcome';
  orderId: string;
  status: SagaState;
  failedStep?: string;
  lastError?: string;
  compensations: number;
  startedAt: string;
  finishedAt: string;
  /** CompensationFailed needs a person: effects may remain. */
  alert: boolean;
}

export async function recordOutcome(views: DocumentContainer, status: SagaStatus): Promise<SagaOutcome> {
  return views.upsert<SagaOutcome>({
    id: `saga:${status.orderId}`,
    pk: SAGAS_PK,
    kind: 'saga-outcome',
    orderId: status.orderId,
    status: status.status,
    ...(status.failedStep ? { failedStep: status.failedStep } : {}),
    ...(status.lastError ? { lastError: status.lastError } : {}),
    compensations: status.compensations.length,
    startedAt: status.startedAt,
    finishedAt: status.finishedAt ?? status.updatedAt,
    alert: status.status === 'CompensationFailed',
  });
}

export async function queryOutcomes(
  views: DocumentContainer,
  q: { status?: SagaState; since?: string; until?: string; limit?: number; continuation?: string },
): Promise<{ items: Omit<SagaOutcome, keyof Document | 'pk' | 'kind'>[]; continuation?: string }> {
  const where: Condition[] = [{ path: 'kind', op: '=', value: 'saga-outcome' }];
  if (q.status) where.push({ path: 'status', op: '=', value: q.status });
  for (const [field, op] of [
    ['since', '>='],
    ['until', '<='],
  ] as const) {
    const v = q[field];
    if (v === undefined) continue;
    if (Number.isNaN(Date.parse(v))) throw new ValidationError(`${field} must be an ISO 8601 time`, field);
    where.push({ path: 'finishedAt', op, value: new Date(v).toISOString() });
  }
  const limit = q.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw new ValidationError('limit must be 1 to 200', 'limit');
  const page = await queryWithCallerToken<SagaOutcome>(views, { partitionKey: SAGAS_PK, where, orderBy: { path: 'finishedAt', descending: true }, limit, continuation: q.continuation });
  return {
    items: page.items.map(({ id: _i, pk: _p, kind: _k, _etag, _ts, _lsn, _rid, _self, _attachments, ...o }) => (void _etag, void _ts, void _lsn, void _rid, void _self, void _attachments, o)),
    ...(page.continuation ? { continuation: page.continuation } : {}),
  };
}
