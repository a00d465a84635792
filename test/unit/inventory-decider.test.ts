import { inventoryDecider, type InventoryEvent } from '../../src/orders/inventory';
import { BusinessRuleError, NotFoundError, ValidationError } from '../../src/shared/errors';
import { specification } from '../support/decider-spec';

const spec = specification(inventoryDecider);
const at = '2026-01-15T10:00:00.000Z';
const received = (quantity: number): InventoryEvent => ({ type: 'StockReceived', data: { sku: 'A', quantity, receivedAt: at } });
const reserved = (orderId: string, quantity: number): InventoryEvent => ({ type: 'StockReserved', data: { sku: 'A', orderId, quantity, reservedAt: at } });

describe('Inventory', () => {
  test('receiving stock; a non-positive quantity is refused', () => {
    spec
      .given([])
      .when({ type: 'ReceiveStock', sku: 'A', quantity: 10, at })
      .then([received(10)]);
    spec.given([]).when({ type: 'ReceiveStock', sku: 'A', quantity: 0, at }).thenThrows(ValidationError);
  });

  test('reserving what is available; never more', () => {
    spec
      .given([received(10), reserved('o-1', 6)])
      .when({ type: 'ReserveStock', sku: 'A', orderId: 'o-2', quantity: 4, at })
      .then([reserved('o-2', 4)]);
    spec
      .given([received(10), reserved('o-1', 6)])
      .when({ type: 'ReserveStock', sku: 'A', orderId: 'o-2', quantity: 5, at })
      .thenThrows(BusinessRuleError, /only 4 available/);
    spec
      .given([])
      .when({ type: 'ReserveStock', sku: 'A', orderId: 'o-2', quantity: 1, at })
      .thenThrows(BusinessRuleError, /only 0 available/);
  });

  test('reserving again for the same order decides nothing; a different quantity is refused', () => {
    spec
      .given([received(10), reserved('o-1', 6)])
      .when({ type: 'ReserveStock', sku: 'A', orderId: 'o-1', quantity: 6, at })
      .thenNothing();
    spec
      .given([received(10), reserved('o-1', 6)])
      .when({ type: 'ReserveStock', sku: 'A', orderId: 'o-1', quantity: 2, at })
      .thenThrows(BusinessRuleError);
  });

  test('releasing gives the whole reservation back; releasing nothing decides nothing', () => {
    spec
      .given([received(10), reserved('o-1', 6)])
      .when({ type: 'ReleaseStock', sku: 'A', orderId: 'o-1', at })
      .then([{ type: 'StockReleased', data: { sku: 'A', orderId: 'o-1', quantity: 6, releasedAt: at } }]);
    spec
      .given([received(10)])
      .when({ type: 'ReleaseStock', sku: 'A', orderId: 'o-1', at })
      .thenNothing();
    // released stock can be reserved again
    spec
      .given([received(10), reserved('o-1', 6), { type: 'StockReleased', data: { sku: 'A', orderId: 'o-1', quantity: 6, releasedAt: at } }])
      .when({ type: 'ReserveStock', sku: 'A', orderId: 'o-2', quantity: 10, at })
      .then([reserved('o-2', 10)]);
  });

  test('committing a reservation takes it out of stock; there must be one', () => {
    spec
      .given([received(10), reserved('o-1', 6)])
      .when({ type: 'CommitReservation', sku: 'A', orderId: 'o-1', at })
      .then([{ type: 'ReservationCommitted', data: { sku: 'A', orderId: 'o-1', quantity: 6, committedAt: at } }]);
    spec
      .given([received(10)])
      .when({ type: 'CommitReservation', sku: 'A', orderId: 'o-1', at })
      .thenThrows(NotFoundError);
    spec
      .given([received(10), reserved('o-1', 6), { type: 'ReservationCommitted', data: { sku: 'A', orderId: 'o-1', quantity: 6, committedAt: at } }])
      .when({ type: 'ReserveStock', sku: 'A', orderId: 'o-3', quantity: 5, at })
      .thenThrows(BusinessRuleError, /only 4 available/);
  });

  test('adjusting; never below what is reserved; a zero delta is refused', () => {
    spec
      .given([received(10), reserved('o-1', 6)])
      .when({ type: 'AdjustStock', sku: 'A', delta: -4, reason: 'count', at })
      .then([{ type: 'StockAdjusted', data: { sku: 'A', delta: -4, reason: 'count', adjustedAt: at } }]);
    spec
      .given([received(10), reserved('o-1', 6)])
      .when({ type: 'AdjustStock', sku: 'A', delta: -5, reason: 'damage', at })
      .thenThrows(BusinessRuleError, /reserved/);
    spec
      .given([received(10)])
      .when({ type: 'AdjustStock', sku: 'A', delta: 0, reason: 'x', at })
      .thenThrows(ValidationError);
  });
});
