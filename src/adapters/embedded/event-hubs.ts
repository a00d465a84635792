// The publisher on the Event Hubs of the local Azure running in this process (found through
// @backbone/azure-model's registry): the same partition-key hashing as the service, bodies
// JSON-encoded as the SDK encodes them.
import { getLocalAzureRuntime, type LocalEventHubs } from '@backbone/azure-model/local-runtime';
import { byPartitionKey, type EventPublisher, type IntegrationEventMessage } from '../../ports/event-publisher';

/** Event Hubs Standard: 1 MB per event (and per batch) — the @azure/event-hubs adapter meets it as a batch that cannot take the event. */
const MAX_EVENT_BYTES = 1024 * 1024;

export class EmbeddedEventHubsPublisher implements EventPublisher {
  /** Event Hubs may be given directly (contract tests); otherwise the running host's are used. */
  constructor(private readonly fixed?: LocalEventHubs) {}

  async publish(hub: string, events: IntegrationEventMessage[]): Promise<void> {
    const log = this.fixed ?? getLocalAzureRuntime().eventHubs;
    for (const [partitionKey, group] of byPartitionKey(events)) {
      const encoded = group.map((e) => ({ body: Buffer.from(JSON.stringify(e.body)), contentType: 'application/json', messageId: e.messageId, properties: e.properties }));
      const tooLarge = encoded.find((e) => e.body.length > MAX_EVENT_BYTES);
      if (tooLarge) throw new Error(`Integration event ${tooLarge.messageId} is larger than an Event Hubs batch allows`);
      await log.publish(hub, encoded, { partitionKey });
    }
  }
}
