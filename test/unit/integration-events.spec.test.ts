// Integration events as a specification, without a host: given stored domain events, then the
// messages published to the integration-events hub — only the facts outsiders consume, each
// keyed by its stream (one partition per order or SKU keeps their order), its id the event's
// (consumers de-duplicate on it), correlation and trace carried along.
import type { StoredEvent } from '../../src/eventstore/event-store';
import { toIntegrationEvents as toMessages, type IntegrationEvent } from '../../src/integration/integration-events';
import { stream } from '../support/projection-spec';

const at = '2026-01-15T10:00:00.000Z';
/** The published messages, their bodies typed as the contract says. */
const toIntegrationEvents = (events: StoredEvent[]) => toMessages(events).map((m) => ({ ...m, body: m.body as IntegrationEvent }));
const withMetadata = (events: StoredEvent[], metadata: StoredEvent['metadata']) => events.map((e) => ({ ...e, metadata }));

const order = withMetadata(
  stream('order-o-1', [
    { type: 'OrderCreated', data: { orderId: 'o-1', customerId: 'c-1', createdAt: at } },
    { type: 'ItemAdded', data: { sku: 'A', quantity: 1, unitPrice: 10 } },
    { type: 'OrderSubmitted', data: { orderId: 'o-1', customerId: 'c-1', lines: [{ sku: 'A', quantity: 1, unitPrice: 10 }], total: 10, submittedAt: at } },
    { type: 'OrderConfirmed', data: { confirmedAt: at } },
  ]),
  { occurredAt: at, correlationId: 'corr-1', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
);
const stock = stream('inventory-A', [
  { type: 'StockReceived', data: { sku: 'A', quantity: 10, receivedAt: at } },
  { type: 'StockReserved', data: { sku: 'A', orderId: 'o-1', quantity: 1, reservedAt: at } },
  { type: 'StockAdjusted', data: { sku: 'A', delta: -1, reason: 'damaged', adjustedAt: at } },
]);

test('given an order created, edited, submitted and confirmed, then only the submit and the confirmation leave, in stream order', () => {
  const published = toIntegrationEvents(order);
  expect(published.map((m) => m.body)).toEqual([
    { eventId: 'order-o-1:3', eventType: 'OrderSubmitted', eventVersion: 1, occurredAt: at, subject: 'o-1', streamId: 'order-o-1', streamVersion: 3, correlationId: 'corr-1', data: order[2]!.data },
    { eventId: 'order-o-1:4', eventType: 'OrderConfirmed', eventVersion: 1, occurredAt: at, subject: 'o-1', streamId: 'order-o-1', streamVersion: 4, correlationId: 'corr-1', data: order[3]!.data },
  ]);
  for (const m of published) {
    expect(m).toMatchObject({ partitionKey: 'order-o-1', messageId: m.body.eventId });
    expect(m.properties).toEqual({ eventType: m.body.eventType, streamId: 'order-o-1', streamVersion: m.body.streamVersion, correlationId: 'corr-1', traceparent: order[0]!.metadata.traceparent });
  }
});

test('given stock received, reserved and adjusted, then the receipt and the adjustment (reservations are internal)', () => {
  const published = toIntegrationEvents(stock);
  expect(published.map((m) => [m.body.eventType, m.body.subject, m.partitionKey])).toEqual([
    ['StockReceived', 'A', 'inventory-A'],
    ['StockAdjusted', 'A', 'inventory-A'],
  ]);
  // No correlation in the metadata: none in the event or its properties.
  expect(published[0]!.body).not.toHaveProperty('correlationId');
  expect(published[0]!.properties).toEqual({ eventType: 'StockReceived', streamId: 'inventory-A', streamVersion: 1 });
});

test('a redelivered batch maps to the same messages (same ids: the consumer de-duplicates)', () => {
  expect(toIntegrationEvents([...order, ...order]).map((m) => m.messageId)).toEqual(['order-o-1:3', 'order-o-1:4', 'order-o-1:3', 'order-o-1:4']);
});
