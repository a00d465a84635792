// npm run demo [-- --url http://localhost:7071 --key <function key>]
// Sends a mix of messages (valid, high value, malformed, unroutable, partner XML, Avro, a CSV
// batch, payments by card, checkouts paid by card) to a running host, then shows where each one
// ended: queues and topics with the format it was delivered in, the dead-letter reason and where
// triage parked it, or for a checkout the order, its card as the business keeps it (brand and
// last four digits) and how its fulfilment saga ended. The card numbers are the networks'
// published test numbers; they leave the ingress encrypted.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Table from 'cli-table3';
import { appRoot } from '../src/shared/app-paths';
import { parseScriptArgs } from './support/cli-args';
import { progress } from './support/progress';

interface Item {
  name: string;
  file?: string;
  body?: string;
  contentType: string;
  headers?: Record<string, string>;
  /** A checkout: CreateOrder from the file, paid with this card, then SubmitOrder. */
  checkout?: { card: string };
  /** A JSON envelope around the payload in the file, paid with this card. */
  payment?: { card: string; paymentId: string };
}

interface Checkout {
  orderId: string;
  status: number;
  error?: string;
  ended?: string;
}

const ITEMS: Item[] = [
  { name: 'Order (JSON)', file: 'order-placed.json', contentType: 'application/json' },
  { name: 'High-value urgent order', file: 'order-placed-high-value.json', contentType: 'application/json' },
  { name: 'Order (XML envelope)', file: 'order-placed.xml', contentType: 'application/xml' },
  { name: 'Partner purchase order (XML)', file: 'partner-order.xml', contentType: 'application/xml' },
  { name: 'Payment (Avro)', file: 'payment-received.avro', contentType: 'avro/binary', headers: { 'X-Schema': 'PaymentReceived.v1' } },
  { name: 'Payment by card (JSON)', file: 'payment-received.json', contentType: 'application/json', payment: { card: '378282246310005', paymentId: 'pay-amex' } },
  { name: 'Checkout, card', file: 'checkout-create-order.json', contentType: 'application/json', checkout: { card: '5555555555554444' } },
  { name: 'Checkout, declined card', file: 'checkout-create-order.json', contentType: 'application/json', checkout: { card: '4000000000000002' } },
  { name: 'Inventory batch (CSV)', file: 'inventory-adjustments.csv', contentType: 'text/csv', headers: { 'X-Message-Type': 'InventoryAdjusted' } },
  { name: 'Order cancelled', file: 'order-cancelled.json', contentType: 'application/json' },
  { name: 'Shipment dispatched', file: 'shipment-dispatched.json', contentType: 'application/json' },
  { name: 'Unroutable (no route)', file: 'customer-feedback-unroutable.json', contentType: 'application/json' },
  { name: 'Malformed order', file: 'malformed-order.json', contentType: 'application/json' },
  { name: 'Truncated JSON', body: '{"messageType":"OrderPlaced","payload":{"orderId":', contentType: 'application/json' },
  { name: 'Wrong content type', body: 'orderId=1', contentType: 'application/x-www-form-urlencoded' },
];

interface TrailEntry {
  entity: string;
  state: string;
  messageType?: string;
  contentType?: string;
  deadLetterReason?: string;
}

interface Outcome {
  item: Item;
  status: number;
  messageIds: string[];
  correlationId?: string;
  error?: string;
  trail: Map<string, TrailEntry[]>;
}

const SHORT: Record<string, string> = { 'application/json': 'json', 'application/xml': 'xml', 'avro/binary': 'avro', 'text/csv': 'csv' };

async function main(): Promise<void> {
  const { values } = parseScriptArgs('npm run demo [-- --url http://localhost:7071 --key <function key>]', {
    options: { url: { type: 'string', default: 'http://localhost:7071' }, key: { type: 'string' } },
  });
  const base = values.url!.replace(/\/+$/, '');
  const auth: Record<string, string> = values.key ? { 'x-functions-key': values.key } : {};
  const health = await fetch(`${base}/api/health`).catch(() => undefined);
  if (!health?.ok) {
    console.error(`No healthy host at ${base} — start one with \`npm start\` (or pass --url).`);
    process.exit(1);
  }

  // Stock for the checkouts' lines, so their sagas can reserve it.
  const checkoutLines = (JSON.parse(readFileSync(join(appRoot(), 'config', 'samples', 'checkout-create-order.json'), 'utf8')) as { payload: { items: { sku: string; quantity: number }[] } }).payload
    .items;
  for (const line of checkoutLines) {
    const res = await fetch(`${base}/api/inventory/${encodeURIComponent(line.sku)}/receipts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({ quantity: line.quantity * 10, reference: 'demo' }),
    });
    if (!res.ok) throw new Error(`Receiving stock of ${line.sku} failed: ${res.status} ${await res.text()}`);
  }

  const sending = progress('sending', ITEMS.length);
  const outcomes: Outcome[] = [];
  const checkouts = new Map<Item, Checkout>();
  const run = randomUUID().slice(0, 8);
  for (const item of ITEMS) {
    if (item.checkout) {
      checkouts.set(item, await checkout(base, auth, item, `ORD-${run}-${checkouts.size + 1}`));
      sending.increment();
      continue;
    }
    const body = item.file ? readFileSync(join(appRoot(), 'config', 'samples', item.file)) : Buffer.from(item.body!);
    if (item.payment) {
      const payload = { ...(JSON.parse(body.toString('utf8')) as { card: Record<string, string> }), paymentId: `${item.payment.paymentId}-${run}` };
      payload.card = { ...payload.card, number: item.payment.card };
      outcomes.push(await send(base, auth, item, Buffer.from(JSON.stringify({ messageType: 'PaymentReceived', payload }))));
      sending.increment();
      continue;
    }
    outcomes.push(await send(base, auth, item, body));
    sending.increment();
  }

  sending.stop();

  // Routing is asynchronous: ask where each accepted business transaction (correlationId) is
  // until every one has left the inbound queue.
  const accepted = outcomes.filter((o) => o.correlationId);
  const locating = progress('locating', accepted.length);
  const deadline = Date.now() + 15_000;
  const pending = new Set(accepted);
  while (pending.size > 0 && Date.now() < deadline) {
    for (const o of [...pending]) {
      const res = await fetch(`${base}/api/ops/trail?correlationId=${encodeURIComponent(o.correlationId!)}`, { headers: auth });
      if (!res.ok) continue;
      const trail = ((await res.json()) as { trail: TrailEntry[] }).trail;
      const located = trail.filter((t) => t.entity !== 'inbound' && !t.entity.endsWith('/$deadletterqueue')).length;
      if (located >= o.messageIds.length) {
        o.trail.set(o.correlationId!, trail);
        pending.delete(o);
        locating.increment();
      }
    }
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 250));
  }
  locating.stop();
  await settle(base, auth, [...checkouts.values()]);

  const table = new Table({ head: ['Message', 'Sent as', 'HTTP', 'Ended in'], colWidths: [30, 10, 6, 70], wordWrap: true });
  for (const item of ITEMS) {
    const c = checkouts.get(item);
    if (c) {
      table.push([item.name, 'json', String(c.status), c.error ? `rejected — ${c.error}` : (c.ended ?? 'not settled within 30 s')]);
      continue;
    }
    const o = outcomes.find((x) => x.item === item)!;
    let where: string;
    if (o.status >= 400) where = `rejected — ${o.error ?? ''}`;
    else if (o.trail.size === 0) where = 'not located within 15 s';
    else {
      const parts = new Set<string>();
      for (const trail of o.trail.values()) {
        for (const t of trail) {
          if (t.entity === 'inbound' && t.state !== 'scheduled') continue;
          if (t.entity.endsWith('/$deadletterqueue')) continue;
          const what = t.deadLetterReason
            ? `dead-lettered ${t.deadLetterReason} → ${t.entity}`
            : `${t.entity} (${SHORT[t.contentType ?? ''] ?? t.contentType}${t.messageType ? `, ${t.messageType}` : ''})`;
          parts.add(what);
        }
      }
      where = [...parts].join('\n');
      if (o.messageIds.length > 1) where = `${o.messageIds.length} messages:\n${where}`;
    }
    table.push([o.item.name, SHORT[o.item.contentType] ?? o.item.contentType, String(o.status), where]);
  }
  console.log(table.toString());
  console.log(`\nDead letters: ${base}/api/ops/deadletters?entity=review (bad content), ?entity=archive; business rules: the business-alerts topic.`);
}

async function send(base: string, auth: Record<string, string>, item: Item, body: Buffer): Promise<Outcome> {
  const res = await fetch(`${base}/api/messages`, { method: 'POST', headers: { 'content-type': item.contentType, ...auth, ...item.headers }, body });
  const json = (await res.json().catch(() => ({}))) as {
    messageId?: string;
    correlationId?: string;
    messages?: { messageId: string; correlationId: string }[];
    error?: { code: string; message: string };
  };
  return {
    item,
    status: res.status,
    messageIds: json.messageId ? [json.messageId] : (json.messages ?? []).map((m) => m.messageId),
    correlationId: json.correlationId ?? json.messages?.[0]?.correlationId,
    error: json.error ? `${json.error.code}: ${json.error.message}` : undefined,
    trail: new Map(),
  };
}

/** A checkout as a shop would send it: CreateOrder with the customer's card and contact details, then SubmitOrder, both through the ESB. */
async function checkout(base: string, auth: Record<string, string>, item: Item, orderId: string): Promise<Checkout> {
  const envelope = JSON.parse(readFileSync(join(appRoot(), 'config', 'samples', item.file!), 'utf8')) as { payload: { orderId: string; payment: { card: { number: string } } } };
  envelope.payload.orderId = orderId;
  envelope.payload.payment.card.number = item.checkout!.card;
  const post = (body: unknown) => fetch(`${base}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: JSON.stringify(body) });
  const created = await post(envelope);
  if (!created.ok) return { orderId, status: created.status, error: ((await created.json().catch(() => ({}))) as { error?: { message?: string } }).error?.message ?? '' };
  const submitted = await post({ messageType: 'SubmitOrder', payload: { orderId } });
  return { orderId, status: submitted.status };
}

/** Waits until each checkout's saga has ended, then says what the order and the saga show. */
async function settle(base: string, auth: Record<string, string>, checkouts: Checkout[]): Promise<void> {
  const pending = checkouts.filter((c) => !c.error);
  const settling = progress('settling', pending.length);
  const deadline = Date.now() + 30_000;
  while (pending.length > 0 && Date.now() < deadline) {
    for (const c of [...pending]) {
      const saga = await fetch(`${base}/api/sagas/${c.orderId}`, { headers: auth });
      if (!saga.ok) continue;
      const s = (await saga.json()) as { status: string; failedStep?: string; lastError?: string };
      if (!['Completed', 'Compensated', 'CompensationFailed'].includes(s.status)) continue;
      const order = (await (await fetch(`${base}/api/orders/${c.orderId}`, { headers: auth })).json()) as { status: string; payment?: { brand?: string; last4?: string } };
      const card = order.payment?.last4 ? `${order.payment.brand ?? 'card'} ending ${order.payment.last4}` : 'no card';
      c.ended = `order ${c.orderId} ${order.status}, paid by ${card}; saga ${s.status}${s.lastError ? ` (${s.lastError})` : ''}`;
      pending.splice(pending.indexOf(c), 1);
      settling.increment();
    }
    if (pending.length > 0) await new Promise((r) => setTimeout(r, 250));
  }
  settling.stop();
}

main().catch((error: unknown) => {
  console.error((error as Error).stack ?? String(error));
  process.exit(1);
});
