// Databases and containers as the REST API shows them, over the embedded document store. The
// store knows containers by name only; this catalog gives each a database, a rid and the
// definition a client sent (indexing policy, unique keys, TTL — kept and returned; the store
// enforces the partition key and TTL, not the indexing policy nor unique keys). The store's own
// database (config/cosmos.yaml or the bindings) is always there, with its containers under their
// own names, so the app's functions and an SDK client see the same items. Containers of other
// databases get a store name made of their rid.
import { randomUUID } from 'node:crypto';
import type { EmbeddedContainer, EmbeddedDocumentStore, StoreContainerDefinition } from '../docstore/store';
import { migrate, type Db } from '../sqlite';
import { CosmosError } from './errors';
import { looksLikeRid, newCollectionRid, newDatabaseRid } from './rids';

const SCHEMA = [
  `CREATE TABLE cosmos_databases (id TEXT PRIMARY KEY, rid TEXT NOT NULL UNIQUE, ts INTEGER NOT NULL, etag TEXT NOT NULL);
   CREATE TABLE cosmos_containers (db TEXT NOT NULL, id TEXT NOT NULL, rid TEXT NOT NULL UNIQUE, store_name TEXT NOT NULL UNIQUE,
     body TEXT NOT NULL, ts INTEGER NOT NULL, etag TEXT NOT NULL, PRIMARY KEY (db, id));`,
];

export type Json = Record<string, unknown>;

export interface DatabaseRecord {
  id: string;
  rid: string;
  ts: number;
  etag: string;
}

export interface ContainerRecord {
  db: DatabaseRecord;
  id: string;
  rid: string;
  storeName: string;
  /** The definition as the client sent it, with the service's defaults filled in. */
  body: Json;
  ts: number;
  etag: string;
  partitionKeyPath: string;
}

/** The store's own naming rule for containers it takes from config/cosmos.yaml. */
const PLAIN_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$/;

const newEtag = () => `"${randomUUID()}"`;

export function validateId(id: unknown, what: string): string {
  if (typeof id !== 'string' || id === '' || id.length > 255 || /[/\\?#]/.test(id) || id.endsWith(' ')) {
    throw new CosmosError(400, `The ${what} id "${String(id)}" is invalid: 1 to 255 characters, none of / \\ ? #, not ending with a space.`);
  }
  return id;
}

export function databaseResource(d: DatabaseRecord): Json {
  return { id: d.id, _rid: d.rid, _self: `dbs/${d.rid}/`, _etag: d.etag, _colls: 'colls/', _users: 'users/', _ts: d.ts };
}

export function containerResource(c: ContainerRecord): Json {
  return {
    ...c.body,
    _rid: c.rid,
    _ts: c.ts,
    _self: `dbs/${c.db.rid}/colls/${c.rid}/`,
    _etag: c.etag,
    _docs: 'docs/',
    _sprocs: 'sprocs/',
    _triggers: 'triggers/',
    _udfs: 'udfs/',
    _conflicts: 'conflicts/',
  };
}

/** A container definition as the service echoes it: what was sent, with its defaults. */
function normalizeContainerBody(body: Json): { body: Json; partitionKeyPath: string } {
  const id = validateId(body.id, 'container');
  const pk = (body.partitionKey ?? { paths: ['/_partitionKey'] }) as { paths?: unknown; kind?: unknown; version?: unknown };
  if (!Array.isArray(pk.paths) || pk.paths.length === 0 || pk.paths.some((p) => typeof p !== 'string')) throw new CosmosError(400, 'partitionKey.paths must list the partition key path');
  if (pk.paths.length > 1 || pk.kind === 'MultiHash') throw new CosmosError(400, 'Hierarchical partition keys (more than one path) are not supported by the embedded document store.');
  const path = pk.paths[0] as string;
  if (!/^(\/[A-Za-z_$][A-Za-z0-9_$]*)+$/.test(path)) throw new CosmosError(400, `The partition key path "${path}" is not supported by the embedded document store (plain field names only).`);
  if (body.defaultTtl !== undefined && (!Number.isInteger(body.defaultTtl) || (body.defaultTtl as number) < -1 || body.defaultTtl === 0)) {
    throw new CosmosError(400, 'defaultTtl must be -1 or a positive number of seconds');
  }
  // System properties (a read container sent back to replace it) are the catalog's to set.
  const sent = Object.fromEntries(Object.entries(body).filter(([k]) => !k.startsWith('_')));
  const normalized: Json = {
    ...sent,
    id,
    indexingPolicy: body.indexingPolicy ?? { indexingMode: 'consistent', automatic: true, includedPaths: [{ path: '/*' }], excludedPaths: [{ path: '/"_etag"/?' }] },
    partitionKey: { paths: [path], kind: 'Hash', version: typeof pk.version === 'number' ? pk.version : 2 },
    uniqueKeyPolicy: body.uniqueKeyPolicy ?? { uniqueKeys: [] },
    conflictResolutionPolicy: body.conflictResolutionPolicy ?? { mode: 'LastWriterWins', conflictResolutionPath: '/_ts', conflictResolutionProcedure: '' },
    geospatialConfig: body.geospatialConfig ?? { type: 'Geography' },
  };
  return { body: normalized, partitionKeyPath: path };
}

/** The REST shape of a container the store had from config/cosmos.yaml or the bindings. */
function bodyFromDefinition(d: StoreContainerDefinition): Json {
  const body: Json = { id: d.name, partitionKey: { paths: [d.partitionKey], kind: 'Hash', version: 2 } };
  if (d.defaultTtl !== undefined) body.defaultTtl = d.defaultTtl;
  if (d.indexingPolicy?.includedPaths) {
    body.indexingPolicy = {
      indexingMode: 'consistent',
      automatic: true,
      includedPaths: d.indexingPolicy.includedPaths.map((path) => ({ path })),
      excludedPaths: [{ path: '/*' }, ...(d.indexingPolicy.excludedPaths ?? []).map((path) => ({ path }))],
    };
  }
  if (d.uniqueKeys?.length) body.uniqueKeyPolicy = { uniqueKeys: d.uniqueKeys.map((paths) => ({ paths })) };
  return normalizeContainerBody(body).body;
}

function definitionFromBody(storeName: string, body: Json, partitionKeyPath: string): StoreContainerDefinition {
  const definition: StoreContainerDefinition = { name: storeName, partitionKey: partitionKeyPath, noneAndNullPartitions: true };
  if (typeof body.defaultTtl === 'number') definition.defaultTtl = body.defaultTtl;
  const policy = body.indexingPolicy as { includedPaths?: { path?: unknown }[]; excludedPaths?: { path?: unknown }[] } | undefined;
  const paths = (list: { path?: unknown }[] | undefined) => (list ?? []).map((p) => p.path).filter((p): p is string => typeof p === 'string');
  definition.indexingPolicy = { includedPaths: paths(policy?.includedPaths), excludedPaths: paths(policy?.excludedPaths) };
  const uniqueKeys = uniqueKeysOf(body.uniqueKeyPolicy);
  if (uniqueKeys.length > 0) definition.uniqueKeys = uniqueKeys;
  return definition;
}

/** The unique key policy's keys as lists of paths; a malformed policy is the caller's 400. */
function uniqueKeysOf(policy: unknown): string[][] {
  if (policy === undefined || policy === null) return [];
  const keys = (policy as { uniqueKeys?: unknown }).uniqueKeys;
  if (typeof policy !== 'object' || (keys !== undefined && !Array.isArray(keys))) throw new CosmosError(400, 'The unique key policy must be an object with a uniqueKeys array.');
  return ((keys ?? []) as unknown[]).map((key) => {
    const paths = (key as { paths?: unknown } | null)?.paths;
    if (!Array.isArray(paths) || paths.length === 0 || !paths.every((p) => typeof p === 'string' && p.startsWith('/'))) {
      throw new CosmosError(400, 'Each unique key must have a paths array of one or more paths such as "/email".');
    }
    return paths as string[];
  });
}

interface ContainerRow {
  db: string;
  id: string;
  rid: string;
  store_name: string;
  body: string;
  ts: number;
  etag: string;
}

export class Catalog {
  readonly #known = new Set<string>();
  /** Containers being created (the store's write is awaited): a second create meanwhile is 409. */
  readonly #creating = new Set<string>();

  constructor(
    private readonly db: Db,
    readonly store: EmbeddedDocumentStore,
    private readonly now: () => number,
  ) {
    migrate(db, 'cosmos-rest', SCHEMA);
  }

  #ts(): number {
    return Math.floor(this.now() / 1000);
  }

  /** Brings in the store's own database and the containers it has that the catalog has not seen yet. */
  sync(): void {
    const name = this.store.databaseName;
    if (!this.db.prepare('SELECT 1 FROM cosmos_databases WHERE id = ?').get(name)) this.#insertDatabase(name);
    for (const c of this.store.containers) {
      if (this.#known.has(c.name)) continue;
      if (!this.db.prepare('SELECT 1 FROM cosmos_containers WHERE store_name = ?').get(c.name)) {
        const db = this.database(name);
        const body = bodyFromDefinition(c.definition);
        this.db
          .prepare('INSERT INTO cosmos_containers (db, id, rid, store_name, body, ts, etag) VALUES (?, ?, ?, ?, ?, ?, ?)')
          .run(name, c.name, newCollectionRid(db.rid), c.name, JSON.stringify(body), this.#ts(), newEtag());
      }
      this.#known.add(c.name);
    }
  }

  #insertDatabase(id: string): DatabaseRecord {
    const record = { id, rid: newDatabaseRid(), ts: this.#ts(), etag: newEtag() };
    this.db.prepare('INSERT INTO cosmos_databases (id, rid, ts, etag) VALUES (@id, @rid, @ts, @etag)').run(record);
    return record;
  }

  databases(): DatabaseRecord[] {
    return this.db.prepare('SELECT * FROM cosmos_databases ORDER BY rowid').all() as DatabaseRecord[];
  }

  /** By id, or by rid when no database has that id (the SDKs use both). */
  findDatabase(idOrRid: string): DatabaseRecord | undefined {
    const byId = this.db.prepare('SELECT * FROM cosmos_databases WHERE id = ?').get(idOrRid) as DatabaseRecord | undefined;
    if (byId || !looksLikeRid(idOrRid, 4)) return byId;
    return this.db.prepare('SELECT * FROM cosmos_databases WHERE rid = ?').get(idOrRid.replaceAll('-', '/')) as DatabaseRecord | undefined;
  }

  database(idOrRid: string): DatabaseRecord {
    const d = this.findDatabase(idOrRid);
    if (!d) throw new CosmosError(404, `Database ${idOrRid} does not exist.`);
    return d;
  }

  async createDatabase(id: string): Promise<DatabaseRecord> {
    validateId(id, 'database');
    if (this.findDatabase(id)) throw new CosmosError(409, `Database ${id} already exists.`);
    return this.#insertDatabase(id);
  }

  async deleteDatabase(idOrRid: string): Promise<void> {
    const d = this.database(idOrRid);
    for (const c of this.containers(d)) await this.deleteContainer(c);
    this.db.prepare('DELETE FROM cosmos_databases WHERE id = ?').run(d.id);
  }

  #record(db: DatabaseRecord, row: ContainerRow): ContainerRecord {
    const body = JSON.parse(row.body) as Json;
    const pk = body.partitionKey as { paths: string[] };
    return { db, id: row.id, rid: row.rid, storeName: row.store_name, body, ts: row.ts, etag: row.etag, partitionKeyPath: pk.paths[0]! };
  }

  containers(db: DatabaseRecord): ContainerRecord[] {
    return (this.db.prepare('SELECT * FROM cosmos_containers WHERE db = ? ORDER BY rowid').all(db.id) as ContainerRow[]).map((r) => this.#record(db, r));
  }

  container(db: DatabaseRecord, idOrRid: string): ContainerRecord {
    let row = this.db.prepare('SELECT * FROM cosmos_containers WHERE db = ? AND id = ?').get(db.id, idOrRid) as ContainerRow | undefined;
    if (!row && looksLikeRid(idOrRid, 8)) row = this.db.prepare('SELECT * FROM cosmos_containers WHERE db = ? AND rid = ?').get(db.id, idOrRid.replaceAll('-', '/')) as ContainerRow | undefined;
    if (!row) throw new CosmosError(404, `Container ${idOrRid} does not exist in database ${db.id}.`);
    return this.#record(db, row);
  }

  storeContainer(c: ContainerRecord): EmbeddedContainer {
    return this.store.container(c.storeName);
  }

  async createContainer(db: DatabaseRecord, requested: Json): Promise<ContainerRecord> {
    const { body, partitionKeyPath } = normalizeContainerBody(requested);
    const id = body.id as string;
    const key = JSON.stringify([db.id, id]);
    if (this.#creating.has(key) || this.db.prepare('SELECT 1 FROM cosmos_containers WHERE db = ? AND id = ?').get(db.id, id))
      throw new CosmosError(409, `Container ${id} already exists in database ${db.id}.`);
    this.#creating.add(key);
    try {
      const rid = newCollectionRid(db.rid);
      const storeName = db.id === this.store.databaseName && PLAIN_NAME.test(id) && !this.store.has(id) ? id : `rest:${rid}`;
      await this.store.createContainer(definitionFromBody(storeName, body, partitionKeyPath));
      const row: ContainerRow = { db: db.id, id, rid, store_name: storeName, body: JSON.stringify(body), ts: this.#ts(), etag: newEtag() };
      this.db.prepare('INSERT INTO cosmos_containers (db, id, rid, store_name, body, ts, etag) VALUES (@db, @id, @rid, @store_name, @body, @ts, @etag)').run(row);
      this.#known.add(storeName);
      return this.#record(db, row);
    } finally {
      this.#creating.delete(key);
    }
  }

  /**
   * Replaces a container's definition: the indexing policy and the rest are kept and returned as
   * sent; the partition key cannot change (as in Cosmos DB) and the store's TTL setting is fixed
   * when the container is created, so a different defaultTtl is refused rather than ignored.
   */
  replaceContainer(c: ContainerRecord, requested: Json): ContainerRecord {
    const { body, partitionKeyPath } = normalizeContainerBody(requested);
    if (body.id !== c.id) throw new CosmosError(400, `The id in the body (${String(body.id)}) is not the container's (${c.id}).`);
    if (partitionKeyPath !== c.partitionKeyPath) throw new CosmosError(400, 'The partition key of a container cannot be changed.');
    if (body.defaultTtl !== c.body.defaultTtl)
      throw new CosmosError(400, 'Changing defaultTtl of an existing container is not supported by the embedded document store; delete and create the container instead.');
    const ts = this.#ts();
    const etag = newEtag();
    this.db.prepare('UPDATE cosmos_containers SET body = ?, ts = ?, etag = ? WHERE db = ? AND id = ?').run(JSON.stringify(body), ts, etag, c.db.id, c.id);
    return { ...c, body, ts, etag };
  }

  async deleteContainer(c: ContainerRecord): Promise<void> {
    if (this.store.has(c.storeName)) await this.store.deleteContainer(c.storeName);
    this.db.prepare('DELETE FROM cosmos_containers WHERE db = ? AND id = ?').run(c.db.id, c.id);
    this.#known.delete(c.storeName);
  }
}
