// Projections as specifications (given events → when delivered → then views), without a host.
// Each projection is checked in order, with every batch delivered twice (the change feed is
// at-least-once), and with a stream's later events arriving before its earlier ones (a lease
// moving between hosts, a rebuild meeting the live feed): the views must come out the same.
import type { InventoryEvent } from '../../src/orders/inventory';
import type { OrderEvent, OrderLine } from '../../src/orders/order';
import { customerOrdersView } from '../../src/projections/views/customer-orders';
import { inventoryAvailabilityView } from '../../src/projections/views/inventory-availability';
import { orderSummaryView } from '../../src/projections/views/order-summary';
import { salesReportView } from '../../src/projections/views/sales-report';
import { projectionSpec, stream } from '../support/projection-spec';

const at = '2026-01-15T10:00:00.000Z';
const line = (sku: string, quantity: number, unitPrice: number): OrderLine => ({ sku, quantity, unitPrice });
const created = (orderId: string, customerId = 'c-1', createdAt = at): OrderEvent => ({ type: 'OrderCreated', data: { orderId, customerId, createdAt } });
const added = (l: OrderLine): OrderEvent => ({ type: 'ItemAdded', data: l });
const submitted = (orderId: string, lines: OrderLine[], customerId = 'c-1'): OrderEvent => ({
  type: 'OrderSubmitted',
  data: { orderId, customerId, lines, total: lines.reduce((t, l) => t + l.quantity * l.unitPrice, 0), submittedAt: at },
});
const cancelled = (previousStatus: 'draft' | 'submitted'): OrderEvent => ({ type: 'OrderCancelled', data: { reason: 'changed my mind', cancelledAt: at, previousStatus } });

const o1 = stream('order-o-1', [created('o-1'), added(line('A', 2, 10)), added(line('B', 1, 5)), submitted('o-1', [line('A', 2, 10), line('B', 1, 5)])]);
const o2 = stream('order-o-2', [created('o-2', 'c-1', '2026-01-16T10:00:00.000Z'), added(line('A', 1, 10)), submitted('o-2', [line('A', 1, 10)]), cancelled('submitted')]);
const o3 = stream('order-o-3', [created('o-3', 'c-2'), added(line('B', 4, 5)), submitted('o-3', [line('B', 4, 5)])]);
const [o1a, o1b, o1c, o1d] = o1;

describe('order-summary', () => {
  const spec = projectionSpec(orderSummaryView);
  const summaryOfO1 = {
    'g1:order:o-1': {
      pk: 'order:o-1',
      kind: 'order-summary',
      version: 4,
      state: { orderId: 'o-1', customerId: 'c-1', status: 'submitted', itemCount: 3, total: 25, lines: [line('A', 2, 10), line('B', 1, 5)] },
    },
  };

  test('given an order created, filled and submitted, then its summary', () => spec.given(o1).then(summaryOfO1));
  test('every batch delivered twice: the same summary', () => spec.given(o1).whenDelivered([o1a!, o1b!], [o1a!, o1b!], [o1c!, o1d!], [o1c!, o1d!]).then(summaryOfO1));
  test('the later events first: the earlier ones are read from the store, the same summary', () => spec.given(o1).whenDelivered([o1c!, o1d!], [o1a!, o1b!]).thenSameAsInOrder());
  test('a cancelled order', () => spec.given(o2).then({ 'g1:order:o-2': { version: 4, state: { status: 'cancelled', cancelReason: 'changed my mind', total: 10 } } }));
});

describe('customer-orders', () => {
  const spec = projectionSpec(customerOrdersView);
  test("given two customers' orders, then one entry per order in each customer's partition, sortable newest first", () =>
    spec.given(o1, o2, o3).then({
      'g1:customer-order:o-1': { pk: 'customer:c-1', sortKey: `${at}|o-1`, state: { status: 'submitted', total: 25 } },
      'g1:customer-order:o-2': { pk: 'customer:c-1', sortKey: '2026-01-16T10:00:00.000Z|o-2', state: { status: 'cancelled' } },
      'g1:customer-order:o-3': { pk: 'customer:c-2', state: { status: 'submitted', total: 20 } },
    }));
  test('redelivered', () => spec.given(o1, o3).whenDelivered(o1, o3, o1, o3).thenSameAsInOrder());
  test('an order whose creation arrives last: the customer is found in the store', () => spec.given(o1).whenDelivered([o1d!], [o1a!, o1b!, o1c!]).thenSameAsInOrder());
});

describe('sales-report', () => {
  const spec = projectionSpec(salesReportView);
  // o-1: A 2×10, B 1×5 counted; o-2: A 1×10 counted then uncounted (cancelled after submit); o-3: B 4×5.
  const report = {
    'g1:sales:A': { kind: 'sales', sku: 'A', unitsSold: 2, revenue: 20, orders: 1 },
    'g1:sales:B': { kind: 'sales', sku: 'B', unitsSold: 5, revenue: 25, orders: 2 },
    'g1:sales-order:A:o-1': { counted: true },
    'g1:sales-order:A:o-2': { counted: false },
    'g1:sales-order:B:o-1': { counted: true },
    'g1:sales-order:B:o-3': { counted: true },
  };
  test('given submitted orders and one cancelled after submitting, then units and revenue per SKU', () => spec.given(o1, o2, o3).then(report));
  test('every batch delivered twice: nothing counted twice', () => spec.given(o1, o2, o3).whenDelivered(o1, o1, o2, o2, o3, o3).then(report));
  test('the cancellation before the submit (a rebuild racing the feed): the order is never counted', () => {
    const [c, a, s, x] = o2;
    return spec.given(o1, o2, o3).whenDelivered(o1, [x!], [c!, a!, s!], o3).then(report);
  });
  test('a draft cancelled before submitting counts nothing', () => spec.given(stream('order-o-9', [created('o-9'), added(line('A', 1, 10)), cancelled('draft')])).then({}));
});

describe('inventory-availability', () => {
  const spec = projectionSpec(inventoryAvailabilityView);
  const inv = (events: InventoryEvent[]) => stream('inventory-A', events);
  const a = inv([
    { type: 'StockReceived', data: { sku: 'A', quantity: 10, receivedAt: at } },
    { type: 'StockReserved', data: { sku: 'A', orderId: 'o-1', quantity: 2, reservedAt: at } },
    { type: 'StockReserved', data: { sku: 'A', orderId: 'o-2', quantity: 3, reservedAt: at } },
    { type: 'StockReleased', data: { sku: 'A', orderId: 'o-2', quantity: 3, releasedAt: at } },
    { type: 'ReservationCommitted', data: { sku: 'A', orderId: 'o-1', quantity: 2, committedAt: at } },
    { type: 'StockAdjusted', data: { sku: 'A', delta: -1, reason: 'damaged', adjustedAt: at } },
  ]);
  const availability = { 'g1:inventory:A': { pk: 'inventory:A', version: 6, state: { sku: 'A', onHand: 7, reserved: 0, available: 7, held: {}, lastReceivedAt: at } } };
  test('given receipts, reservations, a release, a commit and an adjustment, then on hand, reserved and available', () => spec.given(a).then(availability));
  test('delivered twice', () => spec.given(a).whenDelivered(a, a).then(availability));
  test('later events first', () => spec.given(a).whenDelivered(a.slice(3), a.slice(0, 3)).then(availability));
});
