// What an app with no config/ gets: the Service Bus queues, topics and subscriptions, the Cosmos DB
// database and containers, and the event hubs its bindings name, created as a developer would
// create them by hand before the first run (Azure's defaults), one log line each.
import { parseTopology } from '@backbone/azure-model/topology';
import type { ContainerDefinition } from '@backbone/azure-model/cosmos';
import type { HubDefinition } from '@backbone/azure-model/eventhubs';
import type { RegisteredFunction } from '../worker/worker-state';
import { resolveSettingExpression } from './settings';

/** The Service Bus entities an app's bindings name, as a topology, and one line per entity created. */
export function topologyFromBindings(functions: RegisteredFunction[], env: NodeJS.ProcessEnv): { topology: ReturnType<typeof parseTopology>; created: string[] } {
  const queues = new Map<string, { name: string; requiresSession?: boolean }>();
  const topics = new Map<string, { name: string; subscriptions: Map<string, { name: string; requiresSession?: boolean }> }>();
  const created: string[] = [];
  for (const fn of functions) {
    for (const b of Object.values(fn.metadata.bindings)) {
      if (b.type !== 'serviceBusTrigger' && b.type !== 'serviceBus') continue;
      const sessions = b.isSessionsEnabled === true;
      if (typeof b.queueName === 'string') {
        const name = resolveSettingExpression(b.queueName, env).replace(/\/\$deadletterqueue$/i, '');
        if (!queues.has(name.toLowerCase())) {
          queues.set(name.toLowerCase(), { name, ...(sessions ? { requiresSession: true } : {}) });
          created.push(`Service Bus queue '${name}'${sessions ? ' (sessions)' : ''} created for function '${fn.metadata.name}' (no config/topology.yaml declares it)`);
        }
      } else if (typeof b.topicName === 'string') {
        const name = resolveSettingExpression(b.topicName, env);
        let topic = topics.get(name.toLowerCase());
        if (!topic) {
          topic = { name, subscriptions: new Map() };
          topics.set(name.toLowerCase(), topic);
          created.push(`Service Bus topic '${name}' created for function '${fn.metadata.name}' (no config/topology.yaml declares it)`);
        }
        if (typeof b.subscriptionName === 'string') {
          const sub = resolveSettingExpression(b.subscriptionName, env).replace(/\/\$deadletterqueue$/i, '');
          if (!topic.subscriptions.has(sub.toLowerCase())) {
            topic.subscriptions.set(sub.toLowerCase(), { name: sub, ...(sessions ? { requiresSession: true } : {}) });
            created.push(`Service Bus subscription '${name}/subscriptions/${sub}' created for function '${fn.metadata.name}'`);
          }
        }
      }
    }
  }
  const doc = { serviceBus: { queues: [...queues.values()], topics: [...topics.values()].map((t) => ({ name: t.name, subscriptions: [...t.subscriptions.values()] })) } };
  return { topology: parseTopology(JSON.stringify(doc), '(the bindings of the app)'), created };
}

/** The partition count an event hub created from the bindings gets (the official emulator's sample configuration has 2). */
export const DERIVED_PARTITIONS = 2;

/** The event hubs (with the consumer groups their triggers read as) the bindings name. */
export function eventHubsFromBindings(functions: RegisteredFunction[], env: NodeJS.ProcessEnv): { hubs: HubDefinition[]; created: string[] } {
  const hubs = new Map<string, HubDefinition>();
  const created: string[] = [];
  for (const fn of functions) {
    for (const b of Object.values(fn.metadata.bindings)) {
      if (b.type !== 'eventHubTrigger' && b.type !== 'eventHub') continue;
      const name = resolveSettingExpression(String(b.eventHubName ?? ''), env);
      if (!name) continue;
      let hub = hubs.get(name);
      if (!hub) {
        hubs.set(name, (hub = { name, partitionCount: DERIVED_PARTITIONS, messageRetentionInDays: 1, consumerGroups: [] }));
        created.push(`Event hub '${name}' (${DERIVED_PARTITIONS} partitions) created for function '${fn.metadata.name}' (no config/eventhubs.yaml declares it)`);
      }
      const group = b.type === 'eventHubTrigger' ? resolveSettingExpression(String(b.consumerGroup ?? '$Default'), env) : '$Default';
      if (group !== '$Default' && !hub.consumerGroups.includes(group)) hub.consumerGroups.push(group);
    }
  }
  return { hubs: [...hubs.values()], created };
}

/**
 * The Cosmos DB database and containers the bindings name: the database of the first Cosmos DB
 * binding (the embedded store holds one), the containers a trigger monitors and those an output
 * binding writes without createIfNotExists — on Azure they exist before the app runs — partitioned
 * on the output binding's partitionKey, else /id. Not created here: a lease container (only with
 * createLeaseContainerIfNotExists, by the trigger, as the extension does) and an output container
 * with createIfNotExists (at its first write, as the extension does).
 */
export function containersFromBindings(functions: RegisteredFunction[], env: NodeJS.ProcessEnv): { databaseName?: string; containers: ContainerDefinition[]; created: string[] } {
  let databaseName: string | undefined;
  const containers = new Map<string, ContainerDefinition>();
  const created: string[] = [];
  for (const fn of functions) {
    for (const b of Object.values(fn.metadata.bindings)) {
      if (b.type !== 'cosmosDBTrigger' && b.type !== 'cosmosDB') continue;
      const database = resolveSettingExpression(String(b.databaseName ?? ''), env);
      if (!databaseName && database) {
        databaseName = database;
        created.push(`Cosmos DB database '${database}' created for function '${fn.metadata.name}' (no config/cosmos.yaml declares it)`);
      }
      if (database !== databaseName) continue; // the trigger or binding refuses it when it starts or writes
      if (b.type === 'cosmosDB' && b.createIfNotExists === true) continue;
      const name = resolveSettingExpression(String(b.containerName ?? b.collectionName ?? ''), env);
      if (!name || containers.has(name)) continue;
      const partitionKey = typeof b.partitionKey === 'string' && b.partitionKey.startsWith('/') ? b.partitionKey : '/id';
      containers.set(name, { name, partitionKey });
      created.push(`Cosmos DB container '${database}/${name}' (partition key ${partitionKey}) created for function '${fn.metadata.name}'`);
    }
  }
  return { ...(databaseName ? { databaseName } : {}), containers: [...containers.values()], created };
}
