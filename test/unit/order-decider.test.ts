import { orderDecider, type OrderEvent, type OrderLine } from '../../src/orders/order';
import { BusinessRuleError, ConflictError, NotFoundError, ValidationError } from '../../src/shared/errors';
import { specification } from '../support/decider-spec';

const spec = specification(orderDecider);
const at = '2026-01-15T10:00:00.000Z';
const line = (sku: string, quantity = 1, unitPrice = 10): OrderLine => ({ sku, quantity, unitPrice });
const created: OrderEvent = { type: 'OrderCreated', data: { orderId: 'o-1', customerId: 'c-1', createdAt: at } };
const added = (l: OrderLine): OrderEvent => ({ type: 'ItemAdded', data: l });
const submitted: OrderEvent = { type: 'OrderSubmitted', data: { orderId: 'o-1', customerId: 'c-1', lines: [line('A', 2, 10)], total: 20, submittedAt: at } };
const draftWithA = [created, added(line('A', 2, 10))];

describe('Order: creating', () => {
  test('a new order with items is created with one ItemAdded per item', () =>
    spec
      .given([])
      .when({ type: 'CreateOrder', orderId: 'o-1', customerId: 'c-1', items: [line('A', 2), line('B', 1, 5)], at })
      .then([created, added(line('A', 2)), added(line('B', 1, 5))]));

  test('an order that exists cannot be created again', () => spec.given([created]).when({ type: 'CreateOrder', orderId: 'o-1', customerId: 'c-1', items: [], at }).thenThrows(ConflictError));

  test.each([
    ['a zero quantity', [line('A', 0)], ValidationError, /quantity/],
    ['a fractional quantity', [line('A', 1.5)], ValidationError, /quantity/],
    ['a negative price', [line('A', 1, -1)], ValidationError, /unitPrice/],
    ['101 lines', Array.from({ length: 101 }, (_, i) => line(`S${i}`)), BusinessRuleError, /at most 100/],
  ])('%s is refused', (_what, items, type, message) => spec.given([]).when({ type: 'CreateOrder', orderId: 'o-1', customerId: 'c-1', items, at }).thenThrows(type, message));

  test('a free item (price 0) is fine', () =>
    spec
      .given([])
      .when({ type: 'CreateOrder', orderId: 'o-1', customerId: 'c-1', items: [line('GIFT', 1, 0)], at })
      .then([created, added(line('GIFT', 1, 0))]));
});

describe('Order: changing lines while a draft', () => {
  test('adding an item', () =>
    spec
      .given(draftWithA)
      .when({ type: 'AddItem', orderId: 'o-1', sku: 'B', quantity: 3, unitPrice: 4, at })
      .then([added(line('B', 3, 4))]));

  test('the 101st line is refused; a 100th is fine', () => {
    const ninetyNine = [created, ...Array.from({ length: 99 }, (_, i) => added(line(`S${i}`)))];
    spec
      .given(ninetyNine)
      .when({ type: 'AddItem', orderId: 'o-1', sku: 'X', quantity: 1, unitPrice: 1, at })
      .then([added(line('X', 1, 1))]);
    spec
      .given([...ninetyNine, added(line('X'))])
      .when({ type: 'AddItem', orderId: 'o-1', sku: 'Y', quantity: 1, unitPrice: 1, at })
      .thenThrows(BusinessRuleError, /at most 100/);
    // more of a SKU already on the order is not a new line
    spec
      .given([...ninetyNine, added(line('X'))])
      .when({ type: 'AddItem', orderId: 'o-1', sku: 'X', quantity: 1, unitPrice: 1, at })
      .then([added(line('X', 1, 1))]);
  });

  test('removing an item, and removing one that is not there', () => {
    spec
      .given(draftWithA)
      .when({ type: 'RemoveItem', orderId: 'o-1', sku: 'A', at })
      .then([{ type: 'ItemRemoved', data: { sku: 'A' } }]);
    spec.given(draftWithA).when({ type: 'RemoveItem', orderId: 'o-1', sku: 'Z', at }).thenThrows(NotFoundError);
  });

  test('changing a quantity; the same quantity decides nothing; zero is refused', () => {
    spec
      .given(draftWithA)
      .when({ type: 'ChangeItemQuantity', orderId: 'o-1', sku: 'A', quantity: 5, at })
      .then([{ type: 'ItemQuantityChanged', data: { sku: 'A', quantity: 5 } }]);
    spec.given(draftWithA).when({ type: 'ChangeItemQuantity', orderId: 'o-1', sku: 'A', quantity: 2, at }).thenNothing();
    spec.given(draftWithA).when({ type: 'ChangeItemQuantity', orderId: 'o-1', sku: 'A', quantity: 0, at }).thenThrows(ValidationError);
  });

  test.each([
    ['submitted', [...draftWithA, submitted]],
    [
      'shipped',
      [
        ...draftWithA,
        submitted,
        { type: 'OrderConfirmed', data: { confirmedAt: at } },
        { type: 'OrderPaid', data: { paymentId: 'p', amount: 20, paidAt: at } },
        { type: 'OrderShipped', data: { shipmentId: 's', carrier: 'DHL', shippedAt: at } },
      ],
    ],
    ['cancelled', [...draftWithA, { type: 'OrderCancelled', data: { reason: 'r', cancelledAt: at, previousStatus: 'draft' } }]],
  ] as [string, OrderEvent[]][])('no line changes once the order is %s', (status, history) => {
    spec.given(history).when({ type: 'AddItem', orderId: 'o-1', sku: 'B', quantity: 1, unitPrice: 1, at }).thenThrows(BusinessRuleError, new RegExp(status));
    spec.given(history).when({ type: 'RemoveItem', orderId: 'o-1', sku: 'A', at }).thenThrows(BusinessRuleError);
    spec.given(history).when({ type: 'ChangeItemQuantity', orderId: 'o-1', sku: 'A', quantity: 9, at }).thenThrows(BusinessRuleError);
  });

  test('commands on an order that does not exist are NotFound', () => spec.given([]).when({ type: 'AddItem', orderId: 'o-1', sku: 'B', quantity: 1, unitPrice: 1, at }).thenThrows(NotFoundError));
});

describe('Order: lifecycle', () => {
  test('submitting records the lines and the total; an empty order cannot be submitted', () => {
    spec.given(draftWithA).when({ type: 'SubmitOrder', orderId: 'o-1', at }).then([submitted]);
    spec
      .given([created])
      .when({ type: 'SubmitOrder', orderId: 'o-1', at })
      .thenThrows(BusinessRuleError, /no lines/);
    spec
      .given([...draftWithA, submitted])
      .when({ type: 'SubmitOrder', orderId: 'o-1', at })
      .thenNothing();
  });

  test('confirming a submitted order; again decides nothing; a draft cannot be confirmed', () => {
    spec
      .given([...draftWithA, submitted])
      .when({ type: 'ConfirmOrder', orderId: 'o-1', at })
      .then([{ type: 'OrderConfirmed', data: { confirmedAt: at } }]);
    spec
      .given([...draftWithA, submitted, { type: 'OrderConfirmed', data: { confirmedAt: at } }])
      .when({ type: 'ConfirmOrder', orderId: 'o-1', at })
      .thenNothing();
    spec.given(draftWithA).when({ type: 'ConfirmOrder', orderId: 'o-1', at }).thenThrows(BusinessRuleError);
  });

  test('paying: once; the same payment again decides nothing; another payment is refused', () => {
    const paid: OrderEvent = { type: 'OrderPaid', data: { paymentId: 'p-1', amount: 20, paidAt: at } };
    spec
      .given([...draftWithA, submitted])
      .when({ type: 'MarkOrderPaid', orderId: 'o-1', paymentId: 'p-1', amount: 20, at })
      .then([paid]);
    spec
      .given([...draftWithA, submitted, paid])
      .when({ type: 'MarkOrderPaid', orderId: 'o-1', paymentId: 'p-1', amount: 20, at })
      .thenNothing();
    spec
      .given([...draftWithA, submitted, paid])
      .when({ type: 'MarkOrderPaid', orderId: 'o-1', paymentId: 'p-2', amount: 20, at })
      .thenThrows(BusinessRuleError);
    spec.given(draftWithA).when({ type: 'MarkOrderPaid', orderId: 'o-1', paymentId: 'p-1', amount: 20, at }).thenThrows(BusinessRuleError);
  });

  test('shipping needs a confirmed, paid order', () => {
    const confirmed: OrderEvent = { type: 'OrderConfirmed', data: { confirmedAt: at } };
    const paid: OrderEvent = { type: 'OrderPaid', data: { paymentId: 'p-1', amount: 20, paidAt: at } };
    const ship = { type: 'MarkOrderShipped' as const, orderId: 'o-1', shipmentId: 's-1', carrier: 'DHL', at };
    spec
      .given([...draftWithA, submitted, confirmed, paid])
      .when(ship)
      .then([{ type: 'OrderShipped', data: { shipmentId: 's-1', carrier: 'DHL', shippedAt: at } }]);
    spec
      .given([...draftWithA, submitted, confirmed])
      .when(ship)
      .thenThrows(BusinessRuleError, /not paid/);
    spec
      .given([...draftWithA, submitted, paid])
      .when(ship)
      .thenThrows(BusinessRuleError, /only a confirmed order ships/);
  });

  test('cancelling before shipping; again decides nothing; after shipping it is refused', () => {
    spec
      .given([...draftWithA, submitted])
      .when({ type: 'CancelOrder', orderId: 'o-1', reason: 'fraud', at })
      .then([{ type: 'OrderCancelled', data: { reason: 'fraud', cancelledAt: at, previousStatus: 'submitted' } }]);
    spec
      .given([...draftWithA, { type: 'OrderCancelled', data: { reason: 'x', cancelledAt: at, previousStatus: 'draft' } }])
      .when({ type: 'CancelOrder', orderId: 'o-1', reason: 'again', at })
      .thenNothing();
    spec
      .given([
        ...draftWithA,
        submitted,
        { type: 'OrderConfirmed', data: { confirmedAt: at } },
        { type: 'OrderPaid', data: { paymentId: 'p', amount: 20, paidAt: at } },
        { type: 'OrderShipped', data: { shipmentId: 's', carrier: 'c', shippedAt: at } },
      ])
      .when({ type: 'CancelOrder', orderId: 'o-1', reason: 'late', at })
      .thenThrows(BusinessRuleError, /shipped/);
  });
});
