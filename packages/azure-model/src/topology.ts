// Loads config/topology.yaml — the single declaration of every Service Bus entity — validates
// it, and resolves Service Bus defaults so the embedded broker and the infra drift test read
// the same numbers.
import { readFileSync } from 'node:fs';
import type { ErrorObject } from 'ajv';
import { builtInSchemaCompiler } from './built-in-schema';
import { parse as parseYaml } from 'yaml';
import { parseIsoDuration } from './durations';

export interface CorrelationFilterDefinition {
  correlationId?: string;
  messageId?: string;
  to?: string;
  replyTo?: string;
  label?: string;
  sessionId?: string;
  replyToSessionId?: string;
  contentType?: string;
  properties?: Record<string, string | number | boolean>;
}

export interface RuleDefinition {
  name: string;
  filterType: 'SqlFilter' | 'CorrelationFilter';
  sqlFilter?: { sqlExpression: string };
  correlationFilter?: CorrelationFilterDefinition;
}

interface EntityProperties {
  lockDuration?: string;
  maxDeliveryCount?: number;
  defaultMessageTimeToLive?: string;
  deadLetteringOnMessageExpiration?: boolean;
  requiresSession?: boolean;
}

export interface QueueDefinition extends EntityProperties {
  name: string;
  requiresDuplicateDetection?: boolean;
  duplicateDetectionHistoryTimeWindow?: string;
}

export interface SubscriptionDefinition extends EntityProperties {
  name: string;
  rules?: RuleDefinition[];
}

export interface TopicDefinition {
  name: string;
  defaultMessageTimeToLive?: string;
  requiresDuplicateDetection?: boolean;
  duplicateDetectionHistoryTimeWindow?: string;
  subscriptions: SubscriptionDefinition[];
}

export interface TopologyDefinition {
  serviceBus: {
    sku: 'Standard' | 'Premium';
    queues: QueueDefinition[];
    topics: TopicDefinition[];
  };
}

/** Settings of an entity that receives (a queue or a subscription), defaults resolved, in ms. */
export interface ReceiverSettings {
  lockDurationMs: number;
  maxDeliveryCount: number;
  defaultTtlMs: number;
  deadLetterOnExpiration: boolean;
  requiresSession: boolean;
}

/** Settings of an entity that accepts sends (a queue or a topic). */
export interface SenderSettings {
  duplicateDetection: boolean;
  duplicateWindowMs: number;
  defaultTtlMs: number;
  maxMessageSizeBytes: number;
}

// Service Bus defaults and bounds (learn.microsoft.com, Service Bus quotas / queue properties).
export const SERVICE_BUS_DEFAULTS = {
  lockDurationMs: 60_000,
  maxDeliveryCount: 10,
  /** TimeSpan.MaxValue in Service Bus; anything this long never expires in practice. */
  defaultTtlMs: Number.MAX_SAFE_INTEGER,
  duplicateWindowMs: 10 * 60_000,
  maxMessageSizeBytes: { Standard: 256 * 1024, Premium: 1024 * 1024 },
} as const;

const DURATION = '^P(?!$)(\\d+Y)?(\\d+M)?(\\d+W)?(\\d+D)?(T(?=\\d)(\\d+H)?(\\d+M)?(\\d+(\\.\\d+)?S)?)?$';
const ENTITY_NAME = '^[A-Za-z0-9]([A-Za-z0-9._\\-]{0,258}[A-Za-z0-9])?$';

const entityProperties = {
  lockDuration: { type: 'string', pattern: DURATION },
  maxDeliveryCount: { type: 'integer', minimum: 1, maximum: 2000 },
  defaultMessageTimeToLive: { type: 'string', pattern: DURATION },
  deadLetteringOnMessageExpiration: { type: 'boolean' },
  requiresSession: { type: 'boolean' },
};
const dedupeProperties = {
  requiresDuplicateDetection: { type: 'boolean' },
  duplicateDetectionHistoryTimeWindow: { type: 'string', pattern: DURATION },
};
const ruleSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'filterType'],
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z0-9$][A-Za-z0-9._\\-]{0,49}$' },
    filterType: { enum: ['SqlFilter', 'CorrelationFilter'] },
    sqlFilter: {
      type: 'object',
      additionalProperties: false,
      required: ['sqlExpression'],
      properties: { sqlExpression: { type: 'string', minLength: 1, maxLength: 1024 } },
    },
    correlationFilter: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      properties: {
        correlationId: { type: 'string' },
        messageId: { type: 'string' },
        to: { type: 'string' },
        replyTo: { type: 'string' },
        label: { type: 'string' },
        sessionId: { type: 'string' },
        replyToSessionId: { type: 'string' },
        contentType: { type: 'string' },
        properties: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } },
      },
    },
  },
  oneOf: [
    { properties: { filterType: { const: 'SqlFilter' } }, required: ['sqlFilter'] },
    { properties: { filterType: { const: 'CorrelationFilter' } }, required: ['correlationFilter'] },
  ],
};
const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['serviceBus'],
  properties: {
    serviceBus: {
      type: 'object',
      additionalProperties: false,
      required: ['queues', 'topics'],
      properties: {
        sku: { enum: ['Standard', 'Premium'] },
        queues: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name'],
            properties: { name: { type: 'string', pattern: ENTITY_NAME }, ...entityProperties, ...dedupeProperties },
          },
        },
        topics: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'subscriptions'],
            properties: {
              name: { type: 'string', pattern: ENTITY_NAME },
              defaultMessageTimeToLive: entityProperties.defaultMessageTimeToLive,
              ...dedupeProperties,
              subscriptions: {
                type: 'array',
                items: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['name'],
                  properties: {
                    name: { type: 'string', pattern: '^[A-Za-z0-9]([A-Za-z0-9._\\-]{0,48}[A-Za-z0-9])?$' },
                    ...entityProperties,
                    rules: { type: 'array', items: ruleSchema },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};

const validate = builtInSchemaCompiler({ allErrors: true, allowUnionTypes: true }).compile<TopologyDefinition>(schema);

export class TopologyError extends Error {
  override name = 'TopologyError';
}

function describe(doc: unknown, error: ErrorObject): string {
  // Turn /serviceBus/queues/0/lockDuration into serviceBus.queues[0] (inbound).lockDuration
  const parts = error.instancePath.split('/').slice(1);
  let node: unknown = doc;
  let where = '';
  for (const part of parts) {
    node = (node as Record<string, unknown> | undefined)?.[part];
    if (/^\d+$/.test(part)) {
      const name = (node as { name?: unknown } | undefined)?.name;
      where += `[${part}]${typeof name === 'string' ? ` (${name})` : ''}`;
    } else {
      where += where ? `.${part}` : part;
    }
  }
  const extra = error.keyword === 'additionalProperties' ? ` "${String(error.params.additionalProperty)}"` : '';
  return `${where || '(root)'}: ${error.message}${extra}`;
}

export function parseTopology(text: string, source = 'topology'): TopologyDefinition {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    throw new TopologyError(`${source}: not valid YAML: ${(error as Error).message}`);
  }
  if (!validate(doc)) {
    const problems = (validate.errors ?? []).map((e) => describe(doc, e));
    throw new TopologyError(`${source} is invalid:\n  ${[...new Set(problems)].join('\n  ')}`);
  }
  const topology = doc;
  topology.serviceBus.sku ??= 'Standard';
  checkSemantics(topology, source);
  return topology;
}

export function loadTopology(path: string): TopologyDefinition {
  return parseTopology(readFileSync(path, 'utf8'), path);
}

function checkSemantics(topology: TopologyDefinition, source: string): void {
  const problems: string[] = [];
  const names = new Set<string>();
  const entities = [...topology.serviceBus.queues, ...topology.serviceBus.topics];
  for (const entity of entities) {
    const key = entity.name.toLowerCase();
    if (names.has(key)) problems.push(`entity "${entity.name}" is declared twice (names are case-insensitive)`);
    names.add(key);
  }
  const inRange = (what: string, iso: string | undefined, minMs: number, maxMs: number) => {
    if (iso === undefined) return;
    const ms = parseIsoDuration(iso);
    if (ms < minMs || ms > maxMs) problems.push(`${what} = ${iso} is outside ${minMs / 1000}s..${maxMs / 1000}s`);
  };
  const checkReceiver = (what: string, e: EntityProperties) => {
    inRange(`${what}.lockDuration`, e.lockDuration, 5_000, 5 * 60_000);
    inRange(`${what}.defaultMessageTimeToLive`, e.defaultMessageTimeToLive, 1_000, Number.MAX_SAFE_INTEGER);
  };
  for (const q of topology.serviceBus.queues) {
    checkReceiver(`queue ${q.name}`, q);
    inRange(`queue ${q.name}.duplicateDetectionHistoryTimeWindow`, q.duplicateDetectionHistoryTimeWindow, 20_000, 7 * 86_400_000);
  }
  for (const t of topology.serviceBus.topics) {
    inRange(`topic ${t.name}.duplicateDetectionHistoryTimeWindow`, t.duplicateDetectionHistoryTimeWindow, 20_000, 7 * 86_400_000);
    const subs = new Set<string>();
    for (const s of t.subscriptions) {
      if (subs.has(s.name.toLowerCase())) problems.push(`topic ${t.name}: subscription "${s.name}" is declared twice`);
      subs.add(s.name.toLowerCase());
      checkReceiver(`topic ${t.name} subscription ${s.name}`, s);
      const rules = new Set<string>();
      for (const r of s.rules ?? []) {
        if (rules.has(r.name)) problems.push(`topic ${t.name} subscription ${s.name}: rule "${r.name}" is declared twice`);
        rules.add(r.name);
      }
    }
  }
  if (problems.length) throw new TopologyError(`${source} is invalid:\n  ${problems.join('\n  ')}`);
}

export function receiverSettings(entity: EntityProperties, topicTtl?: string): ReceiverSettings {
  const own = entity.defaultMessageTimeToLive ? parseIsoDuration(entity.defaultMessageTimeToLive) : Infinity;
  const inherited = topicTtl ? parseIsoDuration(topicTtl) : Infinity;
  const ttl = Math.min(own, inherited);
  return {
    lockDurationMs: entity.lockDuration ? parseIsoDuration(entity.lockDuration) : SERVICE_BUS_DEFAULTS.lockDurationMs,
    maxDeliveryCount: entity.maxDeliveryCount ?? SERVICE_BUS_DEFAULTS.maxDeliveryCount,
    defaultTtlMs: Number.isFinite(ttl) ? ttl : SERVICE_BUS_DEFAULTS.defaultTtlMs,
    deadLetterOnExpiration: entity.deadLetteringOnMessageExpiration ?? false,
    requiresSession: entity.requiresSession ?? false,
  };
}

export function senderSettings(entity: QueueDefinition | TopicDefinition, sku: 'Standard' | 'Premium'): SenderSettings {
  return {
    duplicateDetection: entity.requiresDuplicateDetection ?? false,
    duplicateWindowMs: entity.duplicateDetectionHistoryTimeWindow ? parseIsoDuration(entity.duplicateDetectionHistoryTimeWindow) : SERVICE_BUS_DEFAULTS.duplicateWindowMs,
    defaultTtlMs: entity.defaultMessageTimeToLive ? parseIsoDuration(entity.defaultMessageTimeToLive) : SERVICE_BUS_DEFAULTS.defaultTtlMs,
    maxMessageSizeBytes: SERVICE_BUS_DEFAULTS.maxMessageSizeBytes[sku],
  };
}
