// Model mappings that are clearer as code than as field maps.
import type { EnvelopeMeta } from './document';

export interface ModelMapper {
  name: string;
  from: string;
  to: string;
  description: string;
  map(payload: Record<string, unknown>, meta: EnvelopeMeta): Record<string, unknown>;
}

interface OrderPlacedV1 {
  orderId: string;
  totalAmount: number;
  items: { sku: string; quantity: number }[];
  shippingAddress?: Record<string, unknown>;
}

const EXPRESS_THRESHOLD = 1000;

export const mappers: ModelMapper[] = [
  {
    name: 'order-to-fulfilment',
    from: 'OrderPlaced.v1',
    to: 'FulfilmentRequest.v1',
    description: 'What the warehouse needs from an order: lines, ship-to, and express when the order is urgent or large.',
    map(payload, meta) {
      const order = payload as unknown as OrderPlacedV1;
      const urgent = meta.headers.priority === 'high' || meta.headers.priority === 'urgent';
      return {
        orderId: order.orderId,
        priority: urgent || order.totalAmount > EXPRESS_THRESHOLD ? 'express' : 'standard',
        lines: order.items.map((i) => ({ sku: i.sku, quantity: i.quantity })),
        ...(order.shippingAddress ? { shipTo: { ...order.shippingAddress } } : {}),
      };
    },
  },
];
