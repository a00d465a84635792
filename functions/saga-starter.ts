// Starts the order-fulfilment saga when an order is submitted: the events change feed (its own
// lease) is the trigger, the instance id derives from the order id, and an instance that exists
// already is left alone — so a redelivered batch or a second submit starts nothing new.
// SAGA_AUTOSTART=false turns the automatic start off (orders then wait in Submitted).
import * as df from 'durable-functions';
import { app, type InvocationContext } from '@azure/functions';
import type { Document } from '../src/ports/documents';
import { count } from '../src/observability/metrics';
import { currentTraceparent, inSpan, SpanKind } from '../src/observability/tracing';
import { toStoredEvent } from '../src/projections/projector';
import { sagaInstanceId } from '../src/sagas/definition';
import { ORDER_FULFILMENT_SAGA } from '../src/sagas/order-fulfilment';

export async function startOrderSagas(documents: unknown[], context: InvocationContext): Promise<void> {
  // SAGA_AUTOSTART=false pauses fulfilment (a backfill, a migration); the checkpoint still moves on.
  if (process.env.SAGA_AUTOSTART?.trim().toLowerCase() === 'false') return;
  const submitted = (documents as Document[]).map(toStoredEvent).filter((e) => e?.type === 'OrderSubmitted');
  if (submitted.length === 0) return;
  const client = df.getClient(context);
  for (const event of submitted) {
    const orderId = (event!.data as { orderId: string }).orderId;
    const instanceId = sagaInstanceId(orderId);
    const correlationId = event!.metadata.correlationId;
    // The start is a child of the OrderSubmitted append: the saga's steps join the order's trace through it.
    await inSpan(
      `start ${ORDER_FULFILMENT_SAGA.orchestrator}`,
      {
        kind: SpanKind.PRODUCER,
        parent: event!.metadata.traceparent ?? null,
        ...(correlationId ? { correlationId } : {}),
        attributes: { saga: ORDER_FULFILMENT_SAGA.orchestrator, 'saga.instance_id': instanceId, orderId },
      },
      async (span) => {
        try {
          await client.getStatus(instanceId);
          span.setAttribute('saga.started', false);
          return; // started before
        } catch (error) {
          if (!/404/.test((error as Error).message)) throw error;
        }
        try {
          const traceparent = currentTraceparent();
          await client.startNew(ORDER_FULFILMENT_SAGA.orchestrator, {
            instanceId,
            input: { orderId, ...(correlationId ? { correlationId } : {}), ...(traceparent ? { traceparent } : {}) },
          });
          span.setAttribute('saga.started', true);
          count('saga.started', { saga: ORDER_FULFILMENT_SAGA.orchestrator });
          context.log(`Started saga ${instanceId}`);
        } catch (error) {
          // Another starter got there first.
          if (!/already exists/.test((error as Error).message)) throw error;
          span.setAttribute('saga.started', false);
        }
      },
    );
  }
}

app.cosmosDB('startOrderSagas', {
  connection: 'CosmosConnection',
  databaseName: '%COSMOS_DATABASE_NAME%',
  containerName: 'events',
  leaseContainerName: 'leases',
  leaseContainerPrefix: 'sagas-',
  createLeaseContainerIfNotExists: false,
  startFromBeginning: true,
  maxItemsPerInvocation: 100,
  feedPollDelay: 100,
  extraInputs: [df.input.durableClient()],
  retry: { strategy: 'exponentialBackoff', maxRetryCount: -1, minimumInterval: { seconds: 1 }, maximumInterval: { minutes: 1 } },
  handler: startOrderSagas,
});
