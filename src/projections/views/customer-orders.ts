// A customer's orders: one document per order in the customer's partition (customer:<customerId>),
// sorted newest first — GET /api/customers/{id}/orders pages through them.
import type { StoredEvent } from '../../eventstore/event-store';
import type { ProjectionContext } from '../projection';
import { streamStateView } from '../stream-state-view';
import { evolveSummary, initialSummary, orderIdOf, type OrderSummary } from './order-summary';

/** What a customer's order list shows of each order. */
export type CustomerOrderEntry = Pick<OrderSummary, 'orderId' | 'status' | 'itemCount' | 'total' | 'createdAt' | 'submittedAt'>;

export function toEntry(s: OrderSummary): CustomerOrderEntry {
  return { orderId: s.orderId, status: s.status, itemCount: s.itemCount, total: s.total, ...(s.createdAt ? { createdAt: s.createdAt } : {}), ...(s.submittedAt ? { submittedAt: s.submittedAt } : {}) };
}

// The customer of an order never changes; remembering it saves a read per batch.
const customers = new Map<string, string>();
const MAX_REMEMBERED = 100_000;

async function customerOf(streamId: string, events: StoredEvent[], ctx: ProjectionContext): Promise<string | undefined> {
  let customerId = customers.get(streamId);
  if (!customerId) {
    const created = events.find((e) => e.type === 'OrderCreated') ?? (await ctx.readStream(streamId, { fromVersion: 1, toVersion: 1 }))[0];
    customerId = (created?.data as { customerId?: string } | undefined)?.customerId;
    if (!customerId) return undefined;
    if (customers.size >= MAX_REMEMBERED) customers.clear();
    customers.set(streamId, customerId);
  }
  return customerId;
}

// The state is the order's summary (the same fold as order-summary), kept in the customer's partition.
export const customerOrdersView = streamStateView<OrderSummary>({
  name: 'customer-orders',
  streamPrefix: 'order-',
  kind: 'customer-order',
  locate: async (streamId, events, ctx) => {
    const customerId = await customerOf(streamId, events, ctx);
    return customerId ? { pk: `customer:${customerId}`, key: `customer-order:${orderIdOf(streamId)}` } : undefined;
  },
  initial: initialSummary,
  evolve: evolveSummary,
  // Newest first: ORDER BY sortKey DESC; the order id breaks ties between equal timestamps.
  indexFields: (s) => ({ sortKey: `${s.createdAt ?? ''}|${s.orderId}` }),
});
