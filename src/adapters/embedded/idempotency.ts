// The idempotency store on the local Azure's Cosmos DB: the `idempotency` container (partition key
// /id, TTL on with no default), as on Azure — the same store, on the document port.
import { DocumentIdempotencyStore } from '../document-idempotency';
import { EmbeddedDocumentContainer } from './documents';

export class EmbeddedIdempotencyStore extends DocumentIdempotencyStore {
  constructor() {
    super(new EmbeddedDocumentContainer('idempotency'));
  }
}
