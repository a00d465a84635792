// The events change feed is the outbox: every committed domain event that belongs to the public
// contract is published to the integration-events hub, partitioned by stream id. The Node.js
// eventHub output binding cannot set a partition key (its events go round-robin), so the
// publisher is the @azure/event-hubs producer adapter. As for projections, a retry policy with
// no limit keeps a failed batch from being checkpointed and lost; consumers de-duplicate by eventId.
import { app, type InvocationContext } from '@azure/functions';
import { eventPublisher } from '../src/adapters/event-hubs';
import type { Document } from '../src/documents/container';
import { INTEGRATION_EVENTS_HUB, toIntegrationEvents } from '../src/integration/integration-events';
import { toStoredEvent } from '../src/projections/projector';

export async function publishIntegrationEvents(documents: unknown[], context: InvocationContext): Promise<void> {
  const events = (documents as Document[]).map(toStoredEvent).filter((e) => e !== undefined);
  const messages = toIntegrationEvents(events);
  if (messages.length === 0) return;
  await eventPublisher().publish(INTEGRATION_EVENTS_HUB, messages);
  context.log(`Published ${messages.length} integration events`);
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
