// Order summary: one document per order (partition order:<orderId>) with its status, lines and
// totals — what GET /api/orders/{id} answers.
import type { StoredEvent } from '../../eventstore/event-store';
import { orderTotal, type OrderEvent, type OrderLine, type OrderStatus } from '../../orders/order';
import { streamStateView } from '../stream-state-view';

export interface OrderSummary {
  orderId: string;
  customerId: string;
  status: OrderStatus | 'none';
  lines: OrderLine[];
  itemCount: number;
  total: number;
  createdAt?: string;
  submittedAt?: string;
  confirmedAt?: string;
  cancelledAt?: string;
  cancelReason?: string;
  /** How the customer pays: the method, and for a card its brand and last four digits — never more of it. */
  payment?: { method: string; brand?: string; last4?: string };
  paidAt?: string;
  paymentId?: string;
  shippedAt?: string;
  shipmentId?: string;
  carrier?: string;
}

export const orderIdOf = (streamId: string) => streamId.slice('order-'.length);

function withLines(state: OrderSummary, lines: OrderLine[]): OrderSummary {
  return { ...state, lines, itemCount: lines.reduce((n, l) => n + l.quantity, 0), total: orderTotal(lines) };
}

export function evolveSummary(state: OrderSummary, stored: StoredEvent): OrderSummary {
  const event = stored as unknown as OrderEvent;
  switch (event.type) {
    case 'OrderCreated': {
      const p = event.data.payment;
      const payment = p ? { method: p.method, ...(p.card?.brand ? { brand: p.card.brand } : {}), ...(p.card?.last4 ? { last4: p.card.last4 } : {}) } : undefined;
      return { ...state, orderId: event.data.orderId, customerId: event.data.customerId, status: 'draft', createdAt: event.data.createdAt, ...(payment ? { payment } : {}) };
    }
    case 'ItemAdded': {
      const existing = state.lines.find((l) => l.sku === event.data.sku);
      const lines = existing
        ? state.lines.map((l) => (l.sku === event.data.sku ? { ...l, quantity: l.quantity + event.data.quantity, unitPrice: event.data.unitPrice } : l))
        : [...state.lines, { sku: event.data.sku, quantity: event.data.quantity, unitPrice: event.data.unitPrice }];
      return withLines(state, lines);
    }
    case 'ItemRemoved':
      return withLines(
        state,
        state.lines.filter((l) => l.sku !== event.data.sku),
      );
    case 'ItemQuantityChanged':
      return withLines(
        state,
        state.lines.map((l) => (l.sku === event.data.sku ? { ...l, quantity: event.data.quantity } : l)),
      );
    case 'OrderSubmitted':
      return { ...state, status: 'submitted', submittedAt: event.data.submittedAt };
    case 'OrderConfirmed':
      return { ...state, status: 'confirmed', confirmedAt: event.data.confirmedAt };
    case 'OrderCancelled':
      return { ...state, status: 'cancelled', cancelledAt: event.data.cancelledAt, cancelReason: event.data.reason };
    case 'OrderPaid':
      return { ...state, paidAt: event.data.paidAt, paymentId: event.data.paymentId };
    case 'OrderShipped':
      return { ...state, status: 'shipped', shippedAt: event.data.shippedAt, shipmentId: event.data.shipmentId, carrier: event.data.carrier };
    default:
      return state;
  }
}

export const initialSummary = (streamId: string): OrderSummary => ({ orderId: orderIdOf(streamId), customerId: '', status: 'none', lines: [], itemCount: 0, total: 0 });

export const orderSummaryView = streamStateView<OrderSummary>({
  name: 'order-summary',
  streamPrefix: 'order-',
  kind: 'order-summary',
  locate: async (streamId) => ({ pk: `order:${orderIdOf(streamId)}`, key: `order:${orderIdOf(streamId)}` }),
  initial: initialSummary,
  evolve: evolveSummary,
});
