// `npm run demo` against a running host: every sample ends where the routes say, and the bad
// ones are refused or dead-lettered with a reason.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startHost, type RunningHost } from '../support/host';
import { repoRoot } from '../support/messaging-harness';

let running: RunningHost;
beforeAll(async () => {
  running = await startHost(repoRoot);
});
afterAll(() => running.stop());

test('the demo prints where each message ended', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [join(repoRoot, 'dist', 'scripts', 'demo.js'), '--url', running.host.baseUrl], { timeout: 60_000 });
  const text = stdout.replace(/\u001b\[[0-9;]*m/g, '');
  const row = (name: string) => text.slice(text.indexOf(name), text.indexOf('\n├', text.indexOf(name)));
  expect(row('Order (JSON)')).toContain('fulfilment (xml, FulfilmentRequest)');
  expect(row('High-value urgent order')).toContain('express-processing (json, FulfilmentRequest)');
  expect(row('Partner purchase order')).toContain('order-events/subscriptions/analytics (json, OrderPlaced)');
  expect(row('Payment (Avro)')).toContain('finance (avro, PaymentReceived)');
  expect(row('Inventory batch (CSV)')).toContain('4 messages');
  expect(row('Unroutable')).toContain('dead-lettered NoRouteMatched');
  expect(row('Malformed order')).toContain('400');
  expect(row('Truncated JSON')).toContain('Malformed JSON');
  expect(row('Wrong content type')).toContain('415');
  expect(text).not.toContain('not located');
}, 90_000);

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
