// fast-check generators of valid payloads for the models of the message catalog, with strings
// that stress every format: markup, quotes, separators, CR/LF, tabs, leading and trailing
// spaces, non-ASCII and astral characters.
import assert from 'node:assert/strict';
import fc from 'fast-check';

const chars = fc.constantFrom(...'abcXYZ019', ' ', '\t', '\n', '\r', '&', '<', '>', '"', "'", ',', ';', '#', '=', '@', '{', '}', '[', ']', '€', 'ß', '日', '本', '😀', '\u00a0');
export const text = (minLength: number, maxLength: number) => fc.string({ unit: chars, minLength, maxLength });
const id = text(1, 24);
const amount = fc.double({ min: 0, max: 1e9, noNaN: true, noDefaultInfinity: true }).map((v) => v + 0);
const currency = fc.constantFrom('EUR', 'USD', 'GBP', 'JPY');
const country = fc.constantFrom('DE', 'FR', 'GB', 'US', 'NL');
const address = fc.record({ line1: text(1, 40), city: text(1, 20), postalCode: text(1, 10), country });

// Ids of event-sourced entities: they become stream and Cosmos item ids, so the alphabet is narrow.
const entityId = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/);
const price = fc.double({ min: 0, max: 1e7, noNaN: true, noDefaultInfinity: true }).map((v) => v + 0);
const line = fc.record({ sku: entityId, quantity: fc.integer({ min: 1, max: 1_000_000 }), unitPrice: price });

export const payloads = {
  'OrderPlaced.v1': fc.record(
    {
      orderId: id,
      customerId: id,
      channel: fc.constantFrom('web', 'mobile', 'store', 'partner'),
      items: fc.array(fc.record({ sku: id, quantity: fc.integer({ min: 1, max: 10_000 }), unitPrice: amount }), { minLength: 1, maxLength: 4 }),
      totalAmount: amount,
      currency,
      shippingAddress: address,
    },
    { requiredKeys: ['orderId', 'customerId', 'items', 'totalAmount', 'currency'] },
  ),
  'PaymentReceived.v1': fc.record(
    {
      paymentId: id,
      orderId: id,
      amount,
      currency,
      method: fc.constantFrom('card', 'paypal', 'bank_transfer', 'gift_card'),
      receivedAt: fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
    },
    { requiredKeys: ['paymentId', 'orderId', 'amount', 'currency', 'method'] },
  ),
  'InventoryAdjusted.v1': fc.record(
    {
      sku: id,
      warehouse: text(1, 12),
      delta: fc.integer({ min: -1_000_000, max: 1_000_000 }),
      reason: fc.constantFrom('receipt', 'damage', 'count', 'return'),
      note: text(0, 30),
    },
    { requiredKeys: ['sku', 'warehouse', 'delta', 'reason'] },
  ),
  'FulfilmentRequest.v1': fc.record(
    {
      orderId: id,
      priority: fc.constantFrom('standard', 'express'),
      lines: fc.array(fc.record({ sku: id, quantity: fc.integer({ min: 1, max: 10_000 }) }), { minLength: 1, maxLength: 4 }),
      shipTo: address,
    },
    { requiredKeys: ['orderId', 'priority', 'lines'] },
  ),
  'PartnerOrder.v1': fc.record(
    {
      PurchaseOrderNumber: id,
      BuyerId: id,
      Currency: currency,
      Lines: fc.array(fc.record({ ItemCode: id, Qty: fc.integer({ min: 1, max: 10_000 }), Price: amount }), { minLength: 1, maxLength: 4 }),
      ShipTo: fc.record({ Street: text(1, 30), City: text(1, 20), Zip: text(1, 10), CountryCode: country }),
    },
    { requiredKeys: ['PurchaseOrderNumber', 'BuyerId', 'Currency', 'Lines'] },
  ),
  'CustomerFeedback.v1': fc.record({ customerId: id, orderId: id, rating: fc.integer({ min: 1, max: 5 }), comment: text(0, 60) }, { requiredKeys: ['customerId', 'rating'] }),
  'CreateOrder.v1': fc.record({ orderId: entityId, customerId: entityId, items: fc.array(line, { maxLength: 4 }) }),
  'AddOrderItem.v1': fc.record({ orderId: entityId, sku: entityId, quantity: fc.integer({ min: 1, max: 1_000_000 }), unitPrice: price }),
  'RemoveOrderItem.v1': fc.record({ orderId: entityId, sku: entityId }),
  'ChangeOrderItemQuantity.v1': fc.record({ orderId: entityId, sku: entityId, quantity: fc.integer({ min: 1, max: 1_000_000 }) }),
  'SubmitOrder.v1': fc.record({ orderId: entityId }),
  'CancelOrder.v1': fc.record({ orderId: entityId, reason: text(1, 60) }, { requiredKeys: ['orderId'] }),
  'OrderCompleted.v1': fc.record({
    orderId: id,
    customerId: id,
    total: amount,
    completedAt: fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
  }),
  'ReceiveStock.v1': fc.record({ sku: entityId, quantity: fc.integer({ min: 1, max: 1_000_000 }), reference: text(1, 40) }, { requiredKeys: ['sku', 'quantity'] }),
} as const;

/** Runs per property: FC_NUM_RUNS (npm run fuzz sets more), else a CI-friendly default. */
export function numRuns(fallback: number): number {
  const n = Number(process.env.FC_NUM_RUNS);
  assert.ok(Number.isNaN(n) || n > 0, 'FC_NUM_RUNS must be positive');
  return Number.isFinite(n) && n > 0 ? n : fallback;
}
