// The order-fulfilment saga on Durable Functions: the orchestrator walks the saga definition;
// each step and compensation is an activity. Outcomes are recorded for queries by the last one.
import * as df from 'durable-functions';
import type { InvocationContext } from '@azure/functions';
import { sagas } from '../src/composition/sagas';
import type { SagaStatus, StepInput } from '../src/sagas/definition';
import { ORDER_FULFILMENT_SAGA } from '../src/sagas/order-fulfilment';
import { sagaOrchestrator } from '../src/sagas/orchestrator';

df.app.orchestration(ORDER_FULFILMENT_SAGA.orchestrator, sagaOrchestrator(ORDER_FULFILMENT_SAGA));

const activityNames = new Set(ORDER_FULFILMENT_SAGA.steps.flatMap((s) => [s.name, ...(s.compensation ? [s.compensation] : [])]));
for (const name of activityNames) {
  df.app.activity(name, {
    handler: async (input: StepInput, context: InvocationContext) => {
      const result = await sagas().activities[name]!(input);
      if (!result.ok) context.warn(`${name} declined for order ${input.orderId}: ${result.reason}`);
      return result;
    },
  });
}

df.app.activity(ORDER_FULFILMENT_SAGA.outcomeActivity, {
  handler: async (status: SagaStatus, context: InvocationContext) => {
    await sagas().recordOutcome(status);
    if (status.status === 'CompensationFailed') {
      // The alert: effects may remain applied; somebody has to look.
      context.error(`ALERT saga CompensationFailed for order ${status.orderId}: ${status.lastError}`);
    } else {
      context.log(`Saga for order ${status.orderId} ended ${status.status}${status.lastError ? ` (${status.lastError})` : ''}`);
    }
    return { recorded: true };
  },
});
