// npm run bench:router [-- --seconds 3]
// Messages per second through route + transform on one core, for the same standard order sent
// as JSON, XML and Avro — the ESB path the inbound queue's function runs (decode, validate,
// idempotency check, match routes, transform for every destination, hand to the sender) —
// beside a hand-written baseline that makes the same decision with JSON.parse and if statements
// and builds the same three documents by hand. Printed as ratios; written to bench/results/.
// Also what message integrity (signing every message, verifying at the router) and field-level
// encryption (a checkout's card and personal data at the ingress) add to that path.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { loadTopology } from '@backbone/azure-model/topology';
import { envelopeToXml } from '../src/esb/formats/xml';
import { acceptMessage } from '../src/esb/ingress';
import type { IdempotencyStore } from '../src/ports/idempotency';
import { Router } from '../src/esb/router';
import { RouteTable } from '../src/esb/routing/routes';
import { SchemaRegistry } from '../src/esb/schemas';
import { buildTransformGraph } from '../src/esb/transforms/catalog';
import type { MessageSender } from '../src/ports/messaging';
import type { OutgoingMessage } from '@backbone/azure-model/service-bus';
import { DEV_SECRETS } from '../src/security/dev-secrets';
import { loadFieldEncryptionConfig } from '../src/security/field-encryption-config';
import { FieldProtector } from '../src/security/field-protection';
import { parseEncryptionKeys, parseSigningKeys } from '../src/security/key-settings';
import { signMessage, verifyMessage } from '../src/security/message-signature';
import { appRoot } from '../src/shared/app-paths';
import { parseScriptArgs } from './support/cli-args';

const order = {
  orderId: 'ORD-1001',
  customerId: 'CUST-42',
  channel: 'web',
  items: [
    { sku: 'SKU-1', quantity: 2, unitPrice: 19.99 },
    { sku: 'SKU-2', quantity: 1, unitPrice: 5.5 },
  ],
  totalAmount: 45.48,
  currency: 'EUR',
};

/** Captures what would be sent (the last batch), so the work cannot be optimised away. */
class NullSender implements MessageSender {
  last: OutgoingMessage[] = [];
  async send(_entity: string, messages: OutgoingMessage[]) {
    this.last = messages;
  }
  async schedule() {
    return [];
  }
  async cancelScheduled() {}
}

const noMemory: IdempotencyStore = { has: async () => false, record: async () => undefined };

async function measure(name: string, seconds: number, run: () => Promise<unknown> | unknown): Promise<number> {
  const warmupEnd = performance.now() + 500;
  while (performance.now() < warmupEnd) await run();
  let n = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 100; i++) await run();
    n += 100;
  }
  const rate = n / ((performance.now() - start) / 1000);
  console.log(`  ${name.padEnd(44)} ${Math.round(rate).toLocaleString('en-US').padStart(9)} msg/s`);
  return rate;
}

/** The same decision and documents, written by hand for this one message type. */
function handWritten(body: string): string[] {
  const m = JSON.parse(body) as { messageId: string; correlationId: string; messageType: string; headers: { priority?: string }; payload: typeof order };
  const out: string[] = [];
  if (m.messageType === 'OrderPlaced' || m.messageType === 'OrderCancelled' || m.messageType === 'PaymentReceived') {
    const p = m.payload;
    const cols = ['orderId', 'customerId', 'channel'];
    let header = cols.map((c) => `"${c}"`).join(',');
    let row = cols.map((c) => `"${String(p[c as keyof typeof p]).replaceAll('"', '""')}"`).join(',');
    p.items.forEach((item, i) => {
      header += `,"items[${i}].sku","items[${i}].quantity","items[${i}].unitPrice"`;
      row += `,"${item.sku}",${item.quantity},${item.unitPrice}`;
    });
    out.push(`${header},"totalAmount","currency"\n${row},${p.totalAmount},"${p.currency}"\n`);
  }
  if (m.messageType === 'OrderPlaced') {
    const urgent = m.headers.priority === 'high' || m.headers.priority === 'urgent';
    const express = m.payload.totalAmount > 1000 && urgent;
    const lines = m.payload.items.map((i) => `<item><sku>${esc(i.sku)}</sku><quantity>${i.quantity}</quantity></item>`).join('');
    const request = `<?xml version="1.0" encoding="UTF-8"?><message messageId="${m.messageId}" messageType="FulfilmentRequest" schemaVersion="1" correlationId="${m.correlationId}"><headers></headers><payload><orderId>${esc(m.payload.orderId)}</orderId><priority>${express || urgent || m.payload.totalAmount > 1000 ? 'express' : 'standard'}</priority><lines>${lines}</lines></payload></message>`;
    out.push(express ? JSON.stringify({ orderId: m.payload.orderId, priority: 'express', lines: m.payload.items }) : request);
    out.push(JSON.stringify({ ...m, causationId: m.messageId }));
  }
  return out;
}

function esc(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

async function main(): Promise<void> {
  const { values } = parseScriptArgs('npm run bench:router [-- --seconds 3]', { options: { seconds: { type: 'string', default: '3' } } });
  const seconds = Number(values.seconds);
  const registry = SchemaRegistry.load();
  const graph = buildTransformGraph(registry);
  const topology = loadTopology(join(appRoot(), 'config', 'topology.yaml'));
  const routes = RouteTable.load(join(appRoot(), 'config', 'routes.yaml'), { topology, registry, graph });
  const routerSender = new NullSender();
  const router = new Router({ routes: () => routes, registry, graph, sender: routerSender, idempotency: noMemory, inboundQueue: 'inbound' });

  const envelope = {
    messageId: 'msg-1',
    messageType: 'OrderPlaced',
    schemaVersion: 1,
    correlationId: 'corr-1',
    timestamp: '2026-01-15T10:30:00Z',
    headers: { priority: 'normal', source: 'web' },
    payload: order,
  };
  const jsonBody = Buffer.from(JSON.stringify(envelope));
  const xmlBody = Buffer.from(envelopeToXml(envelope));
  const avroBody = registry.get('OrderPlaced.v1').avro!.toBuffer(order);
  const headers: Record<string, string> = { 'x-schema': 'OrderPlaced.v1', 'x-message-id': 'msg-1', 'x-correlation-id': 'corr-1', 'x-priority': 'normal', 'x-source': 'web' };
  const ingressSender = new NullSender();
  // Field-level encryption as the ingress runs it (an OrderPlaced has no encrypted fields), on throwaway keys.
  const keys = parseEncryptionKeys(DEV_SECRETS.FIELD_ENCRYPTION_KEYS!());
  const fields = new FieldProtector(loadFieldEncryptionConfig(join(appRoot(), 'config', 'field-encryption.yaml'), registry), () => keys);

  /** Ingress decode (any format → canonical envelope), then the router on it. */
  const esbPath = (contentType: string, body: Buffer) => async () => {
    await acceptMessage({ contentType, body, header: (n) => headers[n] ?? null }, { sender: ingressSender, registry, fields, now: () => new Date() });
    const queued = ingressSender.last[0]!;
    const decision = await router.handle({ messageId: queued.messageId!, body: JSON.parse(queued.body.toString()), applicationProperties: queued.applicationProperties ?? {} });
    if (decision.action !== 'complete' || decision.result !== 'routed') throw new Error(`unexpected ${JSON.stringify(decision)}`);
  };

  // Message integrity as the app runs it: the ingress's message signed, verified by the router's
  // trigger, every destination's message signed.
  const signingKeys = parseSigningKeys(DEV_SECRETS.MESSAGE_SIGNING_KEYS!());
  const signingSender: MessageSender = {
    send: (entity, messages) =>
      routerSender.send(
        entity,
        messages.map((m) => signMessage(m, signingKeys, entity)),
      ),
    schedule: () => routerSender.schedule(),
    cancelScheduled: () => routerSender.cancelScheduled(),
  };
  const signedRouter = new Router({ routes: () => routes, registry, graph, sender: signingSender, idempotency: noMemory, inboundQueue: 'inbound' });
  const signedPath = (contentType: string, body: Buffer) => async () => {
    await acceptMessage({ contentType, body, header: (n) => headers[n] ?? null }, { sender: ingressSender, registry, fields, now: () => new Date() });
    const queued = signMessage(ingressSender.last[0]!, signingKeys, 'inbound');
    const check = verifyMessage(queued, signingKeys, { destination: 'inbound' });
    if (!check.valid) throw new Error(check.description);
    const decision = await signedRouter.handle({ messageId: queued.messageId!, body: JSON.parse(queued.body.toString()), applicationProperties: queued.applicationProperties ?? {} });
    if (decision.action !== 'complete' || decision.result !== 'routed') throw new Error(`unexpected ${JSON.stringify(decision)}`);
  };
  // A checkout command with and without card details and personal data (seven encrypted fields).
  const createOrder = (withCard: boolean) =>
    Buffer.from(
      JSON.stringify({
        messageType: 'CreateOrder',
        payload: {
          orderId: 'ORD-1001',
          customerId: 'CUST-42',
          items: order.items,
          ...(withCard
            ? {
                customer: { email: 'erika@example.com', phone: '+49 30 1234567' },
                shippingAddress: { line1: 'Hauptstraße 1', city: 'Berlin', postalCode: '10115', country: 'DE' },
                payment: { method: 'card', card: { number: '4111111111111111', holder: 'Erika Mustermann', expiry: '12/30' } },
              }
            : {}),
        },
      }),
    );

  // The documents must agree, or the comparison is meaningless.
  await esbPath('application/json', jsonBody)();
  if (handWritten(jsonBody.toString()).length !== 3) throw new Error('the baseline should build three documents');

  console.log(`\nRoute + transform, one core (Node ${process.version}, ${cpus()[0]?.model ?? 'cpu'}), ${seconds} s per case\n`);
  const baseline = await measure('baseline: JSON.parse + if (hand-written)', seconds, () => handWritten(jsonBody.toString()));
  const rates = {
    json: await measure('ESB: JSON envelope', seconds, esbPath('application/json', jsonBody)),
    xml: await measure('ESB: XML envelope', seconds, esbPath('application/xml', xmlBody)),
    avro: await measure('ESB: Avro (X-Schema)', seconds, esbPath('avro/binary', avroBody)),
  };
  const security = {
    jsonSigned: await measure('ESB: JSON envelope, signed + verified', seconds, signedPath('application/json', jsonBody)),
    createOrder: await measure('ESB: CreateOrder, no card', seconds, esbPath('application/json', createOrder(false))),
    createOrderWithCard: await measure('ESB: CreateOrder with card (7 fields encrypted)', seconds, esbPath('application/json', createOrder(true))),
  };
  console.log('\n  ratio (baseline ÷ ESB: how many times the hand-written code is faster)');
  for (const [format, rate] of Object.entries(rates)) console.log(`  ${format.padEnd(6)} ${(baseline / rate).toFixed(1)}×`);
  console.log('\n  Both build the same three documents (audit CSV, fulfilment XML, order-events JSON); the ESB');
  console.log('  also decodes the input format, validates envelope and payload schemas and checks idempotency.');
  console.log(`\n  signing (the inbound message and three routed ones) and verifying: ${(rates.json / security.jsonSigned).toFixed(2)}× the JSON path's time`);
  console.log(`  encrypting a checkout's card and personal data at the ingress: ${(security.createOrder / security.createOrderWithCard).toFixed(2)}× the CreateOrder path's time`);

  const dir = join(appRoot(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `router-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      {
        benchmark: 'route+transform',
        seconds,
        node: process.version,
        cpu: cpus()[0]?.model,
        cores: cpus().length,
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        baselineMsgPerSec: baseline,
        esbMsgPerSec: rates,
        securityMsgPerSec: security,
        ratioBaselineOverEsb: Object.fromEntries(Object.entries(rates).map(([k, v]) => [k, baseline / v])),
      },
      null,
      2,
    ),
  );
  console.log(`\n  written to ${file}`);
}

main().catch((error: unknown) => {
  console.error((error as Error).stack ?? String(error));
  process.exit(1);
});
