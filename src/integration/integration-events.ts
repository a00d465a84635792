// Integration events: the public contract other systems consume from the integration-events hub.
// Only facts outsiders care about leave the service (an order's lifecycle, stock levels) — draft
// edits stay internal. The change feed of the events container is the outbox: only committed
// events are published, each at least once (a consumer de-duplicates by eventId), in stream
// order within a partition (partition key = stream id).
import type { StoredEvent } from '../eventstore/event-store';
import type { IntegrationEventMessage } from '../ports/event-publisher';

export const INTEGRATION_EVENTS_HUB = 'integration-events';

/** Domain event type → integration event type. */
const PUBLISHED: Record<string, string> = {
  OrderSubmitted: 'OrderSubmitted',
  OrderConfirmed: 'OrderConfirmed',
  OrderCancelled: 'OrderCancelled',
  OrderPaid: 'OrderPaid',
  OrderShipped: 'OrderShipped',
  StockReceived: 'StockReceived',
  StockAdjusted: 'StockAdjusted',
};

export interface IntegrationEvent {
  eventId: string;
  eventType: string;
  eventVersion: 1;
  occurredAt: string;
  /** The order or SKU the event is about. */
  subject: string;
  streamId: string;
  streamVersion: number;
  correlationId?: string;
  data: unknown;
}

function subjectOf(streamId: string): string {
  return streamId.replace(/^(order|inventory)-/, '');
}

export function toIntegrationEvents(events: StoredEvent[]): IntegrationEventMessage[] {
  const out: IntegrationEventMessage[] = [];
  for (const e of events) {
    const eventType = PUBLISHED[e.type];
    if (!eventType) continue;
    const body: IntegrationEvent = {
      eventId: e.id,
      eventType,
      eventVersion: 1,
      occurredAt: e.metadata.occurredAt,
      subject: subjectOf(e.streamId),
      streamId: e.streamId,
      streamVersion: e.version,
      ...(e.metadata.correlationId ? { correlationId: e.metadata.correlationId } : {}),
      data: e.data,
    };
    out.push({
      body,
      partitionKey: e.streamId,
      messageId: e.id,
      properties: {
        eventType,
        streamId: e.streamId,
        streamVersion: e.version,
        ...(e.metadata.correlationId ? { correlationId: e.metadata.correlationId } : {}),
        ...(e.metadata.traceparent ? { traceparent: e.metadata.traceparent } : {}),
      },
    });
  }
  return out;
}
