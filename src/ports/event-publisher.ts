// The integration-event publishing port: events to an Event Hub, each with a partition key so
// one stream's events land on one partition, in order. On @azure/event-hubs (one batch per
// partition key) or on the embedded host's event log.

export interface IntegrationEventMessage {
  /** JSON-serialisable body. */
  body: unknown;
  partitionKey: string;
  messageId: string;
  properties: Record<string, string | number | boolean>;
}

export interface EventPublisher {
  publish(hub: string, events: IntegrationEventMessage[]): Promise<void>;
  close?(): Promise<void>;
}

/** Events grouped by partition key, keeping their order within each key. */
export function byPartitionKey(events: IntegrationEventMessage[]): Map<string, IntegrationEventMessage[]> {
  const groups = new Map<string, IntegrationEventMessage[]>();
  for (const e of events) {
    let g = groups.get(e.partitionKey);
    if (!g) groups.set(e.partitionKey, (g = []));
    g.push(e);
  }
  return groups;
}
