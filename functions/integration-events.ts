// The events change feed is the outbox: every committed domain event that belongs to the public
// contract is published to the integration-events hub, partitioned by stream id. The Node.js
// eventHub output binding cannot set a partition key (its events go round-robin), so the
// publisher is the @azure/event-hubs producer adapter. As for projections, a retry policy with
// no limit keeps a failed batch from being checkpointed and lost; consumers de-duplicate by eventId.
import { app, type InvocationContext } from '@azure/functions';
import { eventPublisher } from '../src/composition/ports';
import type { Document } from '../src/ports/documents';
import { INTEGRATION_EVENTS_HUB, toIntegrationEvents } from '../src/integration/integration-events';
import { batchCorrelation, inSpansPerTransaction, SpanKind, withCorrelation } from '../src/observability/tracing';
import { toStoredEvent } from '../src/projections/projector';

export async function publishIntegrationEvents(documents: unknown[], context: InvocationContext): Promise<void> {
  const events = (documents as Document[]).map(toStoredEvent).filter((e) => e !== undefined);
  const messages = toIntegrationEvents(events);
  if (messages.length === 0) return;
  const transactions = messages.map((m) => ({ traceparent: m.properties.traceparent as string | undefined, correlationId: m.properties.correlationId as string | undefined }));
  // One producer span per transaction; each event carries its own transaction's span, so a consumer continues that trace.
  await inSpansPerTransaction(
    `send ${INTEGRATION_EVENTS_HUB}`,
    transactions,
    { 'messaging.system': 'eventhubs', 'messaging.destination.name': INTEGRATION_EVENTS_HUB },
    async (childOf) => {
      const traced = messages.map((m) => {
        const traceparent = childOf(m.properties.traceparent as string | undefined);
        return traceparent ? { ...m, properties: { ...m.properties, traceparent, 'Diagnostic-Id': traceparent } } : m;
      });
      await eventPublisher().publish(INTEGRATION_EVENTS_HUB, traced);
    },
    SpanKind.PRODUCER,
  );
  withCorrelation(batchCorrelation(transactions.map((t) => t.correlationId)), () => context.log(`Published ${messages.length} integration events`));
}

app.cosmosDB('publishIntegrationEvents', {
  connection: 'CosmosConnection',
  databaseName: '%COSMOS_DATABASE_NAME%',
  containerName: 'events',
  leaseContainerName: 'leases',
  leaseContainerPrefix: 'integration-events-',
  createLeaseContainerIfNotExists: false,
  startFromBeginning: true,
  maxItemsPerInvocation: 100,
  feedPollDelay: 100,
  retry: { strategy: 'exponentialBackoff', maxRetryCount: -1, minimumInterval: { seconds: 1 }, maximumInterval: { minutes: 1 } },
  handler: publishIntegrationEvents,
});
