// A Cosmos DB container as both sides of this repository use it — point reads and writes with
// optimistic concurrency (ETag / If-Match), transactional batches within one partition, simple
// queries. The app's document port is this interface (implemented on @azure/cosmos and on the
// local Azure's document store); the local Azure's containers implement it. Status codes are
// Cosmos DB's.

export interface Document {
  id: string;
  _etag?: string;
  _ts?: number;
  _lsn?: number;
  [field: string]: unknown;
}

export type BatchOperation =
  | { operationType: 'Create'; resourceBody: Document }
  | { operationType: 'Upsert'; resourceBody: Document; ifMatch?: string }
  | { operationType: 'Replace'; id: string; resourceBody: Document; ifMatch?: string }
  | { operationType: 'Delete'; id: string; ifMatch?: string }
  | { operationType: 'Read'; id: string };

export interface BatchOperationResult {
  /** 200/201/204 on success; 404, 409, 412 for the operation that failed; 424 for the others. */
  statusCode: number;
  resourceBody?: Document;
  eTag?: string;
}

export interface BatchResult {
  /** All or nothing: false means no operation took effect. */
  ok: boolean;
  results: BatchOperationResult[];
}

export interface Condition {
  /** A field path such as version, data.sku or kind. */
  path: string;
  op: '=' | '!=' | '<' | '<=' | '>' | '>=';
  value: string | number | boolean;
}

export interface QuerySpec {
  /** Query one logical partition (cheap); without it the query spans partitions. */
  partitionKey?: string;
  where?: Condition[];
  orderBy?: { path: string; descending?: boolean };
  /** Page size. */
  limit?: number;
  /** Opaque token from the previous page. */
  continuation?: string;
}

export interface QueryPage<T> {
  items: T[];
  continuation?: string;
}

export interface DocumentContainer {
  readonly name: string;
  read<T extends Document>(id: string, partitionKey: string): Promise<T | undefined>;
  /** 409 if an item with this id exists in the partition. */
  create<T extends Document>(doc: T): Promise<T>;
  upsert<T extends Document>(doc: T, options?: { ifMatch?: string }): Promise<T>;
  /** 404 if missing, 412 if ifMatch does not match the current ETag. */
  replace<T extends Document>(doc: T, options?: { ifMatch?: string }): Promise<T>;
  delete(id: string, partitionKey: string, options?: { ifMatch?: string }): Promise<void>;
  /** Up to 100 operations on one partition, all or nothing. */
  batch(partitionKey: string, operations: BatchOperation[]): Promise<BatchResult>;
  query<T extends Document>(spec: QuerySpec): Promise<QueryPage<T>>;
  /** Every distinct value of a field (e.g. the stream ids), for replays. */
  distinct(path: string, where?: Condition[]): Promise<(string | number)[]>;
}

/** A failed document operation; `code` is the HTTP status Cosmos DB answers. */
export class DocumentStoreError extends Error {
  override name = 'DocumentStoreError';
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export const MAX_BATCH_OPERATIONS = 100;
export const MAX_ITEM_BYTES = 2 * 1024 * 1024;
