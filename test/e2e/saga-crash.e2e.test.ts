// SIGKILL while sagas are running, then a restart on the same data directory: every saga goes on
// from its last committed episode and completes, and every participant effect is applied once —
// the ledgers, the inventory reservations, the order's OrderConfirmed event and the
// OrderCompleted message agree with one saga run per order.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChildHost } from '../support/child-host';
import { waitFor } from '../support/host';

const ORDERS = 12;
let dataDir: string;
beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'saga-crash-'));
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const post = (base: string, path: string, body: unknown) => fetch(`${base}/api${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

test('sagas killed mid-flight complete after a restart, each participant effect applied once', async () => {
  const lines: string[] = [];
  // Every activity takes a little while, so the kill lands in the middle of the sagas.
  const slow = JSON.stringify({ default: { latencyMs: 40 } });
  const first = await ChildHost.start(dataDir, lines, { PARTICIPANT_FAULTS: slow });
  expect((await post(first.baseUrl, '/inventory/SKU-CRASH/receipts', { quantity: 10_000 })).status).toBe(201);
  for (let i = 0; i < ORDERS; i++) {
    expect((await post(first.baseUrl, '/orders', { orderId: `sc-${i}`, customerId: 'cust-crash', items: [{ sku: 'SKU-CRASH', quantity: 1, unitPrice: 20 }] })).status).toBe(201);
    expect((await post(first.baseUrl, `/orders/sc-${i}/submit`, {})).status).toBe(200);
  }
  // Kill once the sagas are under way: some activities done, none of the sagas finished.
  await waitFor(() => lines.filter((l) => /Executed 'Functions\.(authorizePayment|capturePayment)' \(Succeeded/.test(l)).length >= 3, 'sagas in flight', 20_000);
  await first.kill('SIGKILL');
  const finishedBeforeKill = lines.filter((l) => /Saga for order sc-\d+ ended/.test(l)).length;
  expect(finishedBeforeKill).toBeLessThan(ORDERS);

  const second = await ChildHost.start(dataDir, lines);
  try {
    const saga = async (i: number) => (await (await fetch(`${second.baseUrl}/api/sagas/sc-${i}`)).json()) as { status: string };
    await waitFor(
      async () => {
        for (let i = 0; i < ORDERS; i++) if ((await saga(i)).status !== 'Completed') return false;
        return true;
      },
      'every saga to complete',
      60_000,
    );
    for (let i = 0; i < ORDERS; i++) {
      const check = (await (await fetch(`${second.baseUrl}/api/ops/sagas/sc-${i}/participants`)).json()) as { consistent: boolean; problems: string[]; effects: Record<string, string> };
      expect({ order: i, ...check }).toMatchObject({ order: i, consistent: true, problems: [] });
      expect(check.effects['inventory/SKU-CRASH']).toBe('reserved 1');
      const events = (await (await fetch(`${second.baseUrl}/api/orders/sc-${i}/events`)).json()) as { events: { type: string }[] };
      expect(events.events.filter((e) => e.type === 'OrderConfirmed')).toHaveLength(1);
    }
    // Stock: exactly one unit held per order, whatever ran twice.
    const stock = (await (await fetch(`${second.baseUrl}/api/inventory/SKU-CRASH`)).json()) as { reserved: number };
    expect(stock.reserved).toBe(ORDERS);
  } finally {
    await second.kill('SIGTERM');
  }
}, 120_000);
