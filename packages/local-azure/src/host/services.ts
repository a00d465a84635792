// The emulated services one host runs, in one SQLite file: the Service Bus namespace, the Cosmos DB
// account's database and the Event Hubs namespace, declared by config/ (topology.yaml, cosmos.yaml,
// eventhubs.yaml) or, where it declares nothing, by what the app's bindings name.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadCosmosDefinition } from '@backbone/azure-model/cosmos';
import { loadEventHubsDefinition } from '@backbone/azure-model/eventhubs';
import { loadTopology, parseTopology } from '@backbone/azure-model/topology';
import { EmbeddedBroker } from '../broker/broker';
import { EntityTable } from '../broker/entities';
import type { Clock } from '../clock';
import { EmbeddedDocumentStore } from '../docstore/store';
import { EmbeddedEventHubs } from '../eventhubs/event-log';
import { GroupCommit, openDatabase, type Db } from '../sqlite';
import type { UsageMeter } from '../usage';
import type { RegisteredFunction } from '../worker/worker-state';
import { containersFromBindings, eventHubsFromBindings, topologyFromBindings } from './resources-from-bindings';

export interface Services {
  db: Db;
  commit: GroupCommit;
  broker: EmbeddedBroker;
  documents: EmbeddedDocumentStore;
  eventHubs: EmbeddedEventHubs;
  /** Creates what the bindings name where config/ declared nothing; returns one line per resource created. */
  declareFromBindings(functions: RegisteredFunction[], env: NodeJS.ProcessEnv): string[];
}

export function openServices(o: { databaseFile: string; configDir: string; topologyFile?: string; clock: Clock; usage: UsageMeter; sweepIntervalMs?: number }): Services {
  // An app without config/topology.yaml declares no queues or topics (any v4 app can start).
  const topologyFile = o.topologyFile ?? join(o.configDir, 'topology.yaml');
  const topologyDeclared = Boolean(o.topologyFile) || existsSync(topologyFile);
  const topology = topologyDeclared ? loadTopology(topologyFile) : parseTopology('serviceBus: { queues: [], topics: [] }', '(no config/topology.yaml)');
  const cosmosFile = join(o.configDir, 'cosmos.yaml');
  const cosmosDeclared = existsSync(cosmosFile);
  const cosmos = cosmosDeclared ? loadCosmosDefinition(cosmosFile).cosmos : { databaseName: 'embedded', containers: [] };
  const hubsFile = join(o.configDir, 'eventhubs.yaml');
  const hubsDeclared = existsSync(hubsFile);

  const db = openDatabase(o.databaseFile);
  const commit = new GroupCommit(db);
  const broker = new EmbeddedBroker(db, new EntityTable(topology), o.clock, commit, { sweepIntervalMs: o.sweepIntervalMs, usage: o.usage });
  const documents = new EmbeddedDocumentStore(cosmos.databaseName, cosmos.containers, db, commit, o.clock, o.usage);
  const eventHubs = new EmbeddedEventHubs(hubsDeclared ? loadEventHubsDefinition(hubsFile).eventHubs.hubs : [], db, commit, o.clock, o.usage);

  return {
    db,
    commit,
    broker,
    documents,
    eventHubs,
    declareFromBindings(functions, env) {
      const lines: string[] = [];
      if (!topologyDeclared) {
        // Service Bus's defaults; sessions where a trigger asks for them.
        const derived = topologyFromBindings(functions, env);
        broker.entities.add(derived.topology);
        lines.push(...derived.created);
      }
      if (!cosmosDeclared) {
        const derived = containersFromBindings(functions, env);
        if (derived.databaseName) documents.useDatabase(derived.databaseName);
        for (const c of derived.containers) documents.addContainer(c);
        lines.push(...derived.created);
      }
      if (!hubsDeclared) {
        const derived = eventHubsFromBindings(functions, env);
        for (const h of derived.hubs) eventHubs.add(h);
        lines.push(...derived.created);
      }
      return lines;
    },
  };
}
