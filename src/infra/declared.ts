// What infra/ must declare, derived from config/: the Service Bus queues, topics, subscriptions
// and rules, the Cosmos DB containers and the event hubs, each with the properties of its ARM
// resource. `npm run infra:sync` writes these into the Bicep modules; the drift test compares
// the resources of the compiled template with them.
import { join } from 'node:path';
import { loadCosmosDefinition } from '@backbone/azure-model/cosmos';
import { loadEventHubsDefinition } from '@backbone/azure-model/eventhubs';
import { loadTopology, type RuleDefinition } from '@backbone/azure-model/topology';

const QUEUE_KEYS = [
  'lockDuration',
  'maxDeliveryCount',
  'defaultMessageTimeToLive',
  'deadLetteringOnMessageExpiration',
  'requiresDuplicateDetection',
  'duplicateDetectionHistoryTimeWindow',
  'requiresSession',
] as const;
const TOPIC_KEYS = ['defaultMessageTimeToLive', 'requiresDuplicateDetection', 'duplicateDetectionHistoryTimeWindow'] as const;
const SUBSCRIPTION_KEYS = ['lockDuration', 'maxDeliveryCount', 'defaultMessageTimeToLive', 'deadLetteringOnMessageExpiration', 'requiresSession'] as const;

function pick(source: object, keys: readonly string[]): Record<string, unknown> {
  const s = source as Record<string, unknown>;
  return Object.fromEntries(keys.filter((k) => s[k] !== undefined).map((k) => [k, s[k]]));
}

type Properties = Record<string, unknown>;

export interface DeclaredInfra {
  queues: { name: string; properties: Properties }[];
  topics: { name: string; properties: Properties; subscriptions: { name: string; properties: Properties; rules?: { name: string; properties: Properties }[] }[] }[];
  containers: { name: string; resource: Properties }[];
  eventHubs: { name: string; properties: Properties; consumerGroups: string[] }[];
  databaseName: string;
}

/** A subscription rule's ARM properties: a SQL filter or a correlation filter. */
function ruleProperties(r: RuleDefinition): Properties {
  return r.filterType === 'SqlFilter'
    ? { filterType: 'SqlFilter', sqlFilter: { sqlExpression: r.sqlFilter!.sqlExpression } }
    : { filterType: 'CorrelationFilter', correlationFilter: { ...r.correlationFilter } };
}

/**
 * Each entity as the Bicep declares it: `name` and the ARM resource's `properties` (queues,
 * topics, subscriptions, rules, event hubs) or `resource` (Cosmos containers), plus the children
 * a parent lists (subscriptions, rules, consumer groups).
 */
export function declaredInfra(configDir: string): DeclaredInfra {
  const topology = loadTopology(join(configDir, 'topology.yaml'));
  const cosmos = loadCosmosDefinition(join(configDir, 'cosmos.yaml'));
  const hubs = loadEventHubsDefinition(join(configDir, 'eventhubs.yaml'));
  return {
    queues: topology.serviceBus.queues.map((q) => ({ name: q.name, properties: pick(q, QUEUE_KEYS) })),
    topics: topology.serviceBus.topics.map((t) => ({
      name: t.name,
      properties: pick(t, TOPIC_KEYS),
      subscriptions: t.subscriptions.map((s) => ({
        name: s.name,
        properties: pick(s, SUBSCRIPTION_KEYS),
        ...(s.rules?.length ? { rules: s.rules.map((r) => ({ name: r.name, properties: ruleProperties(r) })) } : {}),
      })),
    })),
    containers: cosmos.cosmos.containers.map((c) => ({
      name: c.name,
      resource: {
        id: c.name,
        partitionKey: { paths: [c.partitionKey], kind: 'Hash', version: 2 },
        ...(c.defaultTtl !== undefined ? { defaultTtl: c.defaultTtl } : {}),
        ...(c.indexingPolicy?.includedPaths
          ? {
              indexingPolicy: {
                indexingMode: 'consistent',
                automatic: true,
                includedPaths: c.indexingPolicy.includedPaths.map((path) => ({ path })),
                excludedPaths: [{ path: '/*' }, ...(c.indexingPolicy.excludedPaths ?? []).map((path) => ({ path }))],
              },
            }
          : {}),
      },
    })),
    eventHubs: hubs.eventHubs.hubs.map((h) => ({
      name: h.name,
      properties: { partitionCount: h.partitionCount, messageRetentionInDays: h.messageRetentionInDays },
      consumerGroups: h.consumerGroups,
    })),
    databaseName: cosmos.cosmos.databaseName,
  };
}

/** The Bicep variable each declaration goes in, and the file. */
export const GENERATED_BLOCKS = [
  { file: 'infra/modules/messaging.bicep', source: 'config/topology.yaml', vars: ['queues', 'topics'] },
  { file: 'infra/modules/cosmos.bicep', source: 'config/cosmos.yaml', vars: ['containers'] },
  { file: 'infra/modules/eventhubs.bicep', source: 'config/eventhubs.yaml', vars: ['eventHubs'] },
] as const;
