// The recorded histories of the e2e saga runs (test/fixtures/saga-histories/), replayed against
// the orchestrator as it is now, through durable-functions' own replay — as the extension would
// replay an in-flight saga after a deployment. Each must schedule the activities its history
// recorded, in the same order, and end with the output it recorded. A non-deterministic change
// to the orchestrator fails here (see test/support/saga-histories.ts).
import { InvocationContext } from '@azure/functions';
import { ActionType, EventType, flattenActions, type ActionDto } from '@backbone/local-azure/durable/history';
import { sagaOrchestrator } from '../../src/sagas/orchestrator';
import { ORDER_FULFILMENT_SAGA } from '../../src/sagas/order-fulfilment';
import { recordedSagas, scheduledActivities } from '../support/saga-histories';

// durable-functions' own wrapper, as df.app.orchestration registers the function.
const { createOrchestrator } = require('durable-functions/lib/src/util/testingUtils') as {
  createOrchestrator: (fn: unknown) => (trigger: unknown, context: InvocationContext) => Promise<{ isDone: boolean; actions: ActionDto[][]; output?: unknown }>;
};
const orchestrator = createOrchestrator(sagaOrchestrator(ORDER_FULFILMENT_SAGA));
const sagas = recordedSagas();

test('there are recorded histories to replay, of every ending', () => {
  expect(sagas.length).toBeGreaterThanOrEqual(10);
  const endings = new Set(sagas.map((s) => (JSON.parse(s.output ?? 'null') as { status?: string } | null)?.status));
  expect([...endings].sort()).toEqual(['Compensated', 'CompensationFailed', 'Completed']);
});

test.each(sagas.map((s) => [s.instanceId, s] as const))('%s replays to the same activities and the same end', async (_id, saga) => {
  const started = saga.history.find((e) => e.EventType === EventType.ExecutionStarted)!;
  const state = await orchestrator(
    {
      history: saga.history.map((e) => ({ ...e, IsPlayed: true })),
      input: JSON.parse(started.Input ?? 'null'),
      instanceId: saga.instanceId,
      isReplaying: true,
      upperSchemaVersion: 1,
      upperSchemaVersionNew: 3,
      longRunningTimerIntervalDuration: '3.00:00:00',
      maximumShortTimerDuration: '6.00:00:00',
      defaultHttpAsyncRequestSleepTimeMillseconds: 30000,
    },
    new InvocationContext({ functionName: saga.name, invocationId: 'replay' }),
  );
  const calls = flattenActions(state.actions[0] ?? [])
    .filter((a) => a.actionType === ActionType.CallActivity || a.actionType === ActionType.CallActivityWithRetry)
    .map((a) => a.functionName);
  expect(calls).toEqual(scheduledActivities(saga.history));
  expect(state.isDone).toBe(true);
  expect(JSON.parse(JSON.stringify(state.output))).toEqual(JSON.parse(saga.output!));
});
