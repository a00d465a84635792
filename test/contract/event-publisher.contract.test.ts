// The integration-event publisher port's contract: what consumers of the integration-events hub
// rely on — one stream's events (one partition key) on one partition, in the order published;
// the body as JSON; the event id as messageId and the properties carried; an event too large for
// a batch refused. Run against the adapter on the local Azure's Event Hubs, the @azure/event-hubs
// adapter against the local Azure's AMQP endpoint (read back over AMQP too) and, with
// EVENTHUBS_CONNECTION set (a connection string: an emulator or a namespace with a hub named
// `contract-events`), the @azure/event-hubs adapter there.
import { EventHubConsumerClient, earliestEventPosition, type Subscription } from '@azure/event-hubs';
import { EventHubsAmqp } from '@backbone/local-azure/amqp/event-hubs-amqp';
import { AmqpListener } from '@backbone/local-azure/amqp/listener';
import { ManualClock } from '@backbone/local-azure/clock';
import { HostLogger } from '@backbone/local-azure/host/logger';
import { EmbeddedEventHubs } from '@backbone/local-azure/eventhubs/event-log';
import { GroupCommit, openDatabase } from '@backbone/local-azure/sqlite';
import { AzureEventHubsPublisher } from '../../src/adapters/azure/event-hubs';
import { EmbeddedEventHubsPublisher } from '../../src/adapters/embedded/event-hubs';
import { throughWorkerChannel } from '../support/worker-channel';
import type { EventPublisher, IntegrationEventMessage } from '../../src/ports/event-publisher';

const HUB = 'contract-events';

interface Received {
  partition: string;
  body: unknown;
  messageId?: string;
  contentType?: string;
  properties: Record<string, unknown>;
}

interface PublisherHarness {
  publisher: EventPublisher;
  /** Every event on the hub now, by partition, in order. */
  read(): Promise<Received[]>;
  close(): Promise<void>;
}

interface Backend {
  name: string;
  create(): Promise<PublisherHarness>;
}

function embeddedBackend(overWorkerChannel: boolean): Backend {
  return {
    name: overWorkerChannel ? 'embedded adapter from a worker process' : 'embedded adapter on the local Azure',
    async create() {
      const db = openDatabase(':memory:');
      const commit = new GroupCommit(db);
      const hubs = new EmbeddedEventHubs([{ name: HUB, partitionCount: 4, messageRetentionInDays: 1, consumerGroups: [] }], db, commit, new ManualClock());
      return {
        publisher: new EmbeddedEventHubsPublisher(overWorkerChannel ? throughWorkerChannel({ eventHubs: hubs, serviceBus: {} as never, cosmos: {} as never, baseUrl: '' }).eventHubs : hubs),
        read: async () =>
          [0, 1, 2, 3].flatMap((p) =>
            hubs
              .read(HUB, p, -1, 10_000)
              .map((e) => ({ partition: String(p), body: JSON.parse(e.body.toString('utf8')) as unknown, messageId: e.messageId, contentType: e.contentType, properties: e.properties })),
          ),
        close: async () => {
          commit.close();
          db.close();
        },
      };
    },
  };
}

/** Every event on the hub, each partition read from the start up to what its properties say was last enqueued. */
async function readOverAmqp(consumer: EventHubConsumerClient): Promise<Received[]> {
  const partitions = await Promise.all(
    (await consumer.getPartitionIds()).map(async (partition) => {
      const properties = await consumer.getPartitionProperties(partition);
      const out: Received[] = [];
      if (properties.isEmpty) return out;
      let subscription: Subscription | undefined;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`partition ${partition}: not all events up to ${properties.lastEnqueuedSequenceNumber} arrived`)), 20_000);
        subscription = consumer.subscribe(
          partition,
          {
            processEvents: async (events) => {
              for (const e of events) out.push({ partition, body: e.body, messageId: e.messageId as string | undefined, contentType: e.contentType, properties: e.properties ?? {} });
              if (events.some((e) => e.sequenceNumber >= properties.lastEnqueuedSequenceNumber)) resolve();
            },
            processError: async (error) => reject(error),
          },
          { startPosition: earliestEventPosition, maxWaitTimeInSeconds: 1, maxBatchSize: 500 },
        );
      }).finally(() => clearTimeout(timer));
      await subscription?.close();
      return out;
    }),
  );
  return partitions.flat();
}

const localAmqp: Backend = {
  name: '@azure/event-hubs adapter on the local Azure over AMQP',
  async create() {
    const db = openDatabase(':memory:');
    const commit = new GroupCommit(db);
    const hubs = new EmbeddedEventHubs([{ name: HUB, partitionCount: 4, messageRetentionInDays: 1, consumerGroups: [] }], db, commit, new ManualClock());
    const logger = new HostLogger({ default: process.env.AMQP_LOGS ? 'debug' : 'none' });
    const listener = new AmqpListener({ logger });
    listener.serve(new EventHubsAmqp(hubs, listener, logger));
    const port = await listener.listen(0);
    const connection = `Endpoint=sb://localhost:${port};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;`;
    const publisher = new AzureEventHubsPublisher('CONTRACT_EVENTHUBS', { CONTRACT_EVENTHUBS: connection });
    const consumer = new EventHubConsumerClient('$Default', connection, HUB, { retryOptions: { maxRetries: 0, timeoutInMs: 10_000 } });
    return {
      publisher,
      read: () => readOverAmqp(consumer),
      async close() {
        await publisher.close();
        await consumer.close();
        await listener.close();
        commit.close();
        db.close();
      },
    };
  },
};

function azure(): Backend | undefined {
  const connection = process.env.EVENTHUBS_CONNECTION;
  if (!connection) {
    console.log('Event Hubs publisher contract against @azure/event-hubs skipped: set EVENTHUBS_CONNECTION to an emulator or namespace connection string (a hub named contract-events).');
    return undefined;
  }
  return {
    name: '@azure/event-hubs adapter',
    async create() {
      const env = { CONTRACT_EVENTHUBS: connection };
      const consumer = new EventHubConsumerClient('$Default', connection, HUB);
      return {
        publisher: new AzureEventHubsPublisher('CONTRACT_EVENTHUBS', env),
        async read() {
          const out: Received[] = [];
          for (const partition of await consumer.getPartitionIds()) {
            const receiver = consumer.subscribe(
              partition,
              {
                processEvents: async (events) => {
                  for (const e of events) out.push({ partition, body: e.body, messageId: e.messageId as string | undefined, contentType: e.contentType, properties: e.properties ?? {} });
                },
                processError: async () => undefined,
              },
              { startPosition: earliestEventPosition, maxWaitTimeInSeconds: 2 },
            );
            await new Promise((r) => setTimeout(r, 3_000));
            await receiver.close();
          }
          return out;
        },
        close: () => consumer.close(),
      };
    },
  };
}

const backends = [embeddedBackend(false), embeddedBackend(true), localAmqp, azure()].filter((b): b is Backend => b !== undefined);

const event = (stream: string, n: number, extra: Partial<IntegrationEventMessage> = {}): IntegrationEventMessage => ({
  body: { eventId: `${stream}:${n}`, eventType: 'OrderSubmitted', streamVersion: n },
  partitionKey: stream,
  messageId: `${stream}:${n}`,
  properties: { eventType: 'OrderSubmitted', streamId: stream, streamVersion: n },
  ...extra,
});

describe.each(backends.map((b) => [b.name, b] as const))('event publisher contract: %s', (_name, backend) => {
  let h: PublisherHarness;
  const run = `${process.pid}-${Date.now().toString(36)}`;
  beforeAll(async () => {
    h = await backend.create();
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  test("one stream's events land on one partition, in the order published; several streams spread", async () => {
    const streams = Array.from({ length: 12 }, (_, i) => `order-${run}-${i}`);
    // Interleaved, in two calls: order within each stream is what counts.
    await h.publisher.publish(
      HUB,
      streams.flatMap((s) => [event(s, 1), event(s, 2)]),
    );
    await h.publisher.publish(
      HUB,
      streams.map((s) => event(s, 3)),
    );
    const received = (await h.read()).filter((e) => streams.some((s) => (e.messageId ?? '').startsWith(`${s}:`)));
    for (const s of streams) {
      const mine = received.filter((e) => (e.messageId ?? '').startsWith(`${s}:`));
      expect(new Set(mine.map((e) => e.partition)).size).toBe(1);
      expect(mine.map((e) => e.messageId)).toEqual([`${s}:1`, `${s}:2`, `${s}:3`]);
    }
    expect(new Set(received.map((e) => e.partition)).size).toBeGreaterThan(1);
  }, 60_000);

  test('the body arrives as JSON, with messageId, content type and properties', async () => {
    const stream = `inventory-${run}`;
    await h.publisher.publish(HUB, [event(stream, 7)]);
    const [got] = (await h.read()).filter((e) => e.messageId === `${stream}:7`);
    expect(got).toMatchObject({ body: { eventId: `${stream}:7`, eventType: 'OrderSubmitted', streamVersion: 7 }, contentType: 'application/json' });
    expect(got!.properties).toMatchObject({ eventType: 'OrderSubmitted', streamId: stream, streamVersion: 7 });
  }, 60_000);

  test('an event larger than a batch (1 MB) is refused, naming it', async () => {
    const stream = `order-big-${run}`;
    await expect(h.publisher.publish(HUB, [event(stream, 1, { body: { blob: 'x'.repeat(1_100_000) } })])).rejects.toThrow(`Integration event ${stream}:1 is larger than an Event Hubs batch allows`);
  }, 60_000);
});
