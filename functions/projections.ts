// Change feed → read models. The events container's change feed (a lease of its own in
// `leases`) drives every projection; a retry policy with no limit holds the lease until a batch
// is projected, because the Cosmos DB trigger would otherwise checkpoint a failed batch and move
// on. Events that can never be projected are parked in the projection's status, not retried.
// Rebuilds asked for through the ops API run here too, from the projection-rebuilds queue.
import { app, type InvocationContext } from '@azure/functions';
import { eventSourcing } from '../src/composition/orders';
import type { Document } from '../src/documents/container';
import { rebuildTracker } from '../src/projections/rebuild';

export const PROJECTION_FEED_POLL_DELAY_MS = 100;

export async function projectEvents(documents: unknown[], context: InvocationContext): Promise<void> {
  const { events, streams } = await eventSourcing().projector.handle(documents as Document[]);
  if (events > 0) context.log(`Projected ${events} events of ${streams} streams`);
}

export async function runProjectionRebuild(message: unknown, context: InvocationContext): Promise<void> {
  const name = String((message as { projection?: unknown })?.projection ?? '');
  const es = eventSourcing();
  const tracker = rebuildTracker(es.views, name);
  try {
    const result = await es.rebuild(name, (p) => tracker.progress(p));
    await tracker.completed(result);
    context.log(`Rebuilt ${name}: generation ${result.generation} from ${result.streams} streams, ${result.events} events in ${result.durationMs} ms`);
  } catch (error) {
    await tracker.failed(error as Error);
    throw error;
  }
}

app.cosmosDB('projectEvents', {
  connection: 'CosmosConnection',
  databaseName: '%COSMOS_DATABASE_NAME%',
  containerName: 'events',
  leaseContainerName: 'leases',
  leaseContainerPrefix: 'projections-',
  createLeaseContainerIfNotExists: false,
  startFromBeginning: true,
  maxItemsPerInvocation: 100,
  feedPollDelay: PROJECTION_FEED_POLL_DELAY_MS,
  retry: { strategy: 'exponentialBackoff', maxRetryCount: -1, minimumInterval: { seconds: 1 }, maximumInterval: { minutes: 1 } },
  handler: projectEvents,
});

app.serviceBusQueue('runProjectionRebuild', {
  connection: 'ServiceBusConnection',
  queueName: 'projection-rebuilds',
  handler: runProjectionRebuild,
});
