// Runs many order-fulfilment sagas through a host with injected faults and checks every one:
// it must end Completed, Compensated or CompensationFailed (with a reason), and every
// participant — ledgers, inventory, the order itself — must agree with that outcome.
// Used by `npm run saga:run` and, smaller, by the test suite.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedHost } from '@backbone/local-azure/host/host';
import { ORDER_FULFILMENT_SAGA } from '../../src/sagas/order-fulfilment';
import { appRoot } from '../../src/shared/app-paths';
import { forEachLimit } from '../../src/shared/concurrency';
import { progress } from './progress';

export interface SagaRunOptions {
  sagas: number;
  /** Share of activity calls that fail transiently. */
  transientRate: number;
  /** Share of sagas declined for good at some step. */
  declineRate: number;
  concurrency?: number;
  /** Show progress bars. */
  showProgress?: boolean;
  /** Stop waiting after this long. */
  timeoutMs?: number;
}

export interface SagaRunResult {
  sagas: number;
  outcomes: Record<string, number>;
  consistent: number;
  problems: { orderId: string; status: string; problems: string[] }[];
  unfinished: string[];
  durationMs: number;
  sagaDurationsMs: number[];
}

const SKUS = Array.from({ length: 20 }, (_, i) => `RUN-SKU-${i}`);

export async function runSagas(options: SagaRunOptions): Promise<SagaRunResult> {
  const steps = ORDER_FULFILMENT_SAGA.steps.length;
  // A saga is declined when any of its steps declines: spread the rate over the steps.
  const perStep = 1 - (1 - options.declineRate) ** (1 / steps);
  const previous = process.env.PARTICIPANT_FAULTS;
  process.env.PARTICIPANT_FAULTS = JSON.stringify({ default: { transientFailureRate: options.transientRate, declineRate: perStep } });
  const dataDir = mkdtempSync(join(tmpdir(), 'saga-run-'));
  const host = await EmbeddedHost.start({ appDir: appRoot(), port: 0, database: join(dataDir, 'embedded.sqlite'), logWriter: () => undefined });
  const api = `${host.baseUrl}/api`;
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${api}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (res.status >= 300) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  };
  const started = performance.now();
  const run = `r${Date.now().toString(36)}`;
  const orderIds = Array.from({ length: options.sagas }, (_, i) => `${run}-${i}`);
  try {
    for (const sku of SKUS) await post(`/inventory/${sku}/receipts`, { quantity: 1_000_000 });
    const submit = options.showProgress ? progress('submit orders', orderIds.length) : undefined;
    await forEachLimit(orderIds, options.concurrency ?? 16, async (orderId, i) => {
      await post('/orders', {
        orderId,
        customerId: `cust-${i % 50}`,
        items: [
          { sku: SKUS[i % SKUS.length], quantity: 1 + (i % 3), unitPrice: 9.99 },
          { sku: SKUS[(i + 7) % SKUS.length], quantity: 1, unitPrice: 4.5 },
        ],
      });
      await post(`/orders/${orderId}/submit`, {});
      submit?.increment();
    });
    submit?.stop();

    const ended = new Map<string, { status: string; startedAt: string; finishedAt?: string }>();
    const wait = options.showProgress ? progress('sagas ended', orderIds.length) : undefined;
    const deadline = Date.now() + (options.timeoutMs ?? 10 * 60_000);
    while (ended.size < orderIds.length && Date.now() < deadline) {
      await forEachLimit(
        orderIds.filter((id) => !ended.has(id)),
        16,
        async (orderId) => {
          const res = await fetch(`${api}/sagas/${orderId}`);
          if (res.status !== 200) return;
          const s = (await res.json()) as { status: string; startedAt: string; finishedAt?: string };
          if (['Completed', 'Compensated', 'CompensationFailed', 'Failed', 'Terminated'].includes(s.status)) {
            ended.set(orderId, s);
            wait?.increment();
          }
        },
      );
      if (ended.size < orderIds.length) await new Promise((r) => setTimeout(r, 250));
    }
    wait?.stop();
    const durationMs = Math.round(performance.now() - started);

    const outcomes: Record<string, number> = {};
    const problems: SagaRunResult['problems'] = [];
    let consistent = 0;
    const check = options.showProgress ? progress('check ledgers', ended.size) : undefined;
    await forEachLimit([...ended.entries()], 16, async ([orderId, s]) => {
      outcomes[s.status] = (outcomes[s.status] ?? 0) + 1;
      const res = await fetch(`${api}/ops/sagas/${orderId}/participants`);
      const body = (await res.json()) as { consistent?: boolean; problems?: string[] };
      if (res.status === 200 && body.consistent) consistent++;
      else problems.push({ orderId, status: s.status, problems: body.problems ?? [JSON.stringify(body)] });
      check?.increment();
    });
    check?.stop();
    return {
      sagas: orderIds.length,
      outcomes,
      consistent,
      problems,
      unfinished: orderIds.filter((id) => !ended.has(id)),
      durationMs,
      sagaDurationsMs: [...ended.values()].filter((s) => s.finishedAt).map((s) => Date.parse(s.finishedAt!) - Date.parse(s.startedAt)),
    };
  } finally {
    await host.stop();
    rmSync(dataDir, { recursive: true, force: true });
    if (previous === undefined) delete process.env.PARTICIPANT_FAULTS;
    else process.env.PARTICIPANT_FAULTS = previous;
  }
}
