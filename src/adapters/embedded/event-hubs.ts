// The publisher on the Event Hubs of the local Azure running in this process (found through
// @backbone/azure-model's registry): the same partition-key hashing as the service, bodies
// JSON-encoded as the SDK encodes them.
import { getLocalAzureRuntime } from '@backbone/azure-model/local-runtime';
import { byPartitionKey, type EventPublisher, type IntegrationEventMessage } from '../../integration/publisher';

export class EmbeddedEventHubsPublisher implements EventPublisher {
  async publish(hub: string, events: IntegrationEventMessage[]): Promise<void> {
    const log = getLocalAzureRuntime().eventHubs;
    for (const [partitionKey, group] of byPartitionKey(events)) {
      await log.publish(
        hub,
        group.map((e) => ({ body: Buffer.from(JSON.stringify(e.body)), contentType: 'application/json', messageId: e.messageId, properties: e.properties })),
        { partitionKey },
      );
    }
  }
}
