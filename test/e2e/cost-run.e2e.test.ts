// npm run cost on a few orders: what the embedded host counts for an order matches what the
// order leaves behind and what its saga does, so the bill is built on real numbers.
import { costModel } from '../../scripts/support/cost-model';
import { runOrdersForCost } from '../../scripts/support/cost-run';
import { ORDER_FULFILMENT_SAGA } from '../../src/sagas/order-fulfilment';
import type { UsageRecord } from '@backbone/local-azure/usage';

const ORDERS = 8;
let result: Awaited<ReturnType<typeof runOrdersForCost>>;
const calls = (f: (r: UsageRecord) => boolean) => result.run.usage.filter(f).reduce((a, r) => a + r.calls, 0) / ORDERS;
const items = (f: (r: UsageRecord) => boolean) => result.run.usage.filter(f).reduce((a, r) => a + r.items, 0) / ORDERS;

beforeAll(async () => {
  result = await runOrdersForCost({ orders: ORDERS, readsPerOrder: 1, concurrency: 4 });
}, 120_000);

test('every function the order flow runs is counted once per order (the saga happy path: one call per step)', () => {
  const executions = (name: string) => calls((r) => r.service === 'functions' && r.resource === name);
  expect(executions('createOrder')).toBe(1);
  expect(executions('submitOrder')).toBe(1);
  expect(executions('getOrder')).toBe(1);
  for (const step of ORDER_FULFILMENT_SAGA.steps) expect(executions(step.name)).toBe(1);
  expect(executions('recordSagaOutcome')).toBe(1);
  // One orchestrator episode per activity result, plus the start; one work item per activity.
  expect(executions('orderFulfilmentSaga')).toBeGreaterThanOrEqual(ORDER_FULFILMENT_SAGA.steps.length + 2);
  expect(calls((r) => r.service === 'durable' && r.resource === 'workitem-queue')).toBe(ORDER_FULFILMENT_SAGA.steps.length + 1);
});

test('Cosmos inserts match the items the orders left behind; Event Hubs and Service Bus counts match what was published', () => {
  const inserted = items((r) => r.service === 'cosmos' && r.resource === 'events' && r.operation === 'insert');
  expect(inserted).toBeGreaterThan(0);
  expect(inserted).toBe(result.run.storedBytes.events!.items / ORDERS); // the event store only appends
  expect(items((r) => r.service === 'eventHubs' && r.operation === 'publish')).toBeGreaterThanOrEqual(1);
  expect(items((r) => r.service === 'serviceBus' && r.resource === 'order-events' && r.operation === 'send')).toBe(1); // OrderCompleted
  expect(result.run.busyMs).toBeGreaterThan(0);
});

test('the model prices it: a positive bill per million orders whose lines add up, and the deployment read from infra/', () => {
  expect(result.deployment).toMatchObject({ instanceMemoryMB: 2048, throughputUnits: 1, logAlertRules: 3 });
  // Every cosmosDBTrigger with the feedPollDelay it registers (the projections poll every 100 ms).
  expect(result.deployment.changeFeedPollers).toEqual(
    expect.arrayContaining([
      { function: 'projectEvents', feedPollDelayMs: 100 },
      { function: 'startOrderSagas', feedPollDelayMs: 100 },
    ]),
  );
  const model = costModel(result.run, result.deployment);
  expect(model.perOrder.cosmosRu).toBeGreaterThan(50);
  expect(model.perMillionUsd).toBeGreaterThan(0);
  for (const l of model.perMillion) expect(l.arithmetic).toMatch(/×/);
  expect(model.monthAtOneMillionUsd).toBeGreaterThan(model.idleUsd);
});
