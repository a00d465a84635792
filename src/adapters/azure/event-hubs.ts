// The publisher on @azure/event-hubs: identity-based (<Connection>__fullyQualifiedNamespace, with
// __credential/__clientId for a user-assigned identity) or a connection string (emulator). One
// producer per hub; each partition key's events go in batches created with that key, so the
// service hashes them to one partition.
import { EventHubProducerClient, type EventData } from '@azure/event-hubs';
import { byPartitionKey, type EventPublisher, type IntegrationEventMessage } from '../../ports/event-publisher';
import { credentialFor } from './credentials';

export class AzureEventHubsPublisher implements EventPublisher {
  readonly #producers = new Map<string, EventHubProducerClient>();

  constructor(
    private readonly connection: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  #producer(hub: string): EventHubProducerClient {
    let p = this.#producers.get(hub);
    if (p) return p;
    const namespace = this.env[`${this.connection}__fullyQualifiedNamespace`];
    const connectionString = this.env[this.connection];
    if (namespace) p = new EventHubProducerClient(namespace, hub, credentialFor(this.connection, this.env));
    else if (connectionString?.includes('Endpoint=')) p = new EventHubProducerClient(connectionString, hub);
    else throw new Error(`Set ${this.connection}__fullyQualifiedNamespace (Azure, managed identity) or ${this.connection} to an emulator connection string.`);
    this.#producers.set(hub, p);
    return p;
  }

  async publish(hub: string, events: IntegrationEventMessage[]): Promise<void> {
    const producer = this.#producer(hub);
    for (const [partitionKey, group] of byPartitionKey(events)) {
      let batch = await producer.createBatch({ partitionKey });
      for (const e of group) {
        const data: EventData = { body: e.body, contentType: 'application/json', messageId: e.messageId, properties: e.properties };
        if (batch.tryAdd(data)) continue;
        if (batch.count === 0) throw new Error(`Integration event ${e.messageId} is larger than an Event Hubs batch allows`);
        await producer.sendBatch(batch);
        batch = await producer.createBatch({ partitionKey });
        if (!batch.tryAdd(data)) throw new Error(`Integration event ${e.messageId} is larger than an Event Hubs batch allows`);
      }
      if (batch.count > 0) await producer.sendBatch(batch);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#producers.values()].map((p) => p.close()));
    this.#producers.clear();
  }
}
