// Adapters under the document-store and event-store contract suites:
//  - the embedded store (SQLite, manual clock);
//  - the Cosmos DB adapter on the local Azure's own Cosmos DB REST API (CosmosRestServer over the
//    embedded store, on a manual clock; real HTTP, the real @azure/cosmos SDK), created through
//    the adapter like a fresh account;
//  - a real Cosmos DB account or the emulator when COSMOS_ENDPOINT is set (COSMOS_KEY for the
//    emulator's published key; otherwise an Entra ID login). Each run gets its own database.
import { join } from 'node:path';
import { CosmosClient } from '@azure/cosmos';
import { DefaultAzureCredential } from '@azure/identity';
import { ensureCosmosContainers } from '../../src/adapters/azure/cosmos';
import { CosmosDocumentContainer } from '../../src/adapters/azure/cosmos-documents';
import { loadCosmosDefinition, type CosmosDefinition } from '@backbone/azure-model/cosmos';
import type { DocumentContainer } from '../../src/ports/documents';
import { ManualClock } from '@backbone/local-azure/clock';
import { EmbeddedDocumentStore } from '@backbone/local-azure/docstore/store';
import { EMULATOR_KEY } from '@backbone/local-azure/cosmos-rest/auth';
import { CosmosRestServer } from '@backbone/local-azure/cosmos-rest/server';
import { GroupCommit, openDatabase } from '@backbone/local-azure/sqlite';
import { flushIo, repoRoot } from './messaging-harness';
import { throughWorkerChannel } from './worker-channel';

/** A backend's clock the test cannot move (a real account): the TTL tests wait in real time there. */
export type Gap = 'manualClock';

export interface DocumentHarness {
  name: string;
  container(name: string): DocumentContainer;
  /** Moves the manual clock (embedded only). */
  advance(ms: number): Promise<void>;
  close(): Promise<void>;
}

export interface DocumentBackend {
  name: string;
  gaps: Partial<Record<Gap, string>>;
  create(): Promise<DocumentHarness>;
}

export const contractCosmosFile = join(repoRoot, 'test', 'contract', 'cosmos-contract.yaml');

export function embeddedDocumentHarness(
  definition: CosmosDefinition = loadCosmosDefinition(contractCosmosFile),
  file = ':memory:',
): DocumentHarness & { store: EmbeddedDocumentStore; clock: ManualClock } {
  const db = openDatabase(file);
  const commit = new GroupCommit(db);
  const clock = new ManualClock();
  const store = new EmbeddedDocumentStore(definition.cosmos.databaseName, definition.cosmos.containers, db, commit, clock);
  return {
    name: 'embedded store',
    store,
    clock,
    container: (name) => store.container(name),
    async advance(ms) {
      clock.advance(ms);
      await flushIo();
    },
    async close() {
      commit.close();
      db.close();
    },
  };
}

async function cosmosHarness(
  name: string,
  client: CosmosClient,
  definition: CosmosDefinition,
  dispose: () => Promise<void>,
  advance: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<DocumentHarness> {
  await ensureCosmosContainers(client, definition);
  const database = client.database(definition.cosmos.databaseName);
  return {
    name,
    container: (c) => new CosmosDocumentContainer(database.container(c), definition.cosmos.containers.find((d) => d.name === c)!.partitionKey),
    advance,
    close: dispose,
  };
}

/** The local Azure's Cosmos DB REST API: an empty store, so the adapter creates the database and containers over REST. */
export function cosmosRestBackend(): DocumentBackend {
  return {
    name: 'Cosmos adapter on the local Azure Cosmos DB REST API',
    gaps: {},
    async create() {
      const db = openDatabase(':memory:');
      const commit = new GroupCommit(db);
      const clock = new ManualClock();
      const store = new EmbeddedDocumentStore('embedded', [], db, commit, clock);
      const server = new CosmosRestServer({ documents: store, db, now: () => clock.now() });
      const port = await server.listen(0);
      const client = new CosmosClient({ endpoint: `http://localhost:${port}`, key: EMULATOR_KEY });
      return cosmosHarness(
        'local Cosmos DB REST API',
        client,
        loadCosmosDefinition(contractCosmosFile),
        async () => {
          client.dispose();
          await server.close();
          commit.close();
          db.close();
        },
        async (ms) => {
          clock.advance(ms);
          await flushIo();
        },
      );
    },
  };
}

export function realCosmosBackend(): DocumentBackend | { skip: string } {
  const endpoint = process.env.COSMOS_ENDPOINT;
  if (!endpoint) {
    return { skip: 'Cosmos DB contract run against a real account skipped: set COSMOS_ENDPOINT (and COSMOS_KEY for the emulator, or az login for an account) to run it.' };
  }
  return {
    name: `Cosmos DB at ${endpoint}`,
    gaps: { manualClock: 'a real account runs on its own clock' },
    async create() {
      const key = process.env.COSMOS_KEY;
      const client = key ? new CosmosClient({ endpoint, key }) : new CosmosClient({ endpoint, aadCredentials: new DefaultAzureCredential() });
      const base = loadCosmosDefinition(contractCosmosFile);
      const definition: CosmosDefinition = { cosmos: { ...base.cosmos, databaseName: `contract-${Date.now().toString(36)}-${process.pid}` } };
      return cosmosHarness('Cosmos DB', client, definition, async () => {
        await client
          .database(definition.cosmos.databaseName)
          .delete()
          .catch(() => undefined);
        client.dispose();
      });
    },
  };
}

/** The embedded store as a function in a worker process reaches it: every call over the worker's channel. */
export function workerChannelDocumentHarness(): DocumentHarness {
  const h = embeddedDocumentHarness();
  const remote = throughWorkerChannel({ cosmos: h.store, serviceBus: unavailable('serviceBus'), eventHubs: unavailable('eventHubs'), baseUrl: '' });
  return { ...h, name: 'embedded store from a worker process', container: (name) => remote.cosmos.container(name) };
}

function unavailable<T>(what: string): T {
  return new Proxy({}, { get: () => () => Promise.reject(new Error(`${what} is not part of this harness`)) }) as T;
}

export function documentBackends(): DocumentBackend[] {
  const backends: DocumentBackend[] = [
    { name: 'embedded store', gaps: {}, create: async () => embeddedDocumentHarness() },
    { name: 'embedded store from a worker process', gaps: {}, create: async () => workerChannelDocumentHarness() },
    cosmosRestBackend(),
  ];
  const real = realCosmosBackend();
  if ('skip' in real) console.log(real.skip);
  else backends.push(real);
  return backends;
}
