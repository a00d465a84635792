// The embedded Cosmos DB: containers with a partition key, items unique by id within a logical
// partition, an ETag per write for If-Match, all-or-nothing transactional batches within a
// partition, per-item TTL, and a change feed — every write gets the container's next logical
// sequence number (_lsn), read back in order by the change feed listener. Latest-version
// semantics, as Cosmos's default change feed: a deleted item leaves no change behind. Writes go
// through GroupCommit, so a write resolves once it is on disk.
import { randomUUID } from 'node:crypto';
import type { Statement } from 'better-sqlite3';
import type { ContainerDefinition } from '@backbone/azure-model/cosmos';
import {
  DocumentStoreError,
  MAX_BATCH_OPERATIONS,
  MAX_ITEM_BYTES,
  type BatchOperation,
  type BatchOperationResult,
  type BatchResult,
  type Condition,
  type Document,
  type DocumentContainer,
  type QueryPage,
  type QuerySpec,
} from '@backbone/azure-model/documents';
import type { Clock } from '../clock';
import { migrate, type Db, type GroupCommit } from '../sqlite';
import type { UsageMeter } from '../usage';

const SCHEMA = [
  `CREATE TABLE doc_items (
     container TEXT NOT NULL, pk TEXT NOT NULL, id TEXT NOT NULL,
     body TEXT NOT NULL, etag TEXT NOT NULL, ts INTEGER NOT NULL, lsn INTEGER NOT NULL, expires_at INTEGER,
     PRIMARY KEY (container, pk, id)) WITHOUT ROWID;
   CREATE INDEX doc_items_lsn ON doc_items(container, lsn);
   CREATE INDEX doc_items_expiry ON doc_items(container, expires_at) WHERE expires_at IS NOT NULL;
   CREATE TABLE doc_lsn (container TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;`,
  // Containers created at run time (the Cosmos DB REST API), so they are there on the next start.
  `CREATE TABLE doc_containers (name TEXT PRIMARY KEY, definition TEXT NOT NULL) WITHOUT ROWID;`,
];

interface Row {
  pk: string;
  id: string;
  body: string;
  etag: string;
  ts: number;
  lsn: number;
  expires_at: number | null;
}

/**
 * Cosmos DB's "None" partition (items without the key's field) and null's, for containers that
 * take them: those created over the REST API, where Cosmos DB allows both. The app's own
 * containers refuse such items, as its Cosmos adapter does.
 */
export const NONE_PARTITION = '\u0000none';
export const NULL_PARTITION = '\u0000null';

export interface StoreContainerDefinition extends ContainerDefinition {
  noneAndNullPartitions?: boolean;
  /** The unique key policy: each key a list of paths whose values together are unique within a logical partition. */
  uniqueKeys?: string[][];
}

export interface ChangeFeedItem {
  lsn: number;
  document: Document;
}

/** The value at a JSON path ($.a.b) of a document, undefined when missing. */
function valueAt(doc: unknown, path: string): unknown {
  return path
    .slice(2)
    .split('.')
    .reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), doc);
}

/** A JSON path for SQLite from a field path (version, data.sku). */
function jsonPath(path: string): string {
  const clean = path.replace(/^\//, '').replaceAll('/', '.');
  if (!/^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*$/.test(clean)) throw new DocumentStoreError(400, `"${path}" is not a field path`);
  return `$.${clean}`;
}

const OPS = new Set(['=', '!=', '<', '<=', '>', '>=']);

/** What Cosmos DB adds to every item it stores (_rid, _self, _etag, _attachments, _ts), roughly. */
export const SYSTEM_PROPERTY_BYTES = 150;

const SYSTEM_PROPERTIES = ['_etag', '_ts', '_lsn', '_rid', '_self', '_attachments'] as const;

export class EmbeddedContainer implements DocumentContainer {
  readonly name: string;
  readonly definition: StoreContainerDefinition;
  readonly #pkPath: string;
  readonly #ttlEnabled: boolean;
  readonly #defaultTtl: number | undefined;
  readonly #stmt;
  /** Per unique key: its JSON paths and the statement that finds another live item in the partition with the same values. */
  readonly #uniqueKeys: { paths: string[]; clash: Statement }[];
  #lastWriteBytes = 0;

  constructor(
    private readonly store: EmbeddedDocumentStore,
    definition: StoreContainerDefinition,
    private readonly db: Db,
    private readonly commit: GroupCommit,
    private readonly clock: Clock,
  ) {
    this.name = definition.name;
    this.definition = definition;
    this.#pkPath = jsonPath(definition.partitionKey);
    this.#ttlEnabled = definition.defaultTtl !== undefined;
    this.#defaultTtl = definition.defaultTtl !== undefined && definition.defaultTtl > 0 ? definition.defaultTtl : undefined;
    const c = this.name;
    this.#stmt = {
      get: db.prepare(`SELECT * FROM doc_items WHERE container = '${c}' AND pk = ? AND id = ?`),
      put: db.prepare(
        `INSERT INTO doc_items (container, pk, id, body, etag, ts, lsn, expires_at) VALUES ('${c}', ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(container, pk, id) DO UPDATE SET body = excluded.body, etag = excluded.etag, ts = excluded.ts,
           lsn = excluded.lsn, expires_at = excluded.expires_at`,
      ),
      del: db.prepare(`DELETE FROM doc_items WHERE container = '${c}' AND pk = ? AND id = ?`),
      nextLsn: db.prepare(`INSERT INTO doc_lsn (container, value) VALUES ('${c}', 1) ON CONFLICT(container) DO UPDATE SET value = value + 1 RETURNING value`).pluck(),
      feed: db.prepare(`SELECT * FROM doc_items WHERE container = '${c}' AND lsn > ? AND (expires_at IS NULL OR expires_at > ?) ORDER BY lsn LIMIT ?`),
      latestLsn: db.prepare(`SELECT value FROM doc_lsn WHERE container = '${c}'`).pluck(),
      lsnAtTime: db.prepare(`SELECT MIN(lsn) FROM doc_items WHERE container = '${c}' AND ts >= ?`).pluck(),
      sweep: db.prepare(`DELETE FROM doc_items WHERE container = '${c}' AND expires_at IS NOT NULL AND expires_at <= ?`),
    };
    // A missing value counts as null, which takes part in the constraint ("sparse unique keys are not
    // supported": learn.microsoft.com/azure/cosmos-db/unique-keys); values compare as their JSON text.
    this.#uniqueKeys = (definition.uniqueKeys ?? []).map((key) => {
      const paths = key.map(jsonPath);
      const same = paths.map((p) => `COALESCE(body -> '${p}', 'null') = ?`).join(' AND ');
      return {
        paths,
        clash: db.prepare(`SELECT 1 FROM doc_items WHERE container = '${c}' AND pk = ? AND id != ? AND (expires_at IS NULL OR expires_at > ?) AND ${same} LIMIT 1`),
      };
    });
  }

  /** Cosmos DB's answer to a write that would give two items of a partition the same unique key values. */
  #checkUniqueKeys(pk: string, doc: Record<string, unknown>, now: number): void {
    for (const key of this.#uniqueKeys) {
      const values = key.paths.map((p) => JSON.stringify(valueAt(doc, p)) ?? 'null');
      if (key.clash.get(pk, doc.id, now, ...values)) throw new DocumentStoreError(409, 'Unique index constraint violation.');
    }
  }

  /** Counts a request (or an operation of a batch) with the sizes of the items it touched. */
  #count(operation: string, sizes: readonly number[]): void {
    this.store.usage?.call(
      'cosmos',
      this.name,
      operation,
      sizes.map((s) => s + SYSTEM_PROPERTY_BYTES),
    );
  }

  partitionKeyOf(doc: Document): string {
    const value = valueAt(doc, this.#pkPath);
    if (this.definition.noneAndNullPartitions && (value === undefined || value === null)) return value === null ? NULL_PARTITION : NONE_PARTITION;
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new DocumentStoreError(400, `Item ${doc.id} has no partition key value at ${this.#pkPath.slice(2)}`);
    }
    return String(value);
  }

  #live(row: Row | undefined, now: number): Row | undefined {
    return row && (row.expires_at === null || row.expires_at > now) ? row : undefined;
  }

  #toDocument(row: Row): Document {
    return {
      ...(JSON.parse(row.body) as Document),
      _rid: `${this.name}:${row.pk}:${row.id}`,
      _self: `dbs/embedded/colls/${this.name}/docs/${row.id}`,
      _etag: row.etag,
      _attachments: 'attachments/',
      _ts: row.ts,
      _lsn: row.lsn,
    };
  }

  /** Writes one item inside the current transaction; returns the stored document. */
  #write(pk: string, doc: Document, now: number): Document {
    if (typeof doc.id !== 'string' || doc.id === '' || /[/\\?#]/.test(doc.id) || doc.id.length > 255) {
      throw new DocumentStoreError(400, `"${String(doc.id)}" is not a valid id (1–255 characters, none of / \\ ? #)`);
    }
    // The system properties are the store's to set, whatever the caller sent.
    const body: Record<string, unknown> = { ...doc };
    for (const key of SYSTEM_PROPERTIES) delete body[key];
    const text = JSON.stringify(body);
    this.#lastWriteBytes = Buffer.byteLength(text);
    if (this.#lastWriteBytes > MAX_ITEM_BYTES) throw new DocumentStoreError(413, `Item ${doc.id} is larger than 2 MB`);
    this.#checkUniqueKeys(pk, body, now);
    let expires: number | null = null;
    if (this.#ttlEnabled) {
      const ttl = typeof body.ttl === 'number' ? body.ttl : this.#defaultTtl;
      if (ttl !== undefined && ttl > 0) expires = now + ttl * 1000;
    }
    const etag = `"${randomUUID()}"`;
    const ts = Math.floor(now / 1000);
    const lsn = this.#stmt.nextLsn.get() as number;
    this.#stmt.put.run(pk, doc.id, text, etag, ts, lsn, expires);
    this.store.markChanged(this.name);
    return this.#toDocument({ pk, id: doc.id, body: text, etag, ts, lsn, expires_at: expires });
  }

  /** Applies one operation inside the current transaction, throwing DocumentStoreError on failure. */
  #apply(pk: string, op: BatchOperation, now: number): BatchOperationResult {
    const current = (id: string) => this.#live(this.#stmt.get.get(pk, id) as Row | undefined, now);
    const ifMatch = (row: Row | undefined, etag: string | undefined) => {
      if (etag !== undefined && row?.etag !== etag) throw new DocumentStoreError(412, `The ETag does not match (${row ? 'changed since' : 'the item is gone'})`);
    };
    const checkPk = (doc: Document) => {
      if (this.partitionKeyOf(doc) !== pk) throw new DocumentStoreError(400, `Item ${doc.id} is not in partition ${pk}`);
    };
    switch (op.operationType) {
      case 'Create': {
        checkPk(op.resourceBody);
        if (current(op.resourceBody.id)) throw new DocumentStoreError(409, `An item with id ${op.resourceBody.id} exists in partition ${pk}`);
        const doc = this.#write(pk, op.resourceBody, now);
        this.#count('insert', [this.#lastWriteBytes]);
        return { statusCode: 201, resourceBody: doc, eTag: doc._etag };
      }
      case 'Upsert': {
        checkPk(op.resourceBody);
        const existing = current(op.resourceBody.id);
        ifMatch(existing, op.ifMatch);
        const doc = this.#write(pk, op.resourceBody, now);
        this.#count(existing ? 'replace' : 'insert', [this.#lastWriteBytes]);
        return { statusCode: existing ? 200 : 201, resourceBody: doc, eTag: doc._etag };
      }
      case 'Replace': {
        checkPk(op.resourceBody);
        const existing = current(op.id);
        if (!existing) throw new DocumentStoreError(404, `No item ${op.id} in partition ${pk}`);
        ifMatch(existing, op.ifMatch);
        const doc = this.#write(pk, { ...op.resourceBody, id: op.id }, now);
        this.#count('replace', [this.#lastWriteBytes]);
        return { statusCode: 200, resourceBody: doc, eTag: doc._etag };
      }
      case 'Delete': {
        const existing = current(op.id);
        if (!existing) throw new DocumentStoreError(404, `No item ${op.id} in partition ${pk}`);
        ifMatch(existing, op.ifMatch);
        this.#stmt.del.run(pk, op.id);
        this.#count('delete', [Buffer.byteLength(existing.body)]);
        return { statusCode: 204 };
      }
      case 'Read': {
        const existing = current(op.id);
        if (!existing) throw new DocumentStoreError(404, `No item ${op.id} in partition ${pk}`);
        const doc = this.#toDocument(existing);
        this.#count('read', [Buffer.byteLength(existing.body)]);
        return { statusCode: 200, resourceBody: doc, eTag: doc._etag };
      }
    }
  }

  async read<T extends Document>(id: string, partitionKey: string): Promise<T | undefined> {
    const row = this.#live(this.#stmt.get.get(partitionKey, id) as Row | undefined, this.clock.now());
    this.#count('read', [row ? Buffer.byteLength(row.body) : 0]);
    return row ? (this.#toDocument(row) as T) : undefined;
  }

  async create<T extends Document>(doc: T): Promise<T> {
    const pk = this.partitionKeyOf(doc);
    return this.commit.run(() => this.#apply(pk, { operationType: 'Create', resourceBody: doc }, this.clock.now()).resourceBody as T);
  }

  async upsert<T extends Document>(doc: T, options: { ifMatch?: string } = {}): Promise<T> {
    const pk = this.partitionKeyOf(doc);
    return this.commit.run(() => this.#apply(pk, { operationType: 'Upsert', resourceBody: doc, ifMatch: options.ifMatch }, this.clock.now()).resourceBody as T);
  }

  async replace<T extends Document>(doc: T, options: { ifMatch?: string } = {}): Promise<T> {
    const pk = this.partitionKeyOf(doc);
    return this.commit.run(() => this.#apply(pk, { operationType: 'Replace', id: doc.id, resourceBody: doc, ifMatch: options.ifMatch }, this.clock.now()).resourceBody as T);
  }

  async delete(id: string, partitionKey: string, options: { ifMatch?: string } = {}): Promise<void> {
    await this.commit.run(() => this.#apply(partitionKey, { operationType: 'Delete', id, ifMatch: options.ifMatch }, this.clock.now()));
  }

  async batch(partitionKey: string, operations: BatchOperation[]): Promise<BatchResult> {
    if (operations.length === 0 || operations.length > MAX_BATCH_OPERATIONS) {
      throw new DocumentStoreError(400, `A transactional batch holds 1 to ${MAX_BATCH_OPERATIONS} operations, not ${operations.length}`);
    }
    // The request; each operation in it is counted as its kind (a batch costs what its operations do).
    this.#count('batch', []);
    const failed: { index: number; error: DocumentStoreError }[] = [];
    const outcome = await this.commit.run(() => {
      const now = this.clock.now();
      const results: BatchOperationResult[] = [];
      // One savepoint for the whole batch: a failing operation undoes those before it.
      try {
        this.db.transaction(() => {
          operations.forEach((op, index) => {
            try {
              results.push(this.#apply(partitionKey, op, now));
            } catch (error) {
              if (error instanceof DocumentStoreError) failed.push({ index, error });
              throw error;
            }
          });
        })();
      } catch (error) {
        if (!(error instanceof DocumentStoreError)) throw error;
      }
      return results;
    });
    if (failed.length === 0) return { ok: true, results: outcome };
    const { index, error } = failed[0]!;
    return { ok: false, results: operations.map((_, i) => ({ statusCode: i === index ? error.code : 424 })) };
  }

  async query<T extends Document>(spec: QuerySpec): Promise<QueryPage<T>> {
    const where: string[] = [`container = ?`, `(expires_at IS NULL OR expires_at > ?)`];
    const params: unknown[] = [this.name, this.clock.now()];
    if (spec.partitionKey !== undefined) {
      where.push('pk = ?');
      params.push(spec.partitionKey);
    }
    for (const c of spec.where ?? []) where.push(this.#condition(c, params));
    let order = 'ORDER BY pk, id';
    if (spec.orderBy) order = `ORDER BY json_extract(body, '${jsonPath(spec.orderBy.path)}') ${spec.orderBy.descending ? 'DESC' : 'ASC'}, pk, id`;
    const offset = spec.continuation === undefined ? 0 : continuationOffset(spec.continuation);
    const limit = spec.limit ?? 1000;
    const rows = this.db.prepare(`SELECT * FROM doc_items WHERE ${where.join(' AND ')} ${order} LIMIT ? OFFSET ?`).all(...params, limit + 1, offset) as Row[];
    const page = rows.slice(0, limit).map((r) => this.#toDocument(r) as T);
    this.#count(
      'query',
      rows.slice(0, limit).map((r) => Buffer.byteLength(r.body)),
    );
    return rows.length > limit ? { items: page, continuation: Buffer.from(JSON.stringify({ offset: offset + limit })).toString('base64url') } : { items: page };
  }

  #condition(c: Condition, params: unknown[]): string {
    if (!OPS.has(c.op)) throw new DocumentStoreError(400, `Unsupported operator ${c.op}`);
    params.push(typeof c.value === 'boolean' ? (c.value ? 1 : 0) : c.value);
    return `json_extract(body, '${jsonPath(c.path)}') ${c.op === '!=' ? 'IS NOT' : c.op} ?`;
  }

  async distinct(path: string, where: Condition[] = []): Promise<(string | number)[]> {
    this.#count('query', []);
    const params: unknown[] = [this.name, this.clock.now()];
    const clauses = [`container = ?`, `(expires_at IS NULL OR expires_at > ?)`, ...where.map((c) => this.#condition(c, params))];
    return this.db
      .prepare(`SELECT DISTINCT json_extract(body, '${jsonPath(path)}') AS v FROM doc_items WHERE ${clauses.join(' AND ')} AND v IS NOT NULL ORDER BY v`)
      .pluck()
      .all(...params) as (string | number)[];
  }

  /** Changes after an LSN, in LSN order: the latest version of every item written since. */
  readChangeFeed(afterLsn: number, maxItems: number): ChangeFeedItem[] {
    const rows = this.#stmt.feed.all(afterLsn, this.clock.now(), maxItems) as Row[];
    this.#count(
      rows.length ? 'changeFeed' : 'changeFeed (empty)',
      rows.map((r) => Buffer.byteLength(r.body)),
    );
    return rows.map((r) => ({ lsn: r.lsn, document: this.#toDocument(r) }));
  }

  /** The LSN of the latest write (0 for a container never written to): "now" for a change feed. */
  latestLsn(): number {
    return (this.#stmt.latestLsn.get() as number | undefined) ?? 0;
  }

  /** The position just before the first change at or after a time (startFromTime). */
  lsnBefore(time: number): number {
    const first = this.#stmt.lsnAtTime.get(Math.floor(time / 1000)) as number | null;
    return first === null ? this.latestLsn() : first - 1;
  }

  sweepExpired(): void {
    this.#stmt.sweep.run(this.clock.now());
  }
}

export class EmbeddedDocumentStore {
  readonly #containers = new Map<string, EmbeddedContainer>();
  readonly #listeners = new Map<string, Set<() => void>>();
  #changed = new Set<string>();

  #databaseName: string;

  constructor(
    databaseName: string,
    containers: ContainerDefinition[],
    private readonly db: Db,
    private readonly commit: GroupCommit,
    private readonly clock: Clock,
    readonly usage?: UsageMeter,
  ) {
    this.#databaseName = databaseName;
    migrate(db, 'docstore', SCHEMA);
    for (const definition of containers) this.addContainer(definition);
    for (const row of db.prepare('SELECT definition FROM doc_containers').pluck().all() as string[]) this.addContainer(JSON.parse(row) as StoreContainerDefinition);
  }

  get databaseName(): string {
    return this.#databaseName;
  }

  /** Names the store's one database after the one an app's bindings name (an app with no config/cosmos.yaml). */
  useDatabase(name: string): void {
    this.#databaseName = name;
  }

  /** A container, created with this definition if the store has none of that name (a container's items stay in SQLite between runs). */
  addContainer(definition: StoreContainerDefinition): EmbeddedContainer {
    let c = this.#containers.get(definition.name);
    if (!c) this.#containers.set(definition.name, (c = new EmbeddedContainer(this, definition, this.db, this.commit, this.clock)));
    return c;
  }

  /** Creates a container that outlives the process (the REST API's); 409 if one of that name exists. */
  async createContainer(definition: StoreContainerDefinition): Promise<EmbeddedContainer> {
    if (this.#containers.has(definition.name)) throw new DocumentStoreError(409, `Container '${definition.name}' exists`);
    // Checked here: the container's name goes into its SQL statements.
    if (!/^[A-Za-z0-9][A-Za-z0-9_:=.-]{0,254}$/.test(definition.name)) throw new DocumentStoreError(400, `"${definition.name}" is not a container name the store takes`);
    // In the map at once, so a second create of the same name is a 409 rather than a failed insert.
    const container = this.addContainer(definition);
    try {
      await this.commit.run(() => this.db.prepare('INSERT INTO doc_containers (name, definition) VALUES (?, ?)').run(definition.name, JSON.stringify(definition)));
    } catch (error) {
      this.#containers.delete(definition.name);
      throw error;
    }
    return container;
  }

  /** Deletes a container and its items (and its change feed position) for good. */
  async deleteContainer(name: string): Promise<void> {
    this.container(name);
    await this.commit.run(() => {
      for (const table of ['doc_items', 'doc_lsn']) this.db.prepare(`DELETE FROM ${table} WHERE container = ?`).run(name);
      this.db.prepare('DELETE FROM doc_containers WHERE name = ?').run(name);
    });
    this.#containers.delete(name);
  }

  container(name: string): EmbeddedContainer {
    const c = this.#containers.get(name);
    if (!c) throw new DocumentStoreError(404, `No container '${name}' in database ${this.databaseName} (config/cosmos.yaml)`);
    return c;
  }

  has(name: string): boolean {
    return this.#containers.has(name);
  }

  get containers(): EmbeddedContainer[] {
    return [...this.#containers.values()];
  }

  /**
   * Called inside a write; listeners hear of it once the transaction has committed. A write that
   * was rolled back may still wake a listener — harmless, it finds nothing new.
   */
  markChanged(container: string): void {
    this.#changed.add(container);
    this.commit.afterCommit(() => this.#flushChanged());
  }

  #flushChanged(): void {
    const changed = this.#changed;
    this.#changed = new Set();
    for (const name of changed) for (const wake of this.#listeners.get(name) ?? []) wake();
  }

  onChange(container: string, listener: () => void): () => void {
    let set = this.#listeners.get(container);
    if (!set) this.#listeners.set(container, (set = new Set()));
    set.add(listener);
    return () => set!.delete(listener);
  }
}

/** The offset a continuation token of ours holds; anything else is Cosmos DB's 400 (invalid token). */
function continuationOffset(token: string): number {
  let offset: unknown;
  try {
    offset = (JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { offset?: unknown } | null)?.offset;
  } catch {
    offset = undefined;
  }
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) throw new DocumentStoreError(400, 'Invalid continuation token');
  return offset;
}
