// Turns the topology declaration into the broker's entity table: queues, topics and their
// subscriptions with resolved settings and compiled rules. Paths follow Service Bus:
// "queue", "topic/subscriptions/sub", and "<path>/$deadletterqueue" for dead-letter sub-queues.
import { receiverSettings, senderSettings, type ReceiverSettings, type SenderSettings, type TopologyDefinition } from '@backbone/azure-model/topology';
import { BrokerError } from '@backbone/azure-model/service-bus';
import { compileCorrelationFilter, compileSqlFilter, type CompiledFilter } from './sql-filter';

export interface QueueEntity {
  kind: 'queue';
  path: string;
  receiver: ReceiverSettings;
  sender: SenderSettings;
}

export interface SubscriptionEntity {
  kind: 'subscription';
  path: string;
  topic: string;
  subscriptionName: string;
  receiver: ReceiverSettings;
  rules: { name: string; filter: CompiledFilter }[];
}

export interface TopicEntity {
  kind: 'topic';
  path: string;
  sender: SenderSettings;
  subscriptions: SubscriptionEntity[];
}

export type ReceivingEntity = QueueEntity | SubscriptionEntity;
export type SendingEntity = QueueEntity | TopicEntity;
export type Entity = QueueEntity | TopicEntity | SubscriptionEntity;

export const DLQ_SUFFIX = '/$deadletterqueue';

export function subscriptionPath(topic: string, subscription: string): string {
  return `${topic}/subscriptions/${subscription}`;
}

export class EntityTable {
  readonly #byPath = new Map<string, Entity>();
  readonly queues: QueueEntity[] = [];
  readonly topics: TopicEntity[] = [];

  constructor(topology: TopologyDefinition) {
    this.add(topology);
  }

  /**
   * Declares more entities (an app with no topology gets the ones its bindings name). A name
   * already declared keeps its declaration.
   */
  add(topology: TopologyDefinition): void {
    const sku = topology.serviceBus.sku;
    for (const q of topology.serviceBus.queues) {
      if (this.#byPath.has(q.name.toLowerCase())) continue;
      const entity: QueueEntity = {
        kind: 'queue',
        path: q.name,
        receiver: receiverSettings(q),
        sender: senderSettings(q, sku),
      };
      this.queues.push(entity);
      this.#byPath.set(q.name.toLowerCase(), entity);
    }
    for (const t of topology.serviceBus.topics) {
      const existing = this.#byPath.get(t.name.toLowerCase());
      if (existing && existing.kind !== 'topic') continue;
      const topic: TopicEntity = existing ?? { kind: 'topic', path: t.name, sender: senderSettings(t, sku), subscriptions: [] };
      for (const s of t.subscriptions) {
        if (this.#byPath.has(subscriptionPath(t.name, s.name).toLowerCase())) continue;
        const rules = (s.rules?.length ? s.rules : [{ name: '$Default', filterType: 'SqlFilter' as const, sqlFilter: { sqlExpression: '1=1' } }]).map((r) => {
          try {
            return {
              name: r.name,
              filter: r.filterType === 'SqlFilter' ? compileSqlFilter(r.sqlFilter!.sqlExpression) : compileCorrelationFilter(r.correlationFilter!),
            };
          } catch (error) {
            throw new Error(`topic ${t.name} subscription ${s.name} rule ${r.name}: ${(error as Error).message}`, { cause: error });
          }
        });
        const sub: SubscriptionEntity = {
          kind: 'subscription',
          path: subscriptionPath(t.name, s.name),
          topic: t.name,
          subscriptionName: s.name,
          receiver: receiverSettings(s, t.defaultMessageTimeToLive),
          rules,
        };
        topic.subscriptions.push(sub);
        this.#byPath.set(sub.path.toLowerCase(), sub);
      }
      if (!existing) {
        this.topics.push(topic);
        this.#byPath.set(t.name.toLowerCase(), topic);
      }
    }
  }

  /** Resolves a path; `dlq` tells whether it named the dead-letter sub-queue. */
  resolve(path: string): { entity: Entity; dlq: boolean } {
    let key = path.toLowerCase();
    const dlq = key.endsWith(DLQ_SUFFIX);
    if (dlq) key = key.slice(0, -DLQ_SUFFIX.length);
    const entity = this.#byPath.get(key);
    if (!entity) {
      throw new BrokerError('MessagingEntityNotFound', `The messaging entity '${path}' could not be found.`);
    }
    if (dlq && entity.kind === 'topic') {
      throw new BrokerError('MessagingEntityNotFound', `A topic has no dead-letter queue: '${path}'.`);
    }
    return { entity, dlq };
  }

  receiving(path: string): { entity: ReceivingEntity; dlq: boolean } {
    const { entity, dlq } = this.resolve(path);
    if (entity.kind === 'topic') {
      throw new BrokerError('InvalidOperation', `Cannot receive from topic '${path}'; receive from one of its subscriptions.`);
    }
    return { entity, dlq };
  }

  sending(path: string): SendingEntity {
    const { entity, dlq } = this.resolve(path);
    if (dlq || entity.kind === 'subscription') {
      throw new BrokerError('InvalidOperation', `Cannot send to '${path}'; send to a queue or a topic.`);
    }
    return entity;
  }

  get(path: string): Entity | undefined {
    return this.#byPath.get(path.toLowerCase());
  }

  receivers(): ReceivingEntity[] {
    return [...this.queues, ...this.topics.flatMap((t) => t.subscriptions)];
  }
}
