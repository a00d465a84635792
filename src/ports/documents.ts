// The document port: a Cosmos DB container as the app uses it. Its vocabulary (items, queries,
// batches, the container operations, DocumentStoreError) is Cosmos DB's, shared with the local
// Azure through @backbone/azure-model; what is the app's own is here.
import { DocumentStoreError, type Document, type DocumentContainer, type QueryPage, type QuerySpec } from '@backbone/azure-model/documents';
import { ValidationError } from '../shared/errors';

export * from '@backbone/azure-model/documents';

/**
 * One page of a query whose continuation token came from a caller (a query string). A token the
 * store cannot use — not one it issued, garbled, from another query — is the caller's mistake:
 * a ValidationError naming the parameter (400), never the store's error passed up as a 500.
 */
export async function queryWithCallerToken<T extends Document>(container: DocumentContainer, spec: QuerySpec, parameter = 'continuation'): Promise<QueryPage<T>> {
  try {
    return await container.query<T>(spec);
  } catch (error) {
    if (spec.continuation !== undefined && error instanceof DocumentStoreError && error.code === 400) {
      throw new ValidationError('The continuation token is not valid for this query: pass back the token a previous page returned, unchanged', parameter);
    }
    throw error;
  }
}
