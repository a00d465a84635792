// The order-fulfilment saga on Durable Functions: the orchestrator walks the saga definition;
// each step and compensation is an activity. Outcomes are recorded for queries by the last one.
// Spans and metrics live in the activities, never in the orchestrator: it replays.
import * as df from 'durable-functions';
import type { InvocationContext } from '@azure/functions';
import { sagas } from '../src/composition/sagas';
import { count, observe } from '../src/observability/metrics';
import { inSpan, markActiveSpan } from '../src/observability/tracing';
import type { SagaStatus, StepInput } from '../src/sagas/definition';
import { sagaDurations } from '../src/sagas/durations';
import { ORDER_FULFILMENT_SAGA } from '../src/sagas/order-fulfilment';
import { sagaOrchestrator } from '../src/sagas/orchestrator';

const SAGA = ORDER_FULFILMENT_SAGA.orchestrator;

df.app.orchestration(SAGA, sagaOrchestrator(ORDER_FULFILMENT_SAGA));

const compensations = new Set(ORDER_FULFILMENT_SAGA.steps.flatMap((s) => (s.compensation ? [s.compensation] : [])));
const activityNames = new Set(ORDER_FULFILMENT_SAGA.steps.flatMap((s) => [s.name, ...(s.compensation ? [s.compensation] : [])]));
for (const name of activityNames) {
  const kind = compensations.has(name) ? 'compensation' : 'step';
  df.app.activity(name, {
    handler: async (input: StepInput, context: InvocationContext) =>
      inSpan(
        `saga ${kind} ${name}`,
        {
          parent: input.traceparent ?? null,
          ...(input.correlationId ? { correlationId: input.correlationId } : {}),
          attributes: { saga: SAGA, 'saga.instance_id': input.sagaId, [`saga.${kind}`]: name, orderId: input.orderId },
        },
        async () => {
          const result = await sagas().activities[name]!(input);
          if (!result.ok) {
            markActiveSpan('error', result.reason, { 'saga.declined': true });
            context.warn(`${name} declined for order ${input.orderId}: ${result.reason}`);
          }
          return result;
        },
      ),
  });
}

/** Saga, step and compensation figures, from the saga's own timeline. */
function recordSagaMetrics(status: SagaStatus): void {
  const counter = status.status === 'Completed' ? 'saga.completed' : status.status === 'Compensated' ? 'saga.compensated' : status.status === 'CompensationFailed' ? 'saga.failed' : undefined;
  if (counter === 'saga.completed') count(counter, { saga: SAGA });
  else if (counter) count(counter, { saga: SAGA, failedStep: status.failedStep ?? 'unknown' });
  const d = sagaDurations(status);
  if (d.saga) observe('saga.duration', d.saga.ms, { saga: SAGA, outcome: d.saga.outcome });
  for (const s of d.steps) observe('saga.step.duration', s.ms, { saga: SAGA, step: s.name, outcome: s.outcome });
  for (const c of d.compensations) observe('saga.compensation.duration', c.ms, { saga: SAGA, compensation: c.name, outcome: c.outcome });
}

df.app.activity(ORDER_FULFILMENT_SAGA.outcomeActivity, {
  handler: async (status: SagaStatus, context: InvocationContext) =>
    inSpan(
      `saga outcome ${status.status}`,
      {
        parent: status.traceparent ?? null,
        ...(status.correlationId ? { correlationId: status.correlationId } : {}),
        attributes: { saga: SAGA, orderId: status.orderId, 'saga.outcome': status.status },
      },
      async () => {
        await sagas().recordOutcome(status);
        // At least once: a retried outcome activity counts its saga again (rare; the outcome document is upserted).
        recordSagaMetrics(status);
        if (status.status === 'CompensationFailed') {
          // The alert: effects may remain applied; somebody has to look.
          markActiveSpan('error', status.lastError);
          context.error(`ALERT saga CompensationFailed for order ${status.orderId}: ${status.lastError}`);
        } else {
          context.log(`Saga for order ${status.orderId} ended ${status.status}${status.lastError ? ` (${status.lastError})` : ''}`);
        }
        return { recorded: true };
      },
    ),
});
