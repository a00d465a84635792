// `npm run demo` against a running host: every sample ends where the routes say, and the bad
// ones are refused or dead-lettered with a reason. Then the card numbers it sent (test cards, in
// payments and checkouts) are looked for in everything the host stored: none may be there.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findCardNumbers } from '../../src/security/card-numbers';
import { isSealed } from '../../src/security/sealed-value';
import { startHost, waitFor, type RunningHost } from '../support/host';
import { repoRoot } from '../support/messaging-harness';
import { scanStoredCardNumbers } from '../support/stored-card-numbers';

let running: RunningHost;
let demoOutput = '';
beforeAll(async () => {
  running = await startHost(repoRoot);
});
afterAll(() => running.stop());

test('the demo prints where each message ended', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [join(repoRoot, 'dist', 'scripts', 'demo.js'), '--url', running.host.baseUrl], { timeout: 90_000 });
  const text = stdout.replace(/\u001b\[[0-9;]*m/g, '');
  demoOutput = text;
  const row = (name: string) => text.slice(text.indexOf(name), text.indexOf('\n├', text.indexOf(name)));
  expect(row('Order (JSON)')).toContain('fulfilment (xml, FulfilmentRequest)');
  expect(row('High-value urgent order')).toContain('express-processing (json, FulfilmentRequest)');
  expect(row('Partner purchase order')).toContain('order-events/subscriptions/analytics (json, OrderPlaced)');
  expect(row('Payment (Avro)')).toContain('finance (avro, PaymentReceived)');
  expect(row('Payment by card (JSON)')).toContain('finance (avro, PaymentReceived)');
  expect(row('Checkout, card')).toContain('confirmed, paid by mastercard ending 4444');
  expect(row('Checkout, card')).toContain('Completed');
  expect(row('Checkout, declined card')).toContain('cancelled, paid by visa ending 0002');
  expect(row('Checkout, declined card')).toContain('Compensated');
  expect(row('Checkout, declined card')).toContain('CardDeclined');
  expect(row('Inventory batch (CSV)')).toContain('4 messages');
  expect(row('Unroutable')).toContain('dead-lettered NoRouteMatched');
  expect(row('Malformed order')).toContain('400');
  expect(row('Truncated JSON')).toContain('Malformed JSON');
  expect(row('Wrong content type')).toContain('415');
  expect(text).not.toContain('not located');
  expect(text).not.toContain('not settled');
}, 120_000);

test('after the demo traffic no card number is stored anywhere: events, views, broker messages, saga history', async () => {
  // The demo did send card numbers (the grep finds them in what it sent)...
  const sent = ['checkout-create-order.json', 'payment-received.json', 'payment-received.avro'].flatMap((f) =>
    findCardNumbers(readFileSync(join(repoRoot, 'config', 'samples', f)).toString('latin1')),
  );
  const demoCards = readFileSync(join(repoRoot, 'dist', 'scripts', 'demo.js'), 'utf8');
  expect(sent.map((f) => f.digits)).toEqual(expect.arrayContaining(['4111111111111111', '5555555555554444']));
  expect(findCardNumbers(demoCards).map((f) => f.digits)).toEqual(expect.arrayContaining(['378282246310005', '5555555555554444', '4000000000000002']));

  // ...and the checkouts' views are written (not only answerable from the events).
  const orders = [...demoOutput.matchAll(/order (ORD-[0-9a-f]{8}-\d+)/g)].map((m) => m[1]!);
  expect(new Set(orders).size).toBe(2);
  for (const id of new Set(orders)) {
    await waitFor(async () => {
      const res = await fetch(running.url(`/api/orders/${id}`));
      const body = (await res.json()) as { status: string };
      return res.headers.get('x-read-model') === 'view' && ['confirmed', 'cancelled'].includes(body.status);
    }, `the view of ${id}`);
    const events = (await (await fetch(running.url(`/api/orders/${id}/events`))).json()) as { events: { type: string; data: Record<string, any> }[] };
    const created = events.events.find((e) => e.type === 'OrderCreated')!.data;
    expect(created.payment.card).toMatchObject({ last4: expect.stringMatching(/^\d{4}$/), brand: expect.any(String) });
    for (const sealed of [created.payment.card.number, created.payment.card.holder, created.payment.card.expiry, created.customer.email, created.customer.phone, created.shippingAddress.line1]) {
      expect(isSealed(sealed)).toBe(true);
    }
  }

  const scan = scanStoredCardNumbers(running.host.db);
  expect(scan.tables).toEqual(expect.arrayContaining(['doc_items', 'sb_messages', 'df_history', 'eh_events']));
  expect(scan.cells).toBeGreaterThan(1000);
  expect(scan.found).toEqual([]);
  // Nor in what the app logged.
  expect(running.logs.flatMap((l) => findCardNumbers(l.message))).toEqual([]);
  expect(running.host.telemetry.logs().flatMap((l) => findCardNumbers(`${l.body} ${JSON.stringify(l.attributes)}`))).toEqual([]);
}, 60_000);

test('the trail endpoint follows a message by id and a transaction by correlationId', async () => {
  const res = await fetch(running.url('/api/messages'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ messageId: 'trail-1', correlationId: 'trail-corr', messageType: 'OrderCancelled', payload: { orderId: 'o', reason: 'r' } }),
  });
  expect(res.status).toBe(202);
  const trail = async (query: string) => (await (await fetch(running.url(`/api/ops/trail?${query}`))).json()) as { trail: { entity: string; causationId?: string }[] };
  let byId = await trail('messageId=trail-1');
  for (let i = 0; i < 100 && byId.trail?.length !== 3; i++) {
    await new Promise((r) => setTimeout(r, 20));
    byId = await trail('messageId=trail-1');
  }
  expect(byId.trail.map((t) => t.entity).sort()).toEqual(['audit-log', 'order-events/subscriptions/analytics', 'order-events/subscriptions/cancellations']);
  expect(byId.trail.every((t) => t.causationId === 'trail-1')).toBe(true);
  expect((await trail('correlationId=trail-corr')).trail).toHaveLength(3);
  expect((await fetch(running.url('/api/ops/trail?messageId=never-sent'))).status).toBe(404);
  expect((await fetch(running.url('/api/ops/trail'))).status).toBe(400);
});
