// The app's function registrations, as the embedded host captures them from @azure/functions:
// the same binding metadata Azure receives. A mistake in registration options fails here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCosmosDefinition } from '@backbone/azure-model/cosmos';
import { loadTopology } from '@backbone/azure-model/topology';
import { ORDER_FULFILMENT_SAGA } from '../../src/sagas/order-fulfilment';
import { workerState } from '@backbone/local-azure/worker/worker-state';
import { repoRoot } from '../support/messaging-harness';
import { startHost, type RunningHost } from '../support/host';

let running: RunningHost;
beforeAll(async () => {
  running = await startHost(repoRoot);
});
afterAll(() => running.stop());

const fn = (name: string) => {
  const found = running.host.functions.find((f) => f.name === name);
  if (!found) throw new Error(`function ${name} is not registered`);
  return found;
};
const workerFunction = (name: string) => [...workerState.functions.values()].find((f) => f.metadata.name === name)!;
const trigger = (name: string) => Object.values(fn(name).bindings).find((b) => b.direction === 'in' && b.type?.endsWith('Trigger'))!;

test('the app registers exactly the expected functions', () => {
  const sagaActivities = ORDER_FULFILMENT_SAGA.steps.flatMap((x) => [x.name, ...(x.compensation ? [x.compensation] : [])]);
  expect(running.host.functions.map((f) => f.name).sort()).toEqual(
    [
      ...sagaActivities,
      'recordSagaOutcome',
      'orderFulfilmentSaga',
      'startOrderSagas',
      'getSaga',
      'raiseSagaEvent',
      'listSagas',
      'opsTerminateSaga',
      'opsSagaParticipants',
      'addOrderItem',
      'cancelOrder',
      'createOrder',
      'getCustomerOrders',
      'getInventory',
      'getOrder',
      'getOrderEvents',
      'getSalesReport',
      'handleOrderCommand',
      'health',
      'ingestMessage',
      'opsProjections',
      'opsRebuildProjection',
      'projectEvents',
      'receiveStock',
      'removeOrderItem',
      'runOpsJob',
      'publishIntegrationEvents',
      'updateSalesMetric',
      'getSalesMetric',
      'opsRepublishIntegrationEvents',
      'opsJob',
      'submitOrder',
      'opsDeadLetters',
      'opsEntities',
      'opsMessageTrail',
      'opsAudit',
      'opsPurgeDeadLetters',
      'opsResubmitDeadLetter',
      'opsResubmitDeadLetters',
      'routeMessage',
      'triageInboundDeadLetters',
    ].sort(),
  );
});

test.each([
  ['ingestMessage', ['POST'], 'messages', 'function'],
  ['health', ['GET'], 'health', 'anonymous'],
  ['opsEntities', ['GET'], 'ops/entities', 'function'],
  ['opsDeadLetters', ['GET'], 'ops/deadletters', 'function'],
  ['opsResubmitDeadLetter', ['POST'], 'ops/deadletters/{sequenceNumber:long}/resubmit', 'function'],
  ['opsResubmitDeadLetters', ['POST'], 'ops/deadletters/resubmit', 'function'],
  ['opsPurgeDeadLetters', ['DELETE'], 'ops/deadletters', 'function'],
  ['opsMessageTrail', ['GET'], 'ops/trail', 'function'],
  ['createOrder', ['POST'], 'orders', 'function'],
  ['addOrderItem', ['POST'], 'orders/{id}/items', 'function'],
  ['removeOrderItem', ['DELETE'], 'orders/{id}/items/{sku}', 'function'],
  ['submitOrder', ['POST'], 'orders/{id}/submit', 'function'],
  ['cancelOrder', ['POST'], 'orders/{id}/cancel', 'function'],
  ['receiveStock', ['POST'], 'inventory/{sku}/receipts', 'function'],
  ['getOrder', ['GET'], 'orders/{id}', 'function'],
  ['getOrderEvents', ['GET'], 'orders/{id}/events', 'function'],
  ['getCustomerOrders', ['GET'], 'customers/{id}/orders', 'function'],
  ['getSalesReport', ['GET'], 'reports/sales', 'function'],
  ['getInventory', ['GET'], 'inventory/{sku}', 'function'],
  ['opsProjections', ['GET'], 'ops/projections', 'function'],
  ['opsRebuildProjection', ['POST'], 'ops/projections/{name}/rebuild', 'function'],
  ['opsRepublishIntegrationEvents', ['POST'], 'ops/integration-events/republish', 'function'],
  ['opsJob', ['GET'], 'ops/jobs/{id}', 'function'],
  ['getSalesMetric', ['GET'], 'metrics/sales', 'function'],
  ['getSaga', ['GET'], 'sagas/{orderId}', 'function'],
  ['raiseSagaEvent', ['POST'], 'sagas/{orderId}/events/{name}', 'function'],
  ['listSagas', ['GET'], 'sagas', 'function'],
  ['opsTerminateSaga', ['POST'], 'ops/sagas/{orderId}/terminate', 'function'],
  ['opsSagaParticipants', ['GET'], 'ops/sagas/{orderId}/participants', 'function'],
  ['opsAudit', ['GET'], 'ops/audit', 'function'],
])('%s is an HTTP function: %j %s, authLevel %s, with an http return binding', (name, methods, route, authLevel) => {
  expect(trigger(name)).toMatchObject({ type: 'httpTrigger', methods, route, authLevel });
  expect(fn(name).bindings.$return).toMatchObject({ type: 'http', direction: 'out' });
});

test('routeMessage settles the inbound queue itself: SDK-type binding, no auto-complete', () => {
  expect(trigger('routeMessage')).toMatchObject({
    type: 'serviceBusTrigger',
    queueName: 'inbound',
    connection: 'ServiceBusConnection',
    sdkBinding: true,
    autoCompleteMessages: false,
    properties: { supportsDeferredBinding: 'true' },
  });
  expect(trigger('routeMessage').isSessionsEnabled).toBeFalsy();
});

test("triageInboundDeadLetters is triggered by the inbound queue's dead-letter queue", () => {
  expect(trigger('triageInboundDeadLetters')).toMatchObject({
    type: 'serviceBusTrigger',
    queueName: 'inbound/$deadletterqueue',
    connection: 'ServiceBusConnection',
    sdkBinding: true,
    autoCompleteMessages: false,
  });
});

test('handleOrderCommand takes order-commands by session and settles it itself', () => {
  expect(trigger('handleOrderCommand')).toMatchObject({
    type: 'serviceBusTrigger',
    queueName: 'order-commands',
    connection: 'ServiceBusConnection',
    isSessionsEnabled: true,
    sdkBinding: true,
    autoCompleteMessages: false,
  });
});

test('projectEvents reads the events change feed on its own lease, from the beginning, and retries a batch until it is projected', () => {
  expect(trigger('projectEvents')).toMatchObject({
    type: 'cosmosDBTrigger',
    connection: 'CosmosConnection',
    databaseName: '%COSMOS_DATABASE_NAME%',
    containerName: 'events',
    leaseContainerName: 'leases',
    leaseContainerPrefix: 'projections-',
    startFromBeginning: true,
    maxItemsPerInvocation: 100,
  });
  const registered = workerFunction('projectEvents');
  expect(registered.metadata.retryOptions).toMatchObject({ retryStrategy: 'exponentialBackoff', maxRetryCount: -1 });
});

test('updateSalesMetric reads integration-events in batches on its own consumer group', () => {
  expect(trigger('updateSalesMetric')).toMatchObject({
    type: 'eventHubTrigger',
    connection: 'EventHubConnection',
    eventHubName: 'integration-events',
    consumerGroup: 'sales-metrics',
    cardinality: 'many',
  });
});

test('the saga: an orchestration, one activity per step and compensation, started from the change feed with a durable client', () => {
  expect(trigger('orderFulfilmentSaga')).toMatchObject({ type: 'orchestrationTrigger' });
  for (const step of ORDER_FULFILMENT_SAGA.steps) {
    expect(trigger(step.name)).toMatchObject({ type: 'activityTrigger' });
    if (step.compensation) expect(trigger(step.compensation)).toMatchObject({ type: 'activityTrigger' });
  }
  expect(trigger('startOrderSagas')).toMatchObject({ type: 'cosmosDBTrigger', containerName: 'events', leaseContainerPrefix: 'sagas-', startFromBeginning: true });
  for (const f of ['startOrderSagas', 'getSaga', 'raiseSagaEvent', 'listSagas', 'opsTerminateSaga', 'opsSagaParticipants']) {
    expect(Object.values(fn(f).bindings).some((b) => b.type === 'durableClient' && b.direction === 'in')).toBe(true);
  }
});

test('every container a cosmosDBTrigger names is declared in config/cosmos.yaml, each lease prefix once per container', () => {
  const declared = loadCosmosDefinition(join(repoRoot, 'config', 'cosmos.yaml')).cosmos.containers.map((c) => c.name);
  const leases = new Set<string>();
  for (const f of running.host.functions) {
    for (const b of Object.values(f.bindings)) {
      if (b.type !== 'cosmosDBTrigger') continue;
      expect(declared).toEqual(expect.arrayContaining([b.containerName, b.leaseContainerName ?? 'leases']));
      const lease = `${String(b.containerName)}/${String(b.leaseContainerPrefix ?? '')}`;
      expect(leases.has(lease)).toBe(false);
      leases.add(lease);
    }
  }
  expect(leases.size).toBeGreaterThan(0);
});

test('every queue a function names is declared in config/topology.yaml with a matching session setting', () => {
  const topology = loadTopology(join(repoRoot, 'config', 'topology.yaml'));
  for (const f of running.host.functions) {
    for (const b of Object.values(f.bindings)) {
      if (!b.type?.startsWith('serviceBus')) continue;
      const queue = topology.serviceBus.queues.find((q) => q.name === String(b.queueName).replace(/\/\$deadletterqueue$/i, ''));
      expect({ fn: f.name, queue: b.queueName, declared: Boolean(queue) }).toEqual({ fn: f.name, queue: b.queueName, declared: true });
      expect(Boolean(queue!.requiresSession)).toBe(b.isSessionsEnabled === true);
    }
  }
});

test('every connection a binding names is configured in local.settings.json', () => {
  const values = (JSON.parse(readFileSync(join(repoRoot, 'local.settings.json'), 'utf8')) as { Values: Record<string, string> }).Values;
  const connections = running.host.functions.flatMap((f) => Object.values(f.bindings).map((b) => b.connection)).filter(Boolean);
  expect(connections.length).toBeGreaterThan(0);
  for (const c of connections) expect(Object.keys(values)).toContain(c);
});

test('every Service Bus trigger settles its messages itself, so it can dead-letter what fails signature verification', () => {
  const serviceBusTriggers = running.host.functions.filter((f) => trigger(f.name).type === 'serviceBusTrigger').map((f) => f.name);
  expect(serviceBusTriggers.sort()).toEqual(['handleOrderCommand', 'routeMessage', 'runOpsJob', 'triageInboundDeadLetters']);
  for (const name of serviceBusTriggers) expect(trigger(name)).toMatchObject({ sdkBinding: true, autoCompleteMessages: false, properties: { supportsDeferredBinding: 'true' } });
  expect(trigger('runOpsJob')).toMatchObject({ queueName: 'ops-jobs', connection: 'ServiceBusConnection' });
});
