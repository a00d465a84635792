// A real-time sales metric from the integration events: orders and revenue per minute over the
// last hour, kept per Event Hubs partition (one document each, in the views container) with the
// last sequence number applied, so a redelivered batch is not counted twice.
import type { Document, DocumentContainer } from '../ports/documents';
import { updateDocument } from '../projections/projection';
import type { IntegrationEvent } from './integration-events';

export const METRICS_PK = 'metrics';
const WINDOW_MINUTES = 60;

interface Bucket {
  /** Orders submitted and their revenue. */
  orders: number;
  revenue: number;
  /** Submitted orders cancelled afterwards. */
  cancelled: number;
}

export interface SalesMetricDocument extends Document {
  pk: typeof METRICS_PK;
  kind: 'sales-metric';
  partition: string;
  lastSequenceNumber: number;
  /** Minute (ISO, e.g. 2026-11-21T10:05) → counts. */
  minutes: Record<string, Bucket>;
  totals: Bucket;
  updatedAt: string;
}

const empty = (): Bucket => ({ orders: 0, revenue: 0, cancelled: 0 });
const cents = (n: number) => Math.round(n * 100) / 100;
const minuteOf = (iso: string) => iso.slice(0, 16);

export interface PartitionBatch {
  partition: string;
  events: { sequenceNumber: number; event: IntegrationEvent }[];
}

export async function applySalesEvents(views: DocumentContainer, batch: PartitionBatch, now: () => Date = () => new Date()): Promise<number> {
  const id = `sales-metric:p${batch.partition}`;
  let applied = 0;
  await updateDocument<SalesMetricDocument>(views, id, METRICS_PK, (current) => {
    const doc: SalesMetricDocument = current
      ? { ...current, minutes: { ...current.minutes }, totals: { ...current.totals } }
      : { id, pk: METRICS_PK, kind: 'sales-metric', partition: batch.partition, lastSequenceNumber: -1, minutes: {}, totals: empty(), updatedAt: '' };
    applied = 0;
    for (const { sequenceNumber, event } of batch.events) {
      if (sequenceNumber <= doc.lastSequenceNumber) continue;
      doc.lastSequenceNumber = sequenceNumber;
      const minute = minuteOf(event.occurredAt);
      const bucket = (doc.minutes[minute] = { ...(doc.minutes[minute] ?? empty()) });
      if (event.eventType === 'OrderSubmitted') {
        const total = Number((event.data as { total?: number }).total ?? 0);
        bucket.orders++;
        bucket.revenue = cents(bucket.revenue + total);
        doc.totals.orders++;
        doc.totals.revenue = cents(doc.totals.revenue + total);
        applied++;
      } else if (event.eventType === 'OrderCancelled' && (event.data as { previousStatus?: string }).previousStatus !== 'draft') {
        bucket.cancelled++;
        doc.totals.cancelled++;
        applied++;
      }
    }
    if (current && doc.lastSequenceNumber === current.lastSequenceNumber) return undefined;
    // Keep the last hour.
    const oldest = minuteOf(new Date(now().getTime() - WINDOW_MINUTES * 60_000).toISOString());
    for (const m of Object.keys(doc.minutes)) if (m < oldest) delete doc.minutes[m];
    doc.updatedAt = now().toISOString();
    return doc;
  });
  return applied;
}

export async function readSalesMetric(views: DocumentContainer, now: () => Date = () => new Date()) {
  const page = await views.query<SalesMetricDocument>({ partitionKey: METRICS_PK, where: [{ path: 'kind', op: '=', value: 'sales-metric' }] });
  const oldest = minuteOf(new Date(now().getTime() - WINDOW_MINUTES * 60_000).toISOString());
  const perMinute = new Map<string, Bucket>();
  const totals = empty();
  for (const d of page.items) {
    for (const k of Object.keys(totals) as (keyof Bucket)[]) totals[k] = cents(totals[k] + d.totals[k]);
    for (const [m, b] of Object.entries(d.minutes)) {
      if (m < oldest) continue;
      const sum = perMinute.get(m) ?? empty();
      for (const k of Object.keys(sum) as (keyof Bucket)[]) sum[k] = cents(sum[k] + b[k]);
      perMinute.set(m, sum);
    }
  }
  const minutes = [...perMinute.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([minute, b]) => ({ minute, ...b }));
  const lastHour = minutes.reduce((s, m) => ({ orders: s.orders + m.orders, revenue: cents(s.revenue + m.revenue), cancelled: s.cancelled + m.cancelled }), { orders: 0, revenue: 0, cancelled: 0 });
  return { totals, lastHour, minutes, partitions: page.items.map((d) => ({ partition: d.partition, lastSequenceNumber: d.lastSequenceNumber, updatedAt: d.updatedAt })) };
}
