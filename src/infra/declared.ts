// What infra/ must declare, derived from config/: the Service Bus queues and topics (AVM
// service-bus/namespace shapes), the Cosmos DB containers (AVM document-db shapes) and the event
// hubs (AVM event-hub/namespace shapes). `npm run infra:sync` writes these into the Bicep
// modules; the drift test compares the Bicep with them.
import { join } from 'node:path';
import { loadCosmosDefinition } from '../config/cosmos';
import { loadEventHubsDefinition } from '../config/eventhubs';
import { loadTopology } from '../config/topology';

const QUEUE_KEYS = ['lockDuration', 'maxDeliveryCount', 'defaultMessageTimeToLive', 'deadLetteringOnMessageExpiration', 'requiresDuplicateDetection', 'duplicateDetectionHistoryTimeWindow', 'requiresSession'] as const;
const TOPIC_KEYS = ['defaultMessageTimeToLive', 'requiresDuplicateDetection', 'duplicateDetectionHistoryTimeWindow'] as const;
const SUBSCRIPTION_KEYS = ['lockDuration', 'maxDeliveryCount', 'defaultMessageTimeToLive', 'deadLetteringOnMessageExpiration', 'requiresSession'] as const;

function pick(source: object, keys: readonly string[]): Record<string, unknown> {
  const s = source as Record<string, unknown>;
  return Object.fromEntries(keys.filter((k) => s[k] !== undefined).map((k) => [k, s[k]]));
}

export interface DeclaredInfra {
  queues: Record<string, unknown>[];
  topics: Record<string, unknown>[];
  containers: Record<string, unknown>[];
  eventHubs: Record<string, unknown>[];
  databaseName: string;
}

export function declaredInfra(configDir: string): DeclaredInfra {
  const topology = loadTopology(join(configDir, 'topology.yaml'));
  const cosmos = loadCosmosDefinition(join(configDir, 'cosmos.yaml'));
  const hubs = loadEventHubsDefinition(join(configDir, 'eventhubs.yaml'));
  return {
    queues: topology.serviceBus.queues.map((q) => ({ name: q.name, ...pick(q, QUEUE_KEYS) })),
    topics: topology.serviceBus.topics.map((t) => ({
      name: t.name,
      ...pick(t, TOPIC_KEYS),
      subscriptions: t.subscriptions.map((s) => ({
        name: s.name,
        ...pick(s, SUBSCRIPTION_KEYS),
        ...(s.rules?.length
          ? {
              rules: s.rules.map((r) =>
                r.filterType === 'SqlFilter'
                  ? { name: r.name, filterType: 'SqlFilter', sqlFilter: { sqlExpression: r.sqlFilter!.sqlExpression } }
                  : { name: r.name, filterType: 'CorrelationFilter', correlationFilter: { ...r.correlationFilter } },
              ),
            }
          : {}),
      })),
    })),
    containers: cosmos.cosmos.containers.map((c) => ({
      name: c.name,
      paths: [c.partitionKey],
      kind: 'Hash',
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
    })),
    eventHubs: hubs.eventHubs.hubs.map((h) => ({
      name: h.name,
      partitionCount: h.partitionCount,
      messageRetentionInDays: h.messageRetentionInDays,
      consumergroups: [{ name: '$Default' }, ...h.consumerGroups.map((name) => ({ name }))],
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
