// Sends one OrderPlaced to the app's `inbound` queue over AMQP, as any other system would: the
// stock @azure/service-bus client with the official emulator's connection string, pointed at the
// local Azure that `npm start` runs. Nothing of this project is imported.
//
//   npm start                                   # in one terminal
//   node docs/examples/send-to-inbound.mjs      # in another: the host logs "Routed OrderPlaced …"
//   node docs/examples/send-to-inbound.mjs --unsigned   # "Dead-lettered message …: SignatureInvalid unsigned"
//
// The router acts only on messages the app signed (docs/security.md, "Message integrity"), in
// Azure as here, so a producer outside the app signs with a key of MESSAGE_SIGNING_KEYS, computed as
// that section describes; locally `npm start` generated the key in .data/dev-secrets.json.
// Settings: SERVICEBUS_CONNECTION (default: the emulator's string on port 5672), DATA_DIR (.data).
import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServiceBusClient } from '@azure/service-bus';

const connectionString = process.env.SERVICEBUS_CONNECTION ?? 'Endpoint=sb://localhost;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;';
const unsigned = process.argv.includes('--unsigned');
const messageId = process.argv.find((a, i) => i > 1 && !a.startsWith('--')) ?? `example-${randomUUID()}`;

const order = { orderId: `o-${messageId}`, customerId: 'c-1', items: [{ sku: 'A-1', quantity: 2, unitPrice: 10 }], totalAmount: 20, currency: 'EUR' };
const envelope = { messageId, messageType: 'OrderPlaced', schemaVersion: 1, correlationId: `corr-${messageId}`, timestamp: new Date().toISOString(), headers: {}, payload: order };
const message = {
  // Bytes in a data section: the signature covers the body exactly as the broker delivers it.
  body: Buffer.from(JSON.stringify(envelope)),
  messageId,
  contentType: 'application/json',
  correlationId: envelope.correlationId,
  subject: 'OrderPlaced',
  applicationProperties: { messageType: 'OrderPlaced', schemaVersion: 1, priority: 'normal' },
};

/** sb-hmac-v2 (docs/security.md): length-prefixed fields — version, destination, headers, signed properties, body. */
function signature(secret, m, destination) {
  const hmac = createHmac('sha256', secret);
  const field = (bytes) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hmac.update(length).update(bytes);
  };
  const text = (s) => field(Buffer.from(s, 'utf8'));
  const typed = (v) => (typeof v === 'string' ? `s${v}` : typeof v === 'number' ? `n${v}` : typeof v === 'boolean' ? `b${v}` : v === null ? 'z' : `d${v.getTime()}`);
  text('sb-hmac-v2');
  text(destination.toLowerCase());
  for (const header of [m.messageId, m.subject, m.correlationId, m.contentType, m.sessionId]) text(header === undefined ? '-' : `=${header}`);
  const signed = [
    'causationId',
    'messageType',
    'priority',
    'route',
    'schema',
    'schemaVersion',
    'source',
    'x-dead-letter-category',
    'x-dead-letter-reason',
    'x-original-entity',
    'x-original-message-id',
    'x-resubmit-count',
    'x-triage-resubmits',
  ]
    .sort()
    .filter((name) => m.applicationProperties[name] !== undefined);
  const count = Buffer.alloc(4);
  count.writeUInt32BE(signed.length);
  hmac.update(count);
  for (const name of signed) {
    text(name);
    text(typed(m.applicationProperties[name]));
  }
  field(m.body);
  return hmac.digest('base64');
}

if (!unsigned) {
  const secrets = JSON.parse(readFileSync(join(process.env.DATA_DIR ?? '.data', 'dev-secrets.json'), 'utf8'));
  const ring = JSON.parse(secrets.MESSAGE_SIGNING_KEYS);
  const secret = Buffer.from(ring.keys[ring.current].secret, 'base64');
  message.applicationProperties.sig = signature(secret, message, 'inbound');
  message.applicationProperties.sigKeyId = ring.current;
}

const client = new ServiceBusClient(connectionString);
const sender = client.createSender('inbound');
await sender.sendMessages(message);
await client.close();
console.log(JSON.stringify({ sent: messageId, queue: 'inbound', signed: !unsigned }));
