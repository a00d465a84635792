// The sample messages in config/samples are what the demo sends and the README shows: each must
// be accepted by the ingress (or, for the malformed one, refused naming its field).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeAvro } from '../../src/esb/formats/avro';
import { acceptMessage, type Accepted, type AcceptedBatch } from '../../src/esb/ingress';
import { SchemaRegistry } from '../../src/esb/schemas';
import { RecordingSender } from '../support/fakes';
import { testFieldProtector } from '../support/keys';
import { repoRoot } from '../support/messaging-harness';

const registry = SchemaRegistry.load();
const fields = testFieldProtector(registry);
const dir = join(repoRoot, 'config', 'samples');
const read = (name: string) => readFileSync(join(dir, name));
const submit = (file: string, contentType: string, headers: Record<string, string> = {}) => {
  const sender = new RecordingSender();
  return {
    sender,
    result: acceptMessage({ contentType, body: read(file), header: (name) => headers[name.toLowerCase()] ?? null }, { sender, registry, fields, now: () => new Date('2026-01-15T10:30:00Z') }),
  };
};

test.each([
  ['order-placed.json', 'application/json', {}, 'OrderPlaced'],
  ['order-placed-high-value.json', 'application/json', {}, 'OrderPlaced'],
  ['order-cancelled.json', 'application/json', {}, 'OrderCancelled'],
  ['shipment-dispatched.json', 'application/json', {}, 'ShipmentDispatched'],
  ['customer-feedback-unroutable.json', 'application/json', {}, 'CustomerFeedback'],
  ['order-placed.xml', 'application/xml', {}, 'OrderPlaced'],
  ['partner-order.xml', 'application/xml', {}, 'PartnerOrder'],
  ['payment-received.avro', 'avro/binary', { 'x-schema': 'PaymentReceived.v1' }, 'PaymentReceived'],
  ['checkout-create-order.json', 'application/json', {}, 'CreateOrder'],
  ['inventory-adjustments.csv', 'text/csv', { 'x-message-type': 'InventoryAdjusted' }, 'InventoryAdjusted'],
])('%s is accepted as %s', async (file, contentType, headers, messageType) => {
  const { sender, result } = submit(file, contentType, headers);
  const accepted = (await result) as Accepted | AcceptedBatch;
  expect(sender.sent.length).toBe('count' in accepted ? accepted.count : 1);
  for (const s of sender.sent) expect(JSON.parse(s.message.body.toString())).toMatchObject({ messageType });
});

test('payment-received.avro is payment-received.json encoded with its Avro schema', () => {
  // As the ingress decodes it: optional fields the datum leaves null (the card's derived last4 and brand) are absent.
  const decoded = decodeAvro(registry.get('PaymentReceived.v1'), read('payment-received.avro'));
  expect(decoded).toEqual(JSON.parse(read('payment-received.json').toString()));
});

test('the CSV sample keeps a quoted comma, an absent note and an empty one apart', async () => {
  const { sender, result } = submit('inventory-adjustments.csv', 'text/csv', { 'x-message-type': 'InventoryAdjusted' });
  await result;
  const payloads = sender.sent.map((s) => (JSON.parse(s.message.body.toString()) as { payload: { note?: string } }).payload);
  expect(payloads.map((p) => p.note)).toEqual(['Delivery 4411, pallet 2', 'Crushed in transit', undefined, '']);
});

test('malformed-order.json is refused, naming the first bad field', async () => {
  await expect(submit('malformed-order.json', 'application/json').result).rejects.toMatchObject({ status: 400, target: 'payload.items[0].quantity' });
});
