// The order-fulfilment saga through the embedded host: submitted orders start it from the change
// feed; the happy path completes all twelve steps; a permanent failure at each step k runs exactly
// the compensations of the steps before k, in reverse; transient failures are retried per policy
// (durable retry timers, the backoff curve in the history); the approval gate completes on an
// event and compensates on a timeout or a rejection; a compensation that keeps failing stops the
// saga in CompensationFailed; a redelivered change feed starts no second instance. After each
// saga every participant's ledger is checked against the outcome.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '@backbone/local-azure/clock';
import { ORDER_FULFILMENT_SAGA } from '../../src/sagas/order-fulfilment';
import { postJson, rawHistory, startHost, waitFor, type RunningHost } from '../support/host';
import { repoRoot } from '../support/messaging-harness';
import { recordSagaHistories } from '../support/saga-histories';

const STEPS = ORDER_FULFILMENT_SAGA.steps;

interface Saga {
  status: string;
  runtimeStatus: string;
  completedSteps: string[];
  compensations: { step: string; compensation: string; status: string }[];
  lastError?: string;
  failedStep?: string;
  currentStep?: string;
  timeline: { step: string; phase: string; event: string }[];
}

const declineAt = (step: string) => ({ reason: `TestDecline-${step}`, when: { field: 'orderId', operator: 'starts_with', value: `k-${step}-` } });
const FAULTS = {
  steps: {
    ...Object.fromEntries(STEPS.map((s) => [s.name, { declineRules: [declineAt(s.name)] }])),
    capturePayment: { declineRules: [declineAt('capturePayment')], flakyRules: [{ reason: 'gateway timeout', when: { field: 'orderId', operator: 'starts_with', value: 'flaky-' }, failures: 2 }] },
    generateInvoice: {
      declineRules: [declineAt('generateInvoice')],
      flakyRules: [{ reason: 'invoicing down', when: { field: 'orderId', operator: 'starts_with', value: 'exhaust-' }, failures: 100 }],
    },
    createShipment: { declineRules: [declineAt('createShipment'), { reason: 'NoShippingToAddress', when: { field: 'orderId', operator: 'starts_with', value: 'stuck-' } }] },
    bookCarrier: { declineRules: [declineAt('bookCarrier')], hangRate: 0, hangMs: 0 },
    refundPayment: { failRules: [{ reason: 'refund service rejects', when: { field: 'orderId', operator: 'starts_with', value: 'stuck-' } }] },
  },
};

let dir: string;
let running: RunningHost;
const clock = new ManualClock(Date.now());
let lapse: NodeJS.Timeout | undefined;
/** Lets durable time run fast (retry backoffs, timers) while a test waits. */
const timeLapse = (on: boolean) => {
  if (lapse) clearInterval(lapse);
  lapse = on ? setInterval(() => clock.advance(2_000), 5) : undefined;
};

beforeAll(async () => {
  process.env.PARTICIPANT_FAULTS = JSON.stringify(FAULTS);
  dir = mkdtempSync(join(tmpdir(), 'saga-'));
  running = await startHost(repoRoot, { database: join(dir, 'embedded.sqlite'), clock, sweepIntervalMs: 0 });
  for (const sku of ['SKU-A', 'SKU-B']) await postJson(running.url(`/api/inventory/${sku}/receipts`), { quantity: 100_000 });
});
afterAll(async () => {
  timeLapse(false);
  // The histories the saga replay test checks the orchestrator against (test/support/saga-histories.ts).
  if (process.env.RECORD_SAGA_HISTORIES && running) console.log(`recorded ${recordSagaHistories(running, ORDER_FULFILMENT_SAGA.orchestrator)} saga histories`);
  await running?.stop();
  delete process.env.PARTICIPANT_FAULTS;
  rmSync(dir, { recursive: true, force: true });
});

async function submitOrder(orderId: string, options: { customerId?: string; unitPrice?: number } = {}) {
  const created = await postJson(running.url('/api/orders'), {
    orderId,
    customerId: options.customerId ?? 'cust-saga',
    items: [
      { sku: 'SKU-A', quantity: 2, unitPrice: options.unitPrice ?? 10 },
      { sku: 'SKU-B', quantity: 1, unitPrice: 5 },
    ],
  });
  expect(created.status).toBe(201);
  expect((await postJson(running.url(`/api/orders/${orderId}/submit`), {})).status).toBe(200);
}

const saga = async (orderId: string) => {
  const res = await fetch(running.url(`/api/sagas/${orderId}`));
  return res.status === 404 ? undefined : ((await res.json()) as Saga);
};
const ended = (orderId: string, timeoutMs = 20_000) =>
  waitFor(
    async () => {
      const s = await saga(orderId);
      return s && ['Completed', 'Compensated', 'CompensationFailed', 'Failed'].includes(s.status) && s;
    },
    `the saga of ${orderId} to end`,
    timeoutMs,
  );
const participants = async (orderId: string) =>
  (await (await fetch(running.url(`/api/ops/sagas/${orderId}/participants`))).json()) as { consistent: boolean; problems: string[]; effects: Record<string, string> };

test('the happy path: an order submitted runs all twelve steps, every participant applied once', async () => {
  await submitOrder('happy-1');
  const s = await ended('happy-1');
  // host.json durableTask.defaultVersion: the saga keeps to the code path of the version it started on.
  expect(s).toMatchObject({ status: 'Completed', compensations: [], version: '1.0' });
  expect(s.completedSteps).toEqual(STEPS.map((x) => x.name));
  expect(s.completedSteps.length).toBeGreaterThanOrEqual(12);
  const check = await participants('happy-1');
  expect(check).toMatchObject({ consistent: true, problems: [] });
  expect(check.effects).toMatchObject({ authorizePayment: 'applied', capturePayment: 'applied', order: 'confirmed', 'inventory/SKU-A': 'reserved 2' });
  const order = (await (await fetch(running.url('/api/orders/happy-1/events'))).json()) as { events: { type: string }[] };
  expect(order.events.filter((e) => e.type === 'OrderConfirmed')).toHaveLength(1);
  const completed = running.host.broker.peek('order-events/subscriptions/analytics', { maxMessageCount: 500 }).filter((m) => m.messageId === 'order-completed-happy-1');
  expect(completed).toHaveLength(1);
});

describe('a permanent failure at step k runs exactly the compensations of the steps before k, in reverse', () => {
  test.each(STEPS.map((s, k) => [k + 1, s.name] as const))('step %i: %s', async (_k, stepName) => {
    const orderId = `k-${stepName}-1`;
    await submitOrder(orderId);
    const s = await ended(orderId);
    const k = STEPS.findIndex((x) => x.name === stepName);
    const expected = STEPS.slice(0, k)
      .filter((x) => x.compensation)
      .reverse()
      .map((x) => x.compensation);
    expect(s).toMatchObject({ status: 'Compensated', failedStep: stepName, lastError: `${stepName}: TestDecline-${stepName}` });
    expect(s.completedSteps).toEqual(STEPS.slice(0, k).map((x) => x.name));
    expect(s.compensations.map((c) => c.compensation)).toEqual(expected);
    expect(s.compensations.every((c) => c.status === 'done')).toBe(true);
    expect(await participants(orderId)).toMatchObject({ consistent: true });
  });
});

test('transient failures are retried per the step policy (1 s, then 2 s) and the saga completes', async () => {
  timeLapse(true);
  await submitOrder('flaky-1');
  const s = await ended('flaky-1');
  timeLapse(false);
  expect(s.status).toBe('Completed');
  const events = rawHistory(running, 'order-saga-flaky-1') as { EventType: string; Name?: string; EventId?: number; TaskScheduledId?: number; FireAt?: string; Timestamp: string }[];
  const captureIds = events.filter((e) => e.EventType === 'TaskScheduled' && e.Name === 'capturePayment').map((e) => e.EventId);
  expect(captureIds).toHaveLength(3);
  const failures = events.filter((e) => e.EventType === 'TaskFailed' && captureIds.includes(e.TaskScheduledId));
  expect(failures).toHaveLength(2);
  // The retry timers follow the backoff curve: first interval 1 s, coefficient 2.
  // Each failure is followed by its retry timer (the step's timeout timer was created earlier),
  // due that long after the orchestration saw the failure.
  const delays = failures.map((f) => {
    const timer = events.slice(events.indexOf(f)).find((e) => e.EventType === 'TimerCreated')!;
    return Date.parse(timer.FireAt!) - Date.parse(timer.Timestamp);
  });
  expect(delays).toEqual([1_000, 2_000]);
  expect(await participants('flaky-1')).toMatchObject({ consistent: true });
});

test('a step that keeps failing exhausts its retries; its own compensation runs first, as its outcome is unknown', async () => {
  timeLapse(true);
  await submitOrder('exhaust-1');
  const s = await ended('exhaust-1', 30_000);
  timeLapse(false);
  expect(s).toMatchObject({ status: 'Compensated', failedStep: 'generateInvoice' });
  expect(s.lastError).toMatch(/invoicing down/);
  expect(s.compensations.map((c) => c.compensation)).toEqual(['voidInvoice', 'releaseCarrier', 'cancelShipment', 'refundPayment', 'voidPayment', 'releaseInventory', 'rejectOrder']);
  expect(await participants('exhaust-1')).toMatchObject({ consistent: true });
});

describe('the approval gate (orders over the threshold)', () => {
  test('waits in AwaitingApproval; a ManualApproval event lets it complete', async () => {
    await submitOrder('approve-1', { unitPrice: 1_000 });
    await waitFor(async () => (await saga('approve-1'))?.status === 'AwaitingApproval', 'AwaitingApproval');
    const raised = await postJson(running.url('/api/sagas/approve-1/events/ManualApproval'), { approved: true, by: 'risk-team' });
    expect(raised.status).toBe(202);
    const s = await ended('approve-1');
    expect(s.status).toBe('Completed');
    expect(s.timeline.some((t) => t.phase === 'approval' && t.event === 'approved')).toBe(true);
  });

  test('without an approval in time the durable timer rejects it and the steps before are compensated', async () => {
    await submitOrder('approve-2', { unitPrice: 1_000 });
    await waitFor(async () => (await saga('approve-2'))?.status === 'AwaitingApproval', 'AwaitingApproval');
    clock.advance(23 * 3600_000);
    await new Promise((r) => setTimeout(r, 100));
    expect((await saga('approve-2'))?.status).toBe('AwaitingApproval');
    clock.advance(2 * 3600_000);
    const s = await ended('approve-2');
    expect(s).toMatchObject({ status: 'Compensated', failedStep: 'checkFraud', lastError: 'checkFraud: ApprovalTimedOut: no manual approval in time' });
    expect(s.compensations.map((c) => c.compensation)).toEqual(['voidPayment', 'releaseInventory', 'rejectOrder']);
    expect(await participants('approve-2')).toMatchObject({ consistent: true });
    // An ended saga takes no more events.
    expect((await postJson(running.url('/api/sagas/approve-2/events/ManualApproval'), { approved: true })).status).toBe(409);
  });

  test('a rejection compensates at once', async () => {
    await submitOrder('approve-3', { unitPrice: 1_000 });
    await waitFor(async () => (await saga('approve-3'))?.status === 'AwaitingApproval', 'AwaitingApproval');
    await postJson(running.url('/api/sagas/approve-3/events/ManualApproval'), { approved: false, reason: 'stolen card' });
    expect(await ended('approve-3')).toMatchObject({ status: 'Compensated', lastError: 'checkFraud: ApprovalRejected: stolen card' });
  });
});

test('a compensation that keeps failing is retried with backoff, then the saga stops in CompensationFailed with the reason', async () => {
  timeLapse(true);
  await submitOrder('stuck-1');
  const s = await ended('stuck-1', 30_000);
  timeLapse(false);
  expect(s).toMatchObject({ status: 'CompensationFailed', failedStep: 'createShipment' });
  expect(s.lastError).toMatch(/^refundPayment failed after 8 attempts: .*refund service rejects/);
  expect(s.compensations).toEqual([{ step: 'capturePayment', compensation: 'refundPayment', status: 'failed' }]);
  // The capture stays applied: the ledger agrees with what the saga says it could not undo.
  const check = await participants('stuck-1');
  expect(check).toMatchObject({ consistent: true });
  expect(check.effects.capturePayment).toBe('applied');
  const outcomes = (await (await fetch(running.url('/api/sagas?status=CompensationFailed'))).json()) as { sagas: { orderId: string; alert: boolean }[] };
  expect(outcomes.sagas.find((o) => o.orderId === 'stuck-1')).toMatchObject({ alert: true });
});

test('a hung participant: the step times out, its compensation runs first, and the late call is refused', async () => {
  const faults = JSON.parse(process.env.PARTICIPANT_FAULTS!) as typeof FAULTS;
  process.env.PARTICIPANT_FAULTS = JSON.stringify({ ...faults, steps: { ...faults.steps, bookCarrier: { hangRate: 1, hangMs: 400 } } });
  try {
    await submitOrder('hang-1');
    await waitFor(async () => (await saga('hang-1'))?.currentStep === 'bookCarrier', 'the bookCarrier step');
    await new Promise((r) => setTimeout(r, 100));
    clock.advance(6 * 60_000); // past the step's 5-minute timeout, while the call still hangs
    const s = await ended('hang-1');
    expect(s).toMatchObject({ status: 'Compensated', failedStep: 'bookCarrier' });
    expect(s.lastError).toMatch(/did not finish within 300000 ms/);
    expect(s.compensations.map((c) => c.compensation)).toEqual(['releaseCarrier', 'cancelShipment', 'refundPayment', 'voidPayment', 'releaseInventory', 'rejectOrder']);
    // The hung call lands after its compensation: refused, nothing left applied.
    await new Promise((r) => setTimeout(r, 500));
    const check = await participants('hang-1');
    expect(check).toMatchObject({ consistent: true });
    expect(check.effects.bookCarrier).toBe('cancelled-before-applied');
  } finally {
    process.env.PARTICIPANT_FAULTS = JSON.stringify(FAULTS);
  }
});

test('sagas by outcome, and the API answers for unknown orders and bad events', async () => {
  const compensated = (await (await fetch(running.url('/api/sagas?status=Compensated&limit=200'))).json()) as { sagas: { orderId: string }[] };
  expect(compensated.sagas.map((s) => s.orderId)).toEqual(expect.arrayContaining(['k-authorizePayment-1', 'approve-2']));
  const since = new Date(clock.now() + 3600_000).toISOString();
  expect(((await (await fetch(running.url(`/api/sagas?since=${since}`))).json()) as { sagas: unknown[] }).sagas).toEqual([]);
  expect((await fetch(running.url('/api/sagas/never-ordered'))).status).toBe(404);
  expect((await fetch(running.url('/api/sagas?status=Sideways'))).status).toBe(400);
  expect((await postJson(running.url('/api/sagas/happy-1/events/bad name'), {})).status).toBe(400);
});

test('a redelivered change feed starts no second saga for an order', async () => {
  const before = (await (await fetch(`${running.host.baseUrl}/runtime/webhooks/durabletask/instances/order-saga-happy-1`)).json()) as { createdTime: string };
  // Forget the starter's checkpoint: its lease starts from the beginning again.
  const leases = running.host.documents.container('leases');
  const id = 'sagas-embedded.documents.localhost_integration_events..0';
  await running.stop();
  await leases.delete(id, id).catch(() => undefined);
  running = await startHost(repoRoot, { database: join(dir, 'embedded.sqlite'), clock, sweepIntervalMs: 0 });
  await waitFor(async () => Boolean(await running.host.documents.container('leases').read(id, id)), 'the starter to read the feed again');
  await new Promise((r) => setTimeout(r, 300));
  const after = (await (await fetch(`${running.host.baseUrl}/runtime/webhooks/durabletask/instances/order-saga-happy-1`)).json()) as { createdTime: string; runtimeStatus: string };
  expect(after).toMatchObject({ createdTime: before.createdTime, runtimeStatus: 'Completed' });
});
