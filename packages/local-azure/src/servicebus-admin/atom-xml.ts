// Service Bus' administration API speaks ATOM: every entity is an <entry> whose <content> holds a
// QueueDescription, TopicDescription, SubscriptionDescription or RuleDescription in the
// .../2010/10/servicebus/connect namespace, lists are <feed>s of entries, errors are
// <Error><Code/><Detail/></Error>. This file turns entities into that XML and request bodies back
// into the broker's entity definitions. Element order follows the service's data contracts
// (DataContractSerializer reads members in order; the SDKs read them by name).
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { BrokerError, type EntityRuntimeProperties } from '@backbone/azure-model/service-bus';
import { SERVICE_BUS_DEFAULTS, type CorrelationFilterDefinition, type QueueDefinition, type SubscriptionDefinition, type TopicDefinition } from '@backbone/azure-model/topology';
import { parseIsoDuration } from '@backbone/azure-model/durations';
import type { EntityExtras, QueueEntity, RuleSpec, SubscriptionEntity, SubscriptionRule, TopicEntity } from '../broker/entities';

const ATOM = 'http://www.w3.org/2005/Atom';
const CONNECT = 'http://schemas.microsoft.com/netservices/2010/10/servicebus/connect';
const INSTANCE = 'http://www.w3.org/2001/XMLSchema-instance';
const COUNTS = 'http://schemas.microsoft.com/netservices/2011/06/servicebus';
const SCHEMA = 'http://www.w3.org/2001/XMLSchema';
export const API_VERSION = '2021-05';

/** TimeSpan.MaxValue, the service's "never" for time to live and auto-delete. */
const TIMESPAN_MAX = 'P10675199DT2H48M5.4775807S';
const TIMESPAN_MAX_MS = 922_337_203_685_477;

export function formatDuration(ms: number): string {
  if (ms >= TIMESPAN_MAX_MS) return TIMESPAN_MAX;
  const days = Math.floor(ms / 86_400_000);
  let rest = ms - days * 86_400_000;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = rest / 1000;
  const time = `${hours ? `${hours}H` : ''}${minutes ? `${minutes}M` : ''}${seconds ? `${seconds}S` : ''}`;
  if (!days && !time) return 'PT0S';
  return `P${days ? `${days}D` : ''}${time ? `T${time}` : ''}`;
}

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@', textNodeName: '#text', suppressBooleanAttributes: false });
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  textNodeName: '#text',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  isArray: (name) => name === 'KeyValueOfstringanyType' || name === 'AuthorizationRule',
});

export function xml(doc: Record<string, unknown>): string {
  return `<?xml version="1.0" encoding="utf-8"?>${builder.build(doc) as string}`;
}

export function errorBody(status: number, detail: string): string {
  return xml({ Error: { Code: status, Detail: detail } });
}

// ------------------------------------------------------------------ responses

export interface EntryContext {
  /** http://host:port, what ids and links start with. */
  base: string;
  /** The namespace's name (the entry's author). */
  namespace: string;
}

type Element = Record<string, unknown>;

const iso = (ms: number) => new Date(ms).toISOString();

function entry(ctx: EntryContext, path: string, title: string, times: { createdAt: number; updatedAt: number }, root: string, description: Element): Element {
  const url = `${ctx.base}/${path}?api-version=${API_VERSION}`;
  return {
    id: url,
    title: { '@type': 'text', '#text': title },
    published: iso(times.createdAt),
    updated: iso(times.updatedAt),
    author: { name: ctx.namespace },
    link: { '@rel': 'self', '@href': url },
    content: { '@type': 'application/xml', [root]: { '@xmlns': CONNECT, '@xmlns:i': INSTANCE, ...description } },
  };
}

export function entryDocument(e: Element): Record<string, unknown> {
  return { entry: { '@xmlns': ATOM, ...e } };
}

/** A feed page; `next` is the URL of the page after it, when there is one. */
export function feedDocument(ctx: EntryContext, path: string, title: string, entries: Element[], next: string | undefined): Record<string, unknown> {
  const self = `${ctx.base}/${path}?api-version=${API_VERSION}`;
  return {
    feed: {
      '@xmlns': ATOM,
      title: { '@type': 'text', '#text': title },
      id: self,
      updated: new Date().toISOString(),
      // Always a list: clients find the next page among the links.
      link: [{ '@rel': 'self', '@href': self }, ...(next ? [{ '@rel': 'next', '@href': next }] : [])],
      ...(entries.length ? { entry: entries } : {}),
    },
  };
}

function countDetails(c: { active?: number; dead?: number; scheduled?: number }): Element {
  return {
    '@xmlns:d2p1': COUNTS,
    'd2p1:ActiveMessageCount': c.active ?? 0,
    'd2p1:DeadLetterMessageCount': c.dead ?? 0,
    'd2p1:ScheduledMessageCount': c.scheduled ?? 0,
    'd2p1:TransferMessageCount': 0,
    'd2p1:TransferDeadLetterMessageCount': 0,
  };
}

const times = (e: { createdAt: number; updatedAt: number; accessedAt: number }) => ({ CreatedAt: iso(e.createdAt), UpdatedAt: iso(e.updatedAt), AccessedAt: iso(e.accessedAt) });
const maxSizeMb = (x: EntityExtras) => x.maxSizeInMegabytes ?? 1024;
const userMetadata = (x: EntityExtras) => (x.userMetadata !== undefined ? { UserMetadata: x.userMetadata } : {});

export function queueEntry(ctx: EntryContext, q: QueueEntity, rt: EntityRuntimeProperties): Element {
  const r = rt.kind === 'queue' ? rt : undefined;
  return entry(ctx, q.path, q.path, q, 'QueueDescription', {
    LockDuration: formatDuration(q.receiver.lockDurationMs),
    MaxSizeInMegabytes: maxSizeMb(q.extras),
    RequiresDuplicateDetection: q.sender.duplicateDetection,
    RequiresSession: q.receiver.requiresSession,
    DefaultMessageTimeToLive: formatDuration(q.receiver.defaultTtlMs),
    DeadLetteringOnMessageExpiration: q.receiver.deadLetterOnExpiration,
    DuplicateDetectionHistoryTimeWindow: formatDuration(q.sender.duplicateWindowMs),
    MaxDeliveryCount: q.receiver.maxDeliveryCount,
    EnableBatchedOperations: q.extras.enableBatchedOperations ?? true,
    SizeInBytes: r?.sizeInBytes ?? 0,
    MessageCount: r?.totalMessageCount ?? 0,
    IsAnonymousAccessible: false,
    Status: 'Active',
    ...userMetadata(q.extras),
    ...times(q),
    SupportOrdering: true,
    CountDetails: countDetails({ active: r?.activeMessageCount, dead: r?.deadLetterMessageCount, scheduled: r?.scheduledMessageCount }),
    AutoDeleteOnIdle: TIMESPAN_MAX,
    EnablePartitioning: q.extras.enablePartitioning ?? false,
    EntityAvailabilityStatus: 'Available',
    EnableExpress: false,
    MaxMessageSizeInKilobytes: q.sender.maxMessageSizeBytes / 1024,
  });
}

export function topicEntry(ctx: EntryContext, t: TopicEntity, rt: EntityRuntimeProperties): Element {
  const r = rt.kind === 'topic' ? rt : undefined;
  return entry(ctx, t.path, t.path, t, 'TopicDescription', {
    DefaultMessageTimeToLive: formatDuration(t.sender.defaultTtlMs),
    MaxSizeInMegabytes: maxSizeMb(t.extras),
    RequiresDuplicateDetection: t.sender.duplicateDetection,
    DuplicateDetectionHistoryTimeWindow: formatDuration(t.sender.duplicateWindowMs),
    EnableBatchedOperations: t.extras.enableBatchedOperations ?? true,
    SizeInBytes: r?.sizeInBytes ?? 0,
    FilteringMessagesBeforePublishing: false,
    IsAnonymousAccessible: false,
    Status: 'Active',
    ...userMetadata(t.extras),
    ...times(t),
    SupportOrdering: t.extras.supportOrdering ?? true,
    CountDetails: countDetails({ scheduled: r?.scheduledMessageCount }),
    AutoDeleteOnIdle: TIMESPAN_MAX,
    EnablePartitioning: t.extras.enablePartitioning ?? false,
    SubscriptionCount: t.subscriptions.length,
    EnableSubscriptionPartitioning: false,
    EntityAvailabilityStatus: 'Available',
    EnableExpress: false,
    MaxMessageSizeInKilobytes: t.sender.maxMessageSizeBytes / 1024,
  });
}

export function subscriptionEntry(ctx: EntryContext, s: SubscriptionEntity, rt: EntityRuntimeProperties): Element {
  const r = rt.kind === 'subscription' ? rt : undefined;
  const ownTtl = s.definition.defaultMessageTimeToLive ? parseIsoDuration(s.definition.defaultMessageTimeToLive) : SERVICE_BUS_DEFAULTS.defaultTtlMs;
  return entry(ctx, `${s.topic}/Subscriptions/${s.subscriptionName}`, s.subscriptionName, s, 'SubscriptionDescription', {
    LockDuration: formatDuration(s.receiver.lockDurationMs),
    RequiresSession: s.receiver.requiresSession,
    DefaultMessageTimeToLive: formatDuration(ownTtl),
    DeadLetteringOnMessageExpiration: s.receiver.deadLetterOnExpiration,
    DeadLetteringOnFilterEvaluationExceptions: s.extras.deadLetteringOnFilterEvaluationExceptions ?? true,
    MessageCount: r?.totalMessageCount ?? 0,
    MaxDeliveryCount: s.receiver.maxDeliveryCount,
    EnableBatchedOperations: s.extras.enableBatchedOperations ?? true,
    Status: 'Active',
    ...times(s),
    ...userMetadata(s.extras),
    CountDetails: countDetails({ active: r?.activeMessageCount, dead: r?.deadLetterMessageCount }),
    AutoDeleteOnIdle: TIMESPAN_MAX,
    EntityAvailabilityStatus: 'Available',
  });
}

function keyValues(props: Record<string, string | number | boolean>): Element {
  return {
    KeyValueOfstringanyType: Object.entries(props).map(([key, value]) => ({
      Key: key,
      Value: {
        '@i:type': `d6p1:${typeof value === 'string' ? 'string' : typeof value === 'boolean' ? 'boolean' : Number.isInteger(value) ? 'int' : 'double'}`,
        '@xmlns:d6p1': SCHEMA,
        '#text': String(value),
      },
    })),
  };
}

function filterElement(rule: RuleSpec): Element {
  if (rule.filterType === 'SqlFilter') {
    return { '@i:type': rule.filterShorthand ?? 'SqlFilter', SqlExpression: rule.sqlFilter!.sqlExpression, CompatibilityLevel: 20 };
  }
  const c = rule.correlationFilter!;
  const fields: [string, string | undefined][] = [
    ['CorrelationId', c.correlationId],
    ['MessageId', c.messageId],
    ['To', c.to],
    ['ReplyTo', c.replyTo],
    ['Label', c.label],
    ['SessionId', c.sessionId],
    ['ReplyToSessionId', c.replyToSessionId],
    ['ContentType', c.contentType],
  ];
  return {
    '@i:type': 'CorrelationFilter',
    ...Object.fromEntries(fields.filter(([, v]) => v !== undefined)),
    Properties: keyValues(c.properties ?? {}),
  };
}

export function ruleEntry(ctx: EntryContext, s: SubscriptionEntity, rule: SubscriptionRule): Element {
  return entry(ctx, `${s.topic}/Subscriptions/${s.subscriptionName}/Rules/${rule.name}`, rule.name, { createdAt: rule.createdAt, updatedAt: rule.createdAt }, 'RuleDescription', {
    Filter: filterElement(rule.definition),
    Action: rule.definition.action ? { '@i:type': 'SqlRuleAction', SqlExpression: rule.definition.action.sqlExpression, CompatibilityLevel: 20 } : { '@i:type': 'EmptyRuleAction' },
    CreatedAt: iso(rule.createdAt),
    Name: rule.name,
  });
}

export function namespaceEntry(ctx: EntryContext, sku: string, createdAt: number): Element {
  const url = `${ctx.base}/$namespaceinfo?api-version=${API_VERSION}`;
  return {
    id: url,
    title: { '@type': 'text', '#text': ctx.namespace },
    updated: iso(createdAt),
    author: { name: ctx.namespace },
    link: { '@rel': 'self', '@href': url },
    content: {
      '@type': 'application/xml',
      NamespaceInfo: {
        '@xmlns': CONNECT,
        '@xmlns:i': INSTANCE,
        CreatedTime: iso(createdAt),
        MessagingSKU: sku,
        ...(sku === 'Premium' ? { MessagingUnits: 1 } : {}),
        ModifiedTime: iso(createdAt),
        Name: ctx.namespace,
        NamespaceType: 'Messaging',
      },
    },
  };
}

// ------------------------------------------------------------------ requests

const bad = (message: string) => new BrokerError('InvalidOperation', message);

/** The description inside a request's <entry><content>, by its element name. */
export function parseEntryBody(body: string): { root: string; description: Element } {
  if (!body.trim()) throw bad('The request body is empty; an ATOM entry was expected.');
  const valid = XMLValidator.validate(body);
  if (valid !== true) throw bad(`The request body is not well-formed XML: ${valid.err.msg} (line ${valid.err.line}).`);
  const doc = parser.parse(body) as Element;
  const content = (doc.entry as Element | undefined)?.content as Element | undefined;
  const root = content ? Object.keys(content).find((k) => !k.startsWith('@') && k !== '#text') : undefined;
  if (!content || !root) throw bad('The request body is not an ATOM entry with a description in its content.');
  const description = content[root];
  return { root, description: typeof description === 'object' && description !== null ? (description as Element) : {} };
}

function text(d: Element, name: string): string | undefined {
  const v = d[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'object') {
    const t = (v as Element)['#text'];
    return t === undefined ? '' : String(t as string);
  }
  return String(v as string);
}

function bool(d: Element, name: string): boolean | undefined {
  const v = text(d, name);
  if (v === undefined || v === '') return undefined;
  if (v !== 'true' && v !== 'false') throw bad(`${name} must be true or false, not '${v}'.`);
  return v === 'true';
}

function int(d: Element, name: string): number | undefined {
  const v = text(d, name);
  if (v === undefined || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw bad(`${name} must be an integer, not '${v}'.`);
  return Number(v);
}

/** A duration as the definition keeps it: TimeSpan.MaxValue (the default) stays unset. */
function duration(d: Element, name: string): string | undefined {
  const v = text(d, name);
  if (v === undefined || v === '') return undefined;
  let ms: number;
  try {
    ms = parseIsoDuration(v);
  } catch (error) {
    throw bad(`${name}: ${(error as Error).message}`);
  }
  return ms >= TIMESPAN_MAX_MS ? undefined : v;
}

/** What the broker does not do: refused unless the request asks for what it does anyway. */
function refuseUnsupported(d: Element, maxMessageSizeKb: number): void {
  const unsupported = (name: string, why: string) => {
    throw bad(`${name} is not supported by the local Azure's Service Bus (${why}).`);
  };
  if (text(d, 'ForwardTo')) unsupported('ForwardTo', 'auto-forwarding');
  if (text(d, 'ForwardDeadLetteredMessagesTo')) unsupported('ForwardDeadLetteredMessagesTo', 'auto-forwarding');
  const idle = text(d, 'AutoDeleteOnIdle');
  if (idle && duration(d, 'AutoDeleteOnIdle') !== undefined) unsupported('AutoDeleteOnIdle', 'entities are never deleted when idle');
  const status = text(d, 'Status');
  if (status && status !== 'Active') unsupported(`Status ${status}`, 'an entity is always Active');
  const rules = d.AuthorizationRules;
  if (rules && typeof rules === 'object' && (rules as Element).AuthorizationRule) unsupported('AuthorizationRules', 'entity-level shared access policies');
  if (bool(d, 'EnableExpress')) unsupported('EnableExpress', 'every message is written to disk');
  const size = int(d, 'MaxMessageSizeInKilobytes');
  if (size !== undefined && size !== maxMessageSizeKb) unsupported(`MaxMessageSizeInKilobytes ${size}`, `the namespace's tier allows ${maxMessageSizeKb}`);
  if (d.Parameters || (d.DefaultRuleDescription as Element | undefined)?.Parameters) unsupported('Parameters', 'SQL filter parameters');
}

function extras(d: Element): EntityExtras {
  const out: EntityExtras = {};
  const userMetadata = text(d, 'UserMetadata');
  if (userMetadata !== undefined) out.userMetadata = userMetadata;
  const maxSize = int(d, 'MaxSizeInMegabytes');
  if (maxSize !== undefined) out.maxSizeInMegabytes = maxSize;
  for (const [key, name] of [
    ['enableBatchedOperations', 'EnableBatchedOperations'],
    ['enablePartitioning', 'EnablePartitioning'],
    ['supportOrdering', 'SupportOrdering'],
    ['deadLetteringOnFilterEvaluationExceptions', 'DeadLetteringOnFilterEvaluationExceptions'],
  ] as const) {
    const v = bool(d, name);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export function parseQueue(name: string, d: Element, maxMessageSizeKb: number): { definition: QueueDefinition; extras: EntityExtras } {
  refuseUnsupported(d, maxMessageSizeKb);
  return {
    definition: defined({
      name,
      lockDuration: duration(d, 'LockDuration'),
      maxDeliveryCount: int(d, 'MaxDeliveryCount'),
      defaultMessageTimeToLive: duration(d, 'DefaultMessageTimeToLive'),
      deadLetteringOnMessageExpiration: bool(d, 'DeadLetteringOnMessageExpiration'),
      requiresSession: bool(d, 'RequiresSession'),
      requiresDuplicateDetection: bool(d, 'RequiresDuplicateDetection'),
      duplicateDetectionHistoryTimeWindow: duration(d, 'DuplicateDetectionHistoryTimeWindow'),
    }),
    extras: extras(d),
  };
}

export function parseTopic(name: string, d: Element, maxMessageSizeKb: number): { definition: Omit<TopicDefinition, 'subscriptions'>; extras: EntityExtras } {
  refuseUnsupported(d, maxMessageSizeKb);
  return {
    definition: defined({
      name,
      defaultMessageTimeToLive: duration(d, 'DefaultMessageTimeToLive'),
      requiresDuplicateDetection: bool(d, 'RequiresDuplicateDetection'),
      duplicateDetectionHistoryTimeWindow: duration(d, 'DuplicateDetectionHistoryTimeWindow'),
    }),
    extras: extras(d),
  };
}

export function parseSubscription(name: string, d: Element, maxMessageSizeKb: number): { definition: Omit<SubscriptionDefinition, 'rules'>; extras: EntityExtras; defaultRule?: RuleSpec } {
  refuseUnsupported(d, maxMessageSizeKb);
  const defaultRule = d.DefaultRuleDescription;
  return {
    definition: defined({
      name,
      lockDuration: duration(d, 'LockDuration'),
      maxDeliveryCount: int(d, 'MaxDeliveryCount'),
      defaultMessageTimeToLive: duration(d, 'DefaultMessageTimeToLive'),
      deadLetteringOnMessageExpiration: bool(d, 'DeadLetteringOnMessageExpiration'),
      requiresSession: bool(d, 'RequiresSession'),
    }),
    extras: extras(d),
    ...(defaultRule && typeof defaultRule === 'object' ? { defaultRule: parseRule('$Default', defaultRule as Element) } : {}),
  };
}

function propertyValue(v: unknown, key: string): string | number | boolean {
  const el = (typeof v === 'object' && v !== null ? v : { '#text': v }) as Element;
  const type = String((el['@type'] as string | undefined) ?? 'string')
    .split(':')
    .pop()!;
  const raw = el['#text'] === undefined ? '' : String(el['#text'] as string);
  switch (type) {
    case 'string':
      return raw;
    case 'boolean':
      return raw === 'true';
    case 'int':
    case 'long':
    case 'double':
    case 'decimal':
    case 'float': {
      const n = Number(raw);
      if (raw === '' || Number.isNaN(n)) throw bad(`Property '${key}' is not a number: '${raw}'.`);
      return n;
    }
    default:
      throw bad(`Property '${key}' has type ${type}; the local Azure's correlation filters take strings, numbers and booleans.`);
  }
}

function parseProperties(p: unknown): Record<string, string | number | boolean> | undefined {
  if (!p || typeof p !== 'object') return undefined;
  const pairs = ((p as Element).KeyValueOfstringanyType as Element[] | undefined) ?? [];
  if (pairs.length === 0) return undefined;
  return Object.fromEntries(pairs.map((kv) => [String(kv.Key as string), propertyValue(kv.Value, String(kv.Key as string))]));
}

export function parseRule(name: string, d: Element): RuleSpec {
  const filter = (d.Filter ?? {}) as Element;
  const action = d.Action as Element | undefined;
  const actionType =
    action && typeof action === 'object'
      ? String((action['@type'] as string | undefined) ?? '')
          .split(':')
          .pop()
      : undefined;
  let ruleAction: { action?: { sqlExpression: string } } = {};
  if (actionType === 'SqlRuleAction') {
    const sqlExpression = text(action!, 'SqlExpression');
    if (!sqlExpression) throw bad('A SqlRuleAction needs a SqlExpression.');
    ruleAction = { action: { sqlExpression } };
  } else if (actionType && actionType !== 'EmptyRuleAction') {
    throw bad(`Rule action type ${actionType} is not known.`);
  }
  if (filter.Parameters || action?.Parameters) throw bad("Parameters is not supported by the local Azure's Service Bus (SQL filter and action parameters).");
  return { ...parseFilter(name, filter), ...ruleAction };
}

function parseFilter(name: string, filter: Element): RuleSpec {
  const type =
    typeof filter === 'object'
      ? String((filter['@type'] as string | undefined) ?? 'SqlFilter')
          .split(':')
          .pop()
      : 'SqlFilter';
  switch (type) {
    case 'TrueFilter':
      return { name, filterType: 'SqlFilter', sqlFilter: { sqlExpression: '1=1' }, filterShorthand: 'TrueFilter' };
    case 'FalseFilter':
      return { name, filterType: 'SqlFilter', sqlFilter: { sqlExpression: '1=0' }, filterShorthand: 'FalseFilter' };
    case 'SqlFilter': {
      const sqlExpression = text(filter, 'SqlExpression');
      if (!sqlExpression) throw bad('A SqlFilter needs a SqlExpression.');
      return { name, filterType: 'SqlFilter', sqlFilter: { sqlExpression } };
    }
    case 'CorrelationFilter': {
      const correlationFilter: CorrelationFilterDefinition = defined({
        correlationId: text(filter, 'CorrelationId'),
        messageId: text(filter, 'MessageId'),
        to: text(filter, 'To'),
        replyTo: text(filter, 'ReplyTo'),
        label: text(filter, 'Label'),
        sessionId: text(filter, 'SessionId'),
        replyToSessionId: text(filter, 'ReplyToSessionId'),
        contentType: text(filter, 'ContentType'),
        properties: parseProperties(filter.Properties),
      });
      if (Object.keys(correlationFilter).length === 0) throw bad('A CorrelationFilter needs at least one property to match.');
      return { name, filterType: 'CorrelationFilter', correlationFilter };
    }
    default:
      throw bad(`Filter type ${type} is not known.`);
  }
}
