// Turns the topology declaration into the broker's entity table: queues, topics and their
// subscriptions with resolved settings and compiled rules. Paths follow Service Bus:
// "queue", "topic/subscriptions/sub", and "<path>/$deadletterqueue" for dead-letter sub-queues.
//
// Entities can also be created, changed and deleted while the broker runs (Service Bus'
// administration API). Each such change is an EntityChange; the broker writes it to its log in
// SQLite, and on the next start the log is replayed over the declared topology, so what was
// made through the API survives a restart as the messages do.
import {
  parseTopology,
  receiverSettings,
  senderSettings,
  type QueueDefinition,
  type ReceiverSettings,
  type RuleDefinition,
  type SenderSettings,
  type SubscriptionDefinition,
  type TopicDefinition,
  type TopologyDefinition,
} from '@backbone/azure-model/topology';
import { BrokerError, type OutgoingMessage, type PropertyValue } from '@backbone/azure-model/service-bus';
import { compileCorrelationFilter, compileSqlAction, compileSqlFilter, type CompiledAction, type CompiledFilter, type FilterMessage } from './sql-filter';

/**
 * Properties Service Bus keeps for an entity that the embedded broker stores and reports but does
 * not act on (its quotas, batching and partitioning have no observable effect here).
 */
export interface EntityExtras {
  userMetadata?: string;
  maxSizeInMegabytes?: number;
  enableBatchedOperations?: boolean;
  enablePartitioning?: boolean;
  supportOrdering?: boolean;
  deadLetteringOnFilterEvaluationExceptions?: boolean;
}

/** A rule as the administration API describes it: TrueFilter and FalseFilter are SQL filters with a name of their own; an action annotates what the rule selects. */
export interface RuleSpec extends RuleDefinition {
  filterShorthand?: 'TrueFilter' | 'FalseFilter';
  action?: { sqlExpression: string };
}

export interface SubscriptionRule {
  name: string;
  filter: CompiledFilter;
  action?: CompiledAction;
  definition: RuleSpec;
  createdAt: number;
}

interface Timestamps {
  createdAt: number;
  updatedAt: number;
  /** Last send, receive or settlement (kept in memory: a restart forgets it). */
  accessedAt: number;
}

export interface QueueEntity extends Timestamps {
  kind: 'queue';
  path: string;
  receiver: ReceiverSettings;
  sender: SenderSettings;
  definition: QueueDefinition;
  extras: EntityExtras;
}

export interface SubscriptionEntity extends Timestamps {
  kind: 'subscription';
  path: string;
  topic: string;
  subscriptionName: string;
  receiver: ReceiverSettings;
  rules: SubscriptionRule[];
  definition: Omit<SubscriptionDefinition, 'rules'>;
  extras: EntityExtras;
}

export interface TopicEntity extends Timestamps {
  kind: 'topic';
  path: string;
  sender: SenderSettings;
  subscriptions: SubscriptionEntity[];
  definition: Omit<TopicDefinition, 'subscriptions'>;
  extras: EntityExtras;
}

export type ReceivingEntity = QueueEntity | SubscriptionEntity;
export type SendingEntity = QueueEntity | TopicEntity;
export type Entity = QueueEntity | TopicEntity | SubscriptionEntity;

/** One change made through the administration API; `create` refuses an existing entity, `update` a missing one. */
export type EntityChange =
  | { op: 'create' | 'update'; kind: 'queue'; definition: QueueDefinition; extras?: EntityExtras }
  | { op: 'create' | 'update'; kind: 'topic'; definition: Omit<TopicDefinition, 'subscriptions'>; extras?: EntityExtras }
  | { op: 'create' | 'update'; kind: 'subscription'; topic: string; definition: Omit<SubscriptionDefinition, 'rules'>; defaultRule?: RuleSpec; extras?: EntityExtras }
  | { op: 'create' | 'update'; kind: 'rule'; topic: string; subscription: string; definition: RuleSpec }
  | { op: 'delete'; kind: 'queue' | 'topic'; name: string }
  | { op: 'delete'; kind: 'subscription'; topic: string; name: string }
  | { op: 'delete'; kind: 'rule'; topic: string; subscription: string; name: string };

export const DLQ_SUFFIX = '/$deadletterqueue';
export const DEFAULT_RULE_NAME = '$Default';

export function subscriptionPath(topic: string, subscription: string): string {
  return `${topic}/subscriptions/${subscription}`;
}

function compileRule(rule: RuleSpec): Pick<SubscriptionRule, 'filter' | 'action'> {
  const filter = rule.filterType === 'SqlFilter' ? compileSqlFilter(rule.sqlFilter!.sqlExpression) : compileCorrelationFilter(rule.correlationFilter!);
  return rule.action ? { filter, action: compileSqlAction(rule.action.sqlExpression) } : { filter };
}

/** The system properties an action may set, as message headers. */
const HEADERS: [string, keyof OutgoingMessage][] = [
  ['MessageId', 'messageId'],
  ['CorrelationId', 'correlationId'],
  ['To', 'to'],
  ['ReplyTo', 'replyTo'],
  ['Label', 'subject'],
  ['SessionId', 'sessionId'],
  ['ReplyToSessionId', 'replyToSessionId'],
  ['ContentType', 'contentType'],
];

/**
 * What a message sent to the topic leaves in a subscription: one copy when any rule without an
 * action selects it (however many do), and one more for each selecting rule with an action — that
 * copy annotated by the action and carrying the rule's name in RuleName, as Service Bus does.
 */
export function subscriptionCopies<M extends OutgoingMessage>(sub: SubscriptionEntity, m: M, view: FilterMessage): M[] {
  const matched = sub.rules.filter((r) => r.filter.matches(view));
  const copies: M[] = matched.some((r) => !r.action) ? [m] : [];
  for (const rule of matched) {
    if (!rule.action) continue;
    const annotated = rule.action.apply(view);
    const copy: M = { ...m, applicationProperties: { ...(annotated.application as Record<string, PropertyValue>), RuleName: rule.name } };
    for (const [system, header] of HEADERS) (copy as Record<string, unknown>)[header] = annotated.system[system] ?? undefined;
    if (!copy.messageId) copy.messageId = m.messageId;
    copies.push(copy);
  }
  return copies;
}

const TRUE_RULE: RuleSpec = { name: DEFAULT_RULE_NAME, filterType: 'SqlFilter', sqlFilter: { sqlExpression: '1=1' }, filterShorthand: 'TrueFilter' };

export class EntityTable {
  readonly #byPath = new Map<string, Entity>();
  readonly queues: QueueEntity[] = [];
  readonly topics: TopicEntity[] = [];
  #sku: 'Standard' | 'Premium';
  readonly #declaredAt = Date.now();

  constructor(topology: TopologyDefinition) {
    this.#sku = topology.serviceBus.sku;
    this.add(topology);
  }

  get sku(): 'Standard' | 'Premium' {
    return this.#sku;
  }

  /**
   * Declares more entities (an app with no topology gets the ones its bindings name). A name
   * already declared keeps its declaration.
   */
  add(topology: TopologyDefinition): void {
    const at = this.#declaredAt;
    for (const q of topology.serviceBus.queues) {
      if (this.#byPath.has(q.name.toLowerCase())) continue;
      this.#addQueue(q, {}, at);
    }
    for (const t of topology.serviceBus.topics) {
      const existing = this.#byPath.get(t.name.toLowerCase());
      if (existing && existing.kind !== 'topic') continue;
      const { subscriptions, ...definition } = t;
      const topic = existing ?? this.#addTopic(definition, {}, at);
      for (const s of subscriptions) {
        if (this.#byPath.has(subscriptionPath(t.name, s.name).toLowerCase())) continue;
        const { rules, ...subscription } = s;
        try {
          this.#addSubscription(topic, subscription, {}, rules?.length ? rules : [TRUE_RULE], at);
        } catch (error) {
          throw new Error(`topic ${t.name} subscription ${s.name}: ${(error as Error).message}`, { cause: error });
        }
      }
    }
  }

  #addQueue(definition: QueueDefinition, extras: EntityExtras, at: number): QueueEntity {
    const entity: QueueEntity = {
      kind: 'queue',
      path: definition.name,
      receiver: receiverSettings(definition),
      sender: senderSettings(definition, this.#sku),
      definition,
      extras,
      createdAt: at,
      updatedAt: at,
      accessedAt: at,
    };
    this.queues.push(entity);
    this.#byPath.set(definition.name.toLowerCase(), entity);
    return entity;
  }

  #addTopic(definition: Omit<TopicDefinition, 'subscriptions'>, extras: EntityExtras, at: number): TopicEntity {
    const topic: TopicEntity = {
      kind: 'topic',
      path: definition.name,
      sender: senderSettings({ ...definition, subscriptions: [] }, this.#sku),
      subscriptions: [],
      definition,
      extras,
      createdAt: at,
      updatedAt: at,
      accessedAt: at,
    };
    this.topics.push(topic);
    this.#byPath.set(definition.name.toLowerCase(), topic);
    return topic;
  }

  #addSubscription(topic: TopicEntity, definition: Omit<SubscriptionDefinition, 'rules'>, extras: EntityExtras, rules: RuleSpec[], at: number): SubscriptionEntity {
    const sub: SubscriptionEntity = {
      kind: 'subscription',
      path: subscriptionPath(topic.path, definition.name),
      topic: topic.path,
      subscriptionName: definition.name,
      receiver: receiverSettings(definition, topic.definition.defaultMessageTimeToLive),
      rules: rules.map((r) => {
        try {
          return { name: r.name, ...compileRule(r), definition: r, createdAt: at };
        } catch (error) {
          throw new Error(`rule ${r.name}: ${(error as Error).message}`, { cause: error });
        }
      }),
      definition,
      extras,
      createdAt: at,
      updatedAt: at,
      accessedAt: at,
    };
    topic.subscriptions.push(sub);
    this.#byPath.set(sub.path.toLowerCase(), sub);
    return sub;
  }

  /**
   * Applies a change made through the administration API and returns the paths of the entities
   * it removed (whose messages go with them). Checks everything before it changes anything, so a
   * refused change leaves the table as it was. On `replay` (the log read back at start) creates
   * and updates are upserts and deletes of what is gone are ignored: the declared topology may
   * have changed since the change was made.
   */
  apply(change: EntityChange, at: number, replay = false): string[] {
    if (change.op === 'delete') return this.#delete(change, replay);
    switch (change.kind) {
      case 'queue': {
        validate({ queues: [change.definition], topics: [] });
        const existing = this.#byPath.get(change.definition.name.toLowerCase());
        const op = replay ? (existing ? 'update' : 'create') : change.op;
        if (op === 'create') {
          if (existing) throw alreadyExists(change.definition.name);
          this.#addQueue(change.definition, change.extras ?? {}, at);
          return [];
        }
        if (existing?.kind !== 'queue') throw notFound(change.definition.name);
        if (!replay) checkUnchanged(existing.path, 'RequiresSession', existing.receiver.requiresSession, change.definition.requiresSession ?? false);
        Object.assign(existing, {
          definition: { ...change.definition, name: existing.path },
          extras: change.extras ?? {},
          receiver: receiverSettings(change.definition),
          sender: senderSettings(change.definition, this.#sku),
          updatedAt: at,
        });
        return [];
      }
      case 'topic': {
        validate({ queues: [], topics: [{ ...change.definition, subscriptions: [] }] });
        const existing = this.#byPath.get(change.definition.name.toLowerCase());
        const op = replay ? (existing ? 'update' : 'create') : change.op;
        if (op === 'create') {
          if (existing) throw alreadyExists(change.definition.name);
          this.#addTopic(change.definition, change.extras ?? {}, at);
          return [];
        }
        if (existing?.kind !== 'topic') throw notFound(change.definition.name);
        const definition = { ...change.definition, name: existing.path };
        Object.assign(existing, { definition, extras: change.extras ?? {}, sender: senderSettings({ ...definition, subscriptions: [] }, this.#sku), updatedAt: at });
        // A subscription's time to live is capped by its topic's.
        for (const sub of existing.subscriptions) sub.receiver = receiverSettings(sub.definition, definition.defaultMessageTimeToLive);
        return [];
      }
      case 'subscription': {
        const topic = this.#topic(change.topic, replay);
        if (!topic) return [];
        const rules = change.defaultRule ? [{ ...change.defaultRule, name: DEFAULT_RULE_NAME }] : [TRUE_RULE];
        validate({ queues: [], topics: [{ name: topic.path, subscriptions: [{ ...change.definition, rules }] }] });
        const existing = this.#byPath.get(subscriptionPath(topic.path, change.definition.name).toLowerCase());
        const op = replay ? (existing ? 'update' : 'create') : change.op;
        if (op === 'create') {
          if (existing) throw alreadyExists(subscriptionPath(topic.path, change.definition.name));
          this.#addSubscription(topic, change.definition, change.extras ?? {}, rules, at);
          return [];
        }
        if (existing?.kind !== 'subscription') throw notFound(subscriptionPath(topic.path, change.definition.name));
        if (!replay) checkUnchanged(existing.path, 'RequiresSession', existing.receiver.requiresSession, change.definition.requiresSession ?? false);
        Object.assign(existing, {
          definition: { ...change.definition, name: existing.subscriptionName },
          extras: change.extras ?? {},
          receiver: receiverSettings(change.definition, topic.definition.defaultMessageTimeToLive),
          updatedAt: at,
        });
        return [];
      }
      case 'rule': {
        const sub = this.#subscription(change.topic, change.subscription, replay);
        if (!sub) return [];
        validate({ queues: [], topics: [{ name: sub.topic, subscriptions: [{ name: sub.subscriptionName, rules: [change.definition] }] }] });
        const at_ = sub.rules.findIndex((r) => r.name.toLowerCase() === change.definition.name.toLowerCase());
        const op = replay ? (at_ >= 0 ? 'update' : 'create') : change.op;
        if (op === 'create' && at_ >= 0) throw alreadyExists(`${sub.path}/rules/${change.definition.name}`);
        if (op === 'update' && at_ < 0) throw notFound(`${sub.path}/rules/${change.definition.name}`);
        const rule: SubscriptionRule = { name: change.definition.name, ...compileRuleOrRefuse(change.definition), definition: change.definition, createdAt: at_ >= 0 ? sub.rules[at_]!.createdAt : at };
        if (at_ >= 0) sub.rules[at_] = rule;
        else sub.rules.push(rule);
        sub.updatedAt = at;
        return [];
      }
    }
  }

  #delete(change: Extract<EntityChange, { op: 'delete' }>, replay: boolean): string[] {
    if (change.kind === 'rule') {
      const sub = this.#subscription(change.topic, change.subscription, replay);
      const at = sub ? sub.rules.findIndex((r) => r.name.toLowerCase() === change.name.toLowerCase()) : -1;
      if (sub && at >= 0) sub.rules.splice(at, 1);
      else if (!replay) throw notFound(`${change.topic}/subscriptions/${change.subscription}/rules/${change.name}`);
      return [];
    }
    const path = change.kind === 'subscription' ? subscriptionPath(change.topic, change.name) : change.name;
    const entity = this.#byPath.get(path.toLowerCase());
    if (!entity || (change.kind !== 'subscription' && entity.kind === 'subscription')) {
      if (replay) return [];
      throw notFound(path);
    }
    const removed: Entity[] = [entity];
    if (entity.kind === 'queue') this.queues.splice(this.queues.indexOf(entity), 1);
    if (entity.kind === 'topic') {
      this.topics.splice(this.topics.indexOf(entity), 1);
      removed.push(...entity.subscriptions);
    }
    if (entity.kind === 'subscription') {
      const topic = this.#byPath.get(entity.topic.toLowerCase()) as TopicEntity;
      topic.subscriptions.splice(topic.subscriptions.indexOf(entity), 1);
    }
    for (const e of removed) this.#byPath.delete(e.path.toLowerCase());
    return removed.map((e) => e.path);
  }

  #topic(name: string, replay: boolean): TopicEntity | undefined {
    const topic = this.#byPath.get(name.toLowerCase());
    if (topic?.kind === 'topic') return topic;
    if (replay) return undefined;
    throw notFound(name);
  }

  #subscription(topic: string, name: string, replay: boolean): SubscriptionEntity | undefined {
    const sub = this.#byPath.get(subscriptionPath(topic, name).toLowerCase());
    if (sub?.kind === 'subscription') return sub;
    if (replay) return undefined;
    throw notFound(subscriptionPath(topic, name));
  }

  /** Notes a send, receive or settlement on an entity (its AccessedAt). */
  touch(path: string, at: number): void {
    const key = path.toLowerCase();
    const entity = this.#byPath.get(key.endsWith(DLQ_SUFFIX) ? key.slice(0, -DLQ_SUFFIX.length) : key);
    if (entity) entity.accessedAt = at;
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

const notFound = (path: string) => new BrokerError('MessagingEntityNotFound', `The messaging entity '${path}' could not be found.`);
const alreadyExists = (path: string) => new BrokerError('MessagingEntityAlreadyExists', `The messaging entity '${path}' already exists.`);

function checkUnchanged(path: string, property: string, current: boolean, requested: boolean): void {
  if (current !== requested) throw new BrokerError('InvalidOperation', `The value for the ${property} property of an existing entity '${path}' cannot be changed.`);
}

function compileRuleOrRefuse(rule: RuleSpec): Pick<SubscriptionRule, 'filter' | 'action'> {
  try {
    return compileRule(rule);
  } catch (error) {
    throw new BrokerError('InvalidOperation', `rule ${rule.name}: ${(error as Error).message}`);
  }
}

/**
 * Holds a change to the rules a topology file must follow (names, duration bounds, filters): the
 * topology's own validator reads it, as JSON is YAML. A rule's filter is compiled here too, so a
 * filter the broker cannot evaluate is refused with the change rather than at the first send.
 */
function validate(serviceBus: { queues: QueueDefinition[]; topics: TopicDefinition[] }): void {
  const strip = (r: RuleSpec): RuleDefinition => {
    const { filterShorthand: _, action: __, ...rule } = r;
    return rule;
  };
  const doc = {
    serviceBus: { ...serviceBus, topics: serviceBus.topics.map((t) => ({ ...t, subscriptions: t.subscriptions.map((s) => ({ ...s, ...(s.rules ? { rules: s.rules.map(strip) } : {}) })) })) },
  };
  try {
    parseTopology(JSON.stringify(doc), 'the request');
    for (const t of serviceBus.topics) for (const s of t.subscriptions) for (const r of s.rules ?? []) compileRule(r);
  } catch (error) {
    throw new BrokerError('InvalidOperation', (error as Error).message);
  }
}
