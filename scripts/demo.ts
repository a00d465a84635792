// npm run demo [-- --url http://localhost:7071 --key <function key>]
// Sends a mix of messages (valid, high value, malformed, unroutable, partner XML, Avro, a CSV
// batch) to a running host, then shows where each one ended: queues and topics with the format
// it was delivered in, or the dead-letter reason and where triage parked it.
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
}

const ITEMS: Item[] = [
  { name: 'Order (JSON)', file: 'order-placed.json', contentType: 'application/json' },
  { name: 'High-value urgent order', file: 'order-placed-high-value.json', contentType: 'application/json' },
  { name: 'Order (XML envelope)', file: 'order-placed.xml', contentType: 'application/xml' },
  { name: 'Partner purchase order (XML)', file: 'partner-order.xml', contentType: 'application/xml' },
  { name: 'Payment (Avro)', file: 'payment-received.avro', contentType: 'avro/binary', headers: { 'X-Schema': 'PaymentReceived.v1' } },
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
  const { values } = parseScriptArgs('npm run demo [-- --url http://localhost:7071 --key <function key>]', { options: { url: { type: 'string', default: 'http://localhost:7071' }, key: { type: 'string' } } });
  const base = values.url!.replace(/\/+$/, '');
  const auth: Record<string, string> = values.key ? { 'x-functions-key': values.key } : {};
  const health = await fetch(`${base}/api/health`).catch(() => undefined);
  if (!health?.ok) {
    console.error(`No healthy host at ${base} — start one with \`npm start\` (or pass --url).`);
    process.exit(1);
  }

  const sending = progress('sending', ITEMS.length);
  const outcomes: Outcome[] = [];
  for (const item of ITEMS) {
    const body = item.file ? readFileSync(join(appRoot(), 'config', 'samples', item.file)) : Buffer.from(item.body!);
    const res = await fetch(`${base}/api/messages`, { method: 'POST', headers: { 'content-type': item.contentType, ...auth, ...item.headers }, body });
    const json = (await res.json().catch(() => ({}))) as {
      messageId?: string;
      correlationId?: string;
      messages?: { messageId: string; correlationId: string }[];
      error?: { code: string; message: string };
    };
    outcomes.push({
      item,
      status: res.status,
      messageIds: json.messageId ? [json.messageId] : (json.messages ?? []).map((m) => m.messageId),
      correlationId: json.correlationId ?? json.messages?.[0]?.correlationId,
      error: json.error ? `${json.error.code}: ${json.error.message}` : undefined,
      trail: new Map(),
    });
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

  const table = new Table({ head: ['Message', 'Sent as', 'HTTP', 'Ended in'], colWidths: [30, 10, 6, 70], wordWrap: true });
  for (const o of outcomes) {
    let where: string;
    if (o.status >= 400) where = `rejected — ${o.error ?? ''}`;
    else if (o.trail.size === 0) where = 'not located within 15 s';
    else {
      const parts = new Set<string>();
      for (const trail of o.trail.values()) {
        for (const t of trail) {
          if (t.entity === 'inbound' && t.state !== 'scheduled') continue;
          if (t.entity.endsWith('/$deadletterqueue')) continue;
          const what = t.deadLetterReason ? `dead-lettered ${t.deadLetterReason} → ${t.entity}` : `${t.entity} (${SHORT[t.contentType ?? ''] ?? t.contentType}${t.messageType ? `, ${t.messageType}` : ''})`;
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

main().catch((error: unknown) => {
  console.error((error as Error).stack ?? String(error));
  process.exit(1);
});
