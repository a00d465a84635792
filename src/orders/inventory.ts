// The Inventory aggregate: the stock of one SKU. Available = on hand − reserved; a reservation
// never exceeds what is available, and an adjustment never takes on-hand below what is
// reserved. Reserving again for the same order, or releasing a reservation that is not there,
// decides nothing — the saga's steps and compensations can be retried.
import { BusinessRuleError, NotFoundError, ValidationError } from '../shared/errors';
import type { Decider } from '../eventstore/decider';

export type InventoryCommand =
  | { type: 'ReceiveStock'; sku: string; quantity: number; reference?: string; at: string }
  | { type: 'ReserveStock'; sku: string; orderId: string; quantity: number; at: string }
  | { type: 'ReleaseStock'; sku: string; orderId: string; at: string }
  | { type: 'CommitReservation'; sku: string; orderId: string; at: string }
  | { type: 'AdjustStock'; sku: string; delta: number; reason: string; at: string };

export type InventoryEvent =
  | { type: 'StockReceived'; data: { sku: string; quantity: number; reference?: string; receivedAt: string } }
  | { type: 'StockReserved'; data: { sku: string; orderId: string; quantity: number; reservedAt: string } }
  | { type: 'StockReleased'; data: { sku: string; orderId: string; quantity: number; releasedAt: string } }
  | { type: 'ReservationCommitted'; data: { sku: string; orderId: string; quantity: number; committedAt: string } }
  | { type: 'StockAdjusted'; data: { sku: string; delta: number; reason: string; adjustedAt: string } };

export interface InventoryState {
  sku: string;
  onHand: number;
  reserved: number;
  reservations: Record<string, number>;
  known: boolean;
}

export const available = (s: InventoryState) => s.onHand - s.reserved;

function positive(quantity: number, field = 'quantity'): void {
  if (!Number.isInteger(quantity) || quantity <= 0) throw new ValidationError(`${field} must be a positive integer`, field);
}

export function decide(command: InventoryCommand, state: InventoryState): InventoryEvent[] {
  switch (command.type) {
    case 'ReceiveStock':
      positive(command.quantity);
      return [{ type: 'StockReceived', data: { sku: command.sku, quantity: command.quantity, ...(command.reference ? { reference: command.reference } : {}), receivedAt: command.at } }];
    case 'ReserveStock': {
      positive(command.quantity);
      const held = state.reservations[command.orderId];
      if (held === command.quantity) return [];
      if (held !== undefined) throw new BusinessRuleError(`${command.sku}: order ${command.orderId} holds ${held} already`, 'quantity');
      if (command.quantity > available(state)) {
        throw new BusinessRuleError(`${command.sku}: cannot reserve ${command.quantity}, only ${available(state)} available`, 'quantity');
      }
      return [{ type: 'StockReserved', data: { sku: command.sku, orderId: command.orderId, quantity: command.quantity, reservedAt: command.at } }];
    }
    case 'ReleaseStock': {
      const held = state.reservations[command.orderId];
      if (held === undefined) return [];
      return [{ type: 'StockReleased', data: { sku: command.sku, orderId: command.orderId, quantity: held, releasedAt: command.at } }];
    }
    case 'CommitReservation': {
      const held = state.reservations[command.orderId];
      if (held === undefined) throw new NotFoundError(`${command.sku}: order ${command.orderId} holds no reservation`, 'orderId');
      return [{ type: 'ReservationCommitted', data: { sku: command.sku, orderId: command.orderId, quantity: held, committedAt: command.at } }];
    }
    case 'AdjustStock': {
      if (!Number.isInteger(command.delta) || command.delta === 0) throw new ValidationError('delta must be a non-zero integer', 'delta');
      if (state.onHand + command.delta < state.reserved) {
        throw new BusinessRuleError(`${command.sku}: adjusting by ${command.delta} would leave less on hand than is reserved (${state.reserved})`, 'delta');
      }
      return [{ type: 'StockAdjusted', data: { sku: command.sku, delta: command.delta, reason: command.reason, adjustedAt: command.at } }];
    }
  }
}

export function evolve(state: InventoryState, event: InventoryEvent): InventoryState {
  const known = { ...state, sku: event.data.sku, known: true };
  switch (event.type) {
    case 'StockReceived':
      return { ...known, onHand: state.onHand + event.data.quantity };
    case 'StockReserved':
      return { ...known, reserved: state.reserved + event.data.quantity, reservations: { ...state.reservations, [event.data.orderId]: event.data.quantity } };
    case 'StockReleased': {
      const { [event.data.orderId]: _released, ...rest } = state.reservations;
      return { ...known, reserved: state.reserved - event.data.quantity, reservations: rest };
    }
    case 'ReservationCommitted': {
      const { [event.data.orderId]: _committed, ...rest } = state.reservations;
      return { ...known, reserved: state.reserved - event.data.quantity, onHand: state.onHand - event.data.quantity, reservations: rest };
    }
    case 'StockAdjusted':
      return { ...known, onHand: state.onHand + event.data.delta };
  }
}

export const inventoryDecider: Decider<InventoryCommand, InventoryEvent, InventoryState> = {
  decide,
  evolve,
  initialState: () => ({ sku: '', onHand: 0, reserved: 0, reservations: {}, known: false }),
};

export const inventoryStreamId = (sku: string) => `inventory-${sku}`;
