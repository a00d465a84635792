// Chooses the document store from configuration: CosmosConnection=UseEmbeddedHost=true keeps the
// containers in the embedded host's SQLite file; an identity-based connection
// (CosmosConnection__accountEndpoint) or an emulator connection string uses Cosmos DB. Container
// names and partition keys come from config/cosmos.yaml, the same file the Bicep is checked against.
import { join } from 'node:path';
import { loadCosmosDefinition, type CosmosDefinition } from '@backbone/azure-model/cosmos';
import type { DocumentContainer } from '../ports/documents';
import { configDir } from '../shared/app-paths';
import { azureCosmos } from './cosmos-clients';
import { COSMOS_CONNECTION } from './idempotency';
import { EMBEDDED_CONNECTION } from './messaging';

let definition: CosmosDefinition | undefined;

export function cosmosDefinition(): CosmosDefinition {
  definition ??= loadCosmosDefinition(join(configDir(), 'cosmos.yaml'));
  return definition;
}

export function usesEmbeddedDocuments(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[COSMOS_CONNECTION]?.trim() === EMBEDDED_CONNECTION;
}

export function createDocumentContainer(name: string, env: NodeJS.ProcessEnv = process.env): DocumentContainer {
  const declared = cosmosDefinition().cosmos.containers.find((c) => c.name === name);
  if (!declared) throw new Error(`Container '${name}' is not declared in config/cosmos.yaml`);
  if (usesEmbeddedDocuments(env)) {
    const { EmbeddedDocumentContainer } = require('./embedded/documents') as typeof import('./embedded/documents');
    return new EmbeddedDocumentContainer(name);
  }
  const { CosmosDocumentContainer } = require('./azure/cosmos-documents') as typeof import('./azure/cosmos-documents');
  return new CosmosDocumentContainer(azureCosmos().cosmosContainer(COSMOS_CONNECTION, name, env), declared.partitionKey);
}
