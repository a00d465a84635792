// Cosmos DB clients from configuration: identity-based (<Connection>__accountEndpoint, with
// __credential/__clientId for a user-assigned identity) in Azure, or a connection string for the
// Cosmos DB emulator. One client per process, as the SDK recommends.
import { CosmosClient, type Container, type Database } from '@azure/cosmos';
import type { CosmosDefinition } from '@backbone/azure-model/cosmos';
import { credentialFor } from './credentials';

const clients = new Map<string, CosmosClient>();

export function cosmosClient(connection: string, env: NodeJS.ProcessEnv = process.env): CosmosClient {
  let client = clients.get(connection);
  if (client) return client;
  const endpoint = env[`${connection}__accountEndpoint`];
  const connectionString = env[connection];
  if (endpoint) client = new CosmosClient({ endpoint, aadCredentials: credentialFor(connection, env) });
  else if (connectionString?.includes('AccountEndpoint=')) client = new CosmosClient(connectionString);
  else throw new Error(`Set ${connection}__accountEndpoint (Azure, managed identity) or ${connection} to an emulator connection string.`);
  clients.set(connection, client);
  return client;
}

/** Ends every client (the worker stops); the next call opens a new one. */
export function closeCosmosClients(): void {
  for (const client of clients.values()) client.dispose();
  clients.clear();
}

export function cosmosDatabase(connection: string, env: NodeJS.ProcessEnv = process.env): Database {
  return cosmosClient(connection, env).database(env.COSMOS_DATABASE_NAME || 'integration');
}

export function cosmosContainer(connection: string, name: string, env: NodeJS.ProcessEnv = process.env): Container {
  return cosmosDatabase(connection, env).container(name);
}

/**
 * Creates the database and containers of config/cosmos.yaml where missing — for the Cosmos DB
 * emulator and tests. In Azure the Bicep creates them and the app's identity may not.
 */
export async function ensureCosmosContainers(client: CosmosClient, definition: CosmosDefinition): Promise<void> {
  const { database } = await client.databases.createIfNotExists({ id: definition.cosmos.databaseName });
  for (const c of definition.cosmos.containers) {
    await database.containers.createIfNotExists({
      id: c.name,
      partitionKey: { paths: [c.partitionKey] },
      ...(c.defaultTtl !== undefined ? { defaultTtl: c.defaultTtl } : {}),
      ...(c.indexingPolicy?.includedPaths
        ? {
            indexingPolicy: {
              indexingMode: 'consistent' as const,
              includedPaths: c.indexingPolicy.includedPaths.map((path) => ({ path })),
              excludedPaths: [{ path: '/*' }, ...(c.indexingPolicy.excludedPaths ?? []).map((path) => ({ path }))],
            },
          }
        : {}),
    });
  }
}
