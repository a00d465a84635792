// The document-store port on @azure/cosmos: point operations with If-Match, transactional batches
// (container.items.batch), and parameterised SQL built from a QuerySpec. SDK errors become
// DocumentStoreError with Cosmos's status code, so the app sees the same failures on both hosts.
import type { Container, ItemDefinition, OperationInput, SqlParameter, SqlQuerySpec } from '@azure/cosmos';
import {
  DocumentStoreError,
  MAX_BATCH_OPERATIONS,
  type BatchOperation,
  type BatchResult,
  type Condition,
  type Document,
  type DocumentContainer,
  type QueryPage,
  type QuerySpec,
} from '../../ports/documents';

const FIELD = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const OPS = new Set(['=', '!=', '<', '<=', '>', '>=']);

/** c["data"]["sku"] from data.sku — bracket notation, so reserved words are safe. */
export function sqlPath(path: string): string {
  const parts = path.replace(/^\//, '').split(/[./]/);
  if (parts.some((p) => !FIELD.test(p))) throw new DocumentStoreError(400, `"${path}" is not a field path`);
  return `c${parts.map((p) => `["${p}"]`).join('')}`;
}

/** The SQL a QuerySpec becomes (exported for the index-policy drift test). */
export function toSql(spec: Pick<QuerySpec, 'where' | 'orderBy'>, select = '*'): SqlQuerySpec {
  const parameters: SqlParameter[] = [];
  const clauses = (spec.where ?? []).map((c: Condition) => {
    if (!OPS.has(c.op)) throw new DocumentStoreError(400, `Unsupported operator ${c.op}`);
    const name = `@p${parameters.length}`;
    parameters.push({ name, value: c.value });
    return `${sqlPath(c.path)} ${c.op} ${name}`;
  });
  let query = `SELECT ${select} FROM c`;
  if (clauses.length) query += ` WHERE ${clauses.join(' AND ')}`;
  if (spec.orderBy) query += ` ORDER BY ${sqlPath(spec.orderBy.path)} ${spec.orderBy.descending ? 'DESC' : 'ASC'}`;
  return { query, parameters };
}

function hasStatus(error: unknown): boolean {
  const e = error as { code?: unknown; statusCode?: unknown } | undefined;
  return typeof e?.code === 'number' || typeof e?.statusCode === 'number';
}

function translate(error: unknown): never {
  const e = error as { code?: number | string; statusCode?: number; message?: string };
  const code = typeof e.code === 'number' ? e.code : e.statusCode;
  if (typeof code === 'number') throw new DocumentStoreError(code, e.message || `Cosmos DB answered ${code}`);
  throw error;
}

function pathValue(doc: Document, path: string): unknown {
  return path
    .replace(/^\//, '')
    .split('/')
    .reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), doc);
}

export class CosmosDocumentContainer implements DocumentContainer {
  readonly name: string;

  constructor(
    private readonly container: Container,
    /** The container's partition key path, e.g. /streamId. */
    private readonly partitionKeyPath: string,
  ) {
    this.name = container.id;
  }

  #pk(doc: Document): string {
    const value = pathValue(doc, this.partitionKeyPath);
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new DocumentStoreError(400, `Item ${doc.id} has no partition key value at ${this.partitionKeyPath}`);
    }
    return String(value);
  }

  async read<T extends Document>(id: string, partitionKey: string): Promise<T | undefined> {
    try {
      const { resource, statusCode } = await this.container.item(id, partitionKey).read<T & ItemDefinition>();
      return statusCode === 404 ? undefined : (resource as T | undefined);
    } catch (error) {
      if ((error as { code?: number }).code === 404) return undefined;
      return translate(error);
    }
  }

  async create<T extends Document>(doc: T): Promise<T> {
    try {
      const { resource } = await this.container.items.create<T & ItemDefinition>(doc);
      return resource as unknown as T;
    } catch (error) {
      return translate(error);
    }
  }

  async upsert<T extends Document>(doc: T, options: { ifMatch?: string } = {}): Promise<T> {
    try {
      const { resource } = await this.container.items.upsert<T & ItemDefinition>(doc, options.ifMatch ? { accessCondition: { type: 'IfMatch', condition: options.ifMatch } } : undefined);
      return resource as unknown as T;
    } catch (error) {
      return translate(error);
    }
  }

  async replace<T extends Document>(doc: T, options: { ifMatch?: string } = {}): Promise<T> {
    try {
      const { resource } = await this.container
        .item(doc.id, this.#pk(doc))
        .replace<T & ItemDefinition>(doc, options.ifMatch ? { accessCondition: { type: 'IfMatch', condition: options.ifMatch } } : undefined);
      return resource as unknown as T;
    } catch (error) {
      return translate(error);
    }
  }

  async delete(id: string, partitionKey: string, options: { ifMatch?: string } = {}): Promise<void> {
    try {
      await this.container.item(id, partitionKey).delete(options.ifMatch ? { accessCondition: { type: 'IfMatch', condition: options.ifMatch } } : undefined);
    } catch (error) {
      translate(error);
    }
  }

  async batch(partitionKey: string, operations: BatchOperation[]): Promise<BatchResult> {
    if (operations.length === 0 || operations.length > MAX_BATCH_OPERATIONS) {
      throw new DocumentStoreError(400, `A transactional batch holds 1 to ${MAX_BATCH_OPERATIONS} operations, not ${operations.length}`);
    }
    // Each operation also names the partition: the service takes it from the request header, but
    // some emulators read it per operation.
    const input = operations.map((op) => ({ ...op, partitionKey }) as OperationInput);
    try {
      const response = await this.container.items.batch(input, partitionKey);
      const results = (response.result ?? []).map((r) => ({ statusCode: r.statusCode, resourceBody: r.resourceBody as Document | undefined, eTag: r.eTag }));
      const ok = results.length === operations.length && results.every((r) => r.statusCode < 400);
      return { ok, results };
    } catch (error) {
      return translate(error);
    }
  }

  async query<T extends Document>(spec: QuerySpec): Promise<QueryPage<T>> {
    try {
      // The partition key also goes into WHERE: the service scopes the query by the option, some
      // emulators only by the filter.
      const where = spec.partitionKey === undefined ? spec.where : [{ path: this.partitionKeyPath, op: '=' as const, value: spec.partitionKey }, ...(spec.where ?? [])];
      const iterator = this.container.items.query<T>(toSql({ where, orderBy: spec.orderBy }), {
        partitionKey: spec.partitionKey,
        maxItemCount: spec.limit ?? 1000,
        continuationToken: spec.continuation,
      });
      const page = await iterator.fetchNext();
      return page.continuationToken ? { items: page.resources, continuation: page.continuationToken } : { items: page.resources };
    } catch (error) {
      // The SDK parses a cross-partition query's token itself: a garbled one fails before any
      // request, with no status. The service answers 400 for one it cannot use.
      if (spec.continuation !== undefined && !hasStatus(error)) throw new DocumentStoreError(400, `Invalid continuation token: ${(error as Error).message}`);
      return translate(error);
    }
  }

  async distinct(path: string, where: Condition[] = []): Promise<(string | number)[]> {
    try {
      const values = new Set<string | number>();
      const iterator = this.container.items.query<string | number>(toSql({ where }, `DISTINCT VALUE ${sqlPath(path)}`), { maxItemCount: 1000 });
      while (iterator.hasMoreResults()) for (const v of (await iterator.fetchNext()).resources ?? []) if (v !== undefined && v !== null) values.add(v);
      return [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    } catch (error) {
      return translate(error);
    }
  }
}
