// Product sales report: per SKU, the units and revenue of submitted orders, less those later
// cancelled. An order touches several SKUs, so there is no single version to record per view:
// each SKU's partition (sales:<sku>) holds its totals and one marker per order that records
// whether that order is counted. Totals and marker change together in one transactional batch,
// which makes counting and uncounting an order idempotent however often events arrive.
import type { BatchOperation } from '../../ports/documents';
import type { StoredEvent } from '../../eventstore/event-store';
import type { OrderEvent, OrderLine } from '../../orders/order';
import { DocumentStoreError } from '../../ports/documents';
import { ConcurrencyError } from '../../shared/errors';
import { viewId, type Projection, type ProjectionContext, type ViewDocument } from '../projection';
import { orderIdOf } from './order-summary';

export interface SalesTotals extends ViewDocument {
  sku: string;
  unitsSold: number;
  revenue: number;
  orders: number;
}

interface SalesMarker extends ViewDocument {
  sku: string;
  orderId: string;
  quantity: number;
  revenue: number;
  counted: boolean;
}

const cents = (n: number) => Math.round(n * 100) / 100;

async function change(ctx: ProjectionContext, sku: string, orderId: string, line: { quantity: number; revenue: number }, action: 'count' | 'uncount'): Promise<void> {
  const pk = `sales:${sku}`;
  const totalsId = viewId(ctx.generation, `sales:${sku}`);
  const markerId = viewId(ctx.generation, `sales-order:${sku}:${orderId}`);
  const base = { pk, projection: 'sales-report', generation: ctx.generation, updatedAt: ctx.now().toISOString() };
  for (let attempt = 0; attempt < 10; attempt++) {
    const [marker, totals] = await Promise.all([ctx.views.read<SalesMarker>(markerId, pk), ctx.views.read<SalesTotals>(totalsId, pk)]);
    const ops: BatchOperation[] = [];
    const sign = action === 'count' ? 1 : -1;
    if (action === 'count') {
      if (marker) return; // counted before, or cancelled before it was counted
      ops.push({ operationType: 'Create', resourceBody: { ...base, id: markerId, kind: 'sales-order', sku, orderId, quantity: line.quantity, revenue: line.revenue, counted: true } });
    } else {
      if (marker && !marker.counted) return;
      if (!marker) {
        // Cancelled before the submit was counted (a rebuild racing the live feed): remember it, count nothing.
        ops.push({ operationType: 'Create', resourceBody: { ...base, id: markerId, kind: 'sales-order', sku, orderId, quantity: line.quantity, revenue: line.revenue, counted: false } });
      } else {
        ops.push({ operationType: 'Replace', id: markerId, resourceBody: { ...marker, ...base, counted: false }, ifMatch: marker._etag });
      }
    }
    if (action === 'count' || marker?.counted) {
      const q = marker?.counted ? marker.quantity : line.quantity;
      const r = marker?.counted ? marker.revenue : line.revenue;
      const next: SalesTotals = {
        ...base,
        id: totalsId,
        kind: 'sales',
        sku,
        unitsSold: (totals?.unitsSold ?? 0) + sign * q,
        revenue: cents((totals?.revenue ?? 0) + sign * r),
        orders: (totals?.orders ?? 0) + sign,
      };
      ops.push(totals ? { operationType: 'Replace', id: totalsId, resourceBody: next, ifMatch: totals._etag } : { operationType: 'Create', resourceBody: next });
    }
    const result = await ctx.views.batch(pk, ops);
    if (result.ok) return;
    const failure = result.results.find((r) => r.statusCode >= 400 && r.statusCode !== 424)?.statusCode;
    if (failure !== 409 && failure !== 412) throw new DocumentStoreError(failure ?? 500, `Updating sales of ${sku} failed with status ${failure}`);
  }
  throw new ConcurrencyError(`Sales of ${sku} kept changing`);
}

function bySku(lines: OrderLine[]): Map<string, { quantity: number; revenue: number }> {
  const out = new Map<string, { quantity: number; revenue: number }>();
  for (const l of lines) {
    const prev = out.get(l.sku) ?? { quantity: 0, revenue: 0 };
    out.set(l.sku, { quantity: prev.quantity + l.quantity, revenue: cents(prev.revenue + l.quantity * l.unitPrice) });
  }
  return out;
}

export const salesReportView: Projection = {
  name: 'sales-report',
  streamPrefixes: ['order-'],
  async apply(streamId: string, events: StoredEvent[], ctx: ProjectionContext) {
    const orderId = orderIdOf(streamId);
    for (const stored of events) {
      const event = stored as unknown as OrderEvent;
      if (event.type === 'OrderSubmitted') {
        for (const [sku, line] of bySku(event.data.lines)) await change(ctx, sku, orderId, line, 'count');
      } else if (event.type === 'OrderCancelled' && event.data.previousStatus !== 'draft') {
        const submitted = (await ctx.readStream(streamId, { toVersion: stored.version })).find((e) => e.type === 'OrderSubmitted') as unknown as
          Extract<OrderEvent, { type: 'OrderSubmitted' }> | undefined;
        if (!submitted) continue;
        for (const [sku, line] of bySku(submitted.data.lines)) await change(ctx, sku, orderId, line, 'uncount');
      }
    }
  },
};
