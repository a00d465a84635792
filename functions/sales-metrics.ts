// A real-time sales metric from the integration-events hub (its own consumer group): orders,
// revenue and cancellations per minute over the last hour, and since the start.
//   GET /api/metrics/sales
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { documentContainer } from '../src/composition/ports';
import { errorResponse, json } from '../src/http/responses';
import { secured } from '../src/http/secured';
import { INTEGRATION_EVENTS_HUB, type IntegrationEvent } from '../src/integration/integration-events';
import { applySalesEvents, readSalesMetric } from '../src/integration/sales-metric';
import { batchCorrelation, inSpansPerTransaction, withCorrelation } from '../src/observability/tracing';

export async function updateSalesMetric(events: unknown[], context: InvocationContext): Promise<void> {
  const meta = context.triggerMetadata as {
    partitionContext?: { partitionId?: string };
    sequenceNumberArray?: (number | { low: number; high: number })[];
    propertiesArray?: Record<string, unknown>[];
  };
  const sequence = (i: number) => {
    const s = meta.sequenceNumberArray?.[i];
    return typeof s === 'number' ? s : s ? s.high * 2 ** 32 + (s.low >>> 0) : -1;
  };
  const batch = {
    partition: String(meta.partitionContext?.partitionId ?? '0'),
    events: events.map((event, i) => ({ sequenceNumber: sequence(i), event: event as IntegrationEvent })),
  };
  // Each event continues the trace of the order it is about.
  const transactions = events.map((event, i) => ({
    traceparent: typeof meta.propertiesArray?.[i]?.traceparent === 'string' ? (meta.propertiesArray[i]!.traceparent as string) : undefined,
    correlationId: (event as IntegrationEvent)?.correlationId,
  }));
  const applied = await inSpansPerTransaction('update sales metric', transactions, { 'messaging.system': 'eventhubs', 'messaging.consumer.group.name': 'sales-metrics' }, () =>
    applySalesEvents(documentContainer('views'), batch),
  );
  if (applied > 0)
    withCorrelation(batchCorrelation(transactions.map((t) => t.correlationId)), () => context.log(`Sales metric: ${applied} of ${events.length} events counted (partition ${batch.partition})`));
}

export async function getSalesMetric(_request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    return json(200, await readSalesMetric(documentContainer('views')));
  } catch (error) {
    return errorResponse(error, context);
  }
}

app.eventHub('updateSalesMetric', {
  connection: 'EventHubConnection',
  eventHubName: INTEGRATION_EVENTS_HUB,
  consumerGroup: 'sales-metrics',
  cardinality: 'many',
  retry: { strategy: 'exponentialBackoff', maxRetryCount: 5, minimumInterval: { seconds: 1 }, maximumInterval: { seconds: 30 } },
  handler: updateSalesMetric,
});

app.http('getSalesMetric', { methods: ['GET'], route: 'metrics/sales', authLevel: 'function', handler: secured('sales.readMetric', getSalesMetric) });
