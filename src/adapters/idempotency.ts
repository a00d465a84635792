// Chooses the idempotency store from configuration: CosmosConnection=UseEmbeddedHost=true keeps
// it in the local Azure's `idempotency` container; an identity-based Cosmos connection uses Cosmos DB.
import type { IdempotencyStore } from '../ports/idempotency';
import { azureCosmos } from './cosmos-clients';
import { EMBEDDED_CONNECTION } from './messaging';

export const COSMOS_CONNECTION = 'CosmosConnection';
export const IDEMPOTENCY_CONTAINER = 'idempotency';

export function createIdempotencyStore(env: NodeJS.ProcessEnv = process.env): IdempotencyStore {
  if (env[COSMOS_CONNECTION]?.trim() === EMBEDDED_CONNECTION) {
    const { EmbeddedIdempotencyStore } = require('./embedded/idempotency') as typeof import('./embedded/idempotency');
    return new EmbeddedIdempotencyStore();
  }
  const { CosmosDocumentContainer } = require('./azure/cosmos-documents') as typeof import('./azure/cosmos-documents');
  const { DocumentIdempotencyStore } = require('./document-idempotency') as typeof import('./document-idempotency');
  return new DocumentIdempotencyStore(new CosmosDocumentContainer(azureCosmos().cosmosContainer(COSMOS_CONNECTION, IDEMPOTENCY_CONTAINER, env), '/id'));
}
