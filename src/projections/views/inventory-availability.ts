// Inventory availability: one document per SKU (partition inventory:<sku>) with on-hand,
// reserved and available stock — GET /api/inventory/{sku}.
import type { StoredEvent } from '../../eventstore/event-store';
import type { InventoryEvent } from '../../orders/inventory';
import { streamStateView } from '../stream-state-view';

export interface InventoryAvailability {
  sku: string;
  onHand: number;
  reserved: number;
  available: number;
  /** Quantity held per order. */
  held: Record<string, number>;
  lastReceivedAt?: string;
}

export const skuOf = (streamId: string) => streamId.slice('inventory-'.length);

export function evolveAvailability(state: InventoryAvailability, stored: StoredEvent): InventoryAvailability {
  const event = stored as unknown as InventoryEvent;
  const held = { ...state.held };
  let { onHand, reserved } = state;
  let lastReceivedAt = state.lastReceivedAt;
  switch (event.type) {
    case 'StockReceived':
      onHand += event.data.quantity;
      lastReceivedAt = event.data.receivedAt;
      break;
    case 'StockReserved':
      reserved += event.data.quantity;
      held[event.data.orderId] = event.data.quantity;
      break;
    case 'StockReleased':
      reserved -= event.data.quantity;
      delete held[event.data.orderId];
      break;
    case 'ReservationCommitted':
      reserved -= event.data.quantity;
      onHand -= event.data.quantity;
      delete held[event.data.orderId];
      break;
    case 'StockAdjusted':
      onHand += event.data.delta;
      break;
  }
  return { sku: state.sku, onHand, reserved, available: onHand - reserved, held, ...(lastReceivedAt ? { lastReceivedAt } : {}) };
}

export const initialAvailability = (streamId: string): InventoryAvailability => ({ sku: skuOf(streamId), onHand: 0, reserved: 0, available: 0, held: {} });

export const inventoryAvailabilityView = streamStateView<InventoryAvailability>({
  name: 'inventory-availability',
  streamPrefix: 'inventory-',
  kind: 'inventory',
  locate: async (streamId) => ({ pk: `inventory:${skuOf(streamId)}`, key: `inventory:${skuOf(streamId)}` }),
  initial: initialAvailability,
  evolve: evolveAvailability,
});
