// Change feed → read models. The events container's change feed (a lease of its own in
// `leases`) drives every projection; a retry policy with no limit holds the lease until a batch
// is projected, because the Cosmos DB trigger would otherwise checkpoint a failed batch and move
// on. Events that can never be projected are parked in the projection's status, not retried.
import { app, type InvocationContext } from '@azure/functions';
import { eventSourcing } from '../src/composition/orders';
import type { Document } from '../src/ports/documents';
import { observe } from '../src/observability/metrics';
import { batchCorrelation, inSpansPerTransaction, withCorrelation } from '../src/observability/tracing';
import { toStoredEvent } from '../src/projections/projector';

export const PROJECTION_FEED_POLL_DELAY_MS = 100;

export async function projectEvents(documents: unknown[], context: InvocationContext): Promise<void> {
  const stored = (documents as Document[]).map(toStoredEvent).filter((e) => e !== undefined);
  const transactions = stored.map((e) => ({ traceparent: e.metadata.traceparent, correlationId: e.metadata.correlationId }));
  const { events, streams, lags } = await inSpansPerTransaction('project events', transactions, { 'faas.name': context.functionName }, () => eventSourcing().projector.handle(documents as Document[]));
  for (const { projection, lagMs } of lags) observe('projection.lag', lagMs, { projection });
  if (events > 0) withCorrelation(batchCorrelation(transactions.map((t) => t.correlationId)), () => context.log(`Projected ${events} events of ${streams} streams`));
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
