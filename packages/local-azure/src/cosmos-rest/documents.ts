// Point operations on documents: create, upsert, read, replace, delete and patch, with If-Match /
// If-None-Match, the partition key header checked against the body, and the system properties
// (_rid, _self, _etag, _ts, _attachments) in the service's shape. Each write resolves once the
// store's group commit has it on disk, so the answer never precedes durability.
import type { Document } from '@backbone/azure-model/documents';
import { MAX_ITEM_BYTES } from '@backbone/azure-model/documents';
import { NONE_PARTITION, NULL_PARTITION, type EmbeddedContainer } from '../docstore/store';
import { CosmosError } from './errors';
import { byteSize, charge, header, jsonBody, type Reply, type RestRequest } from './http';
import type { ContainerRecord } from './resources';
import { documentRid } from './rids';
import { canonical, test } from './sql/evaluate';
import { parseExpression } from './sql/parser';

export interface ContainerContext {
  record: ContainerRecord;
  store: EmbeddedContainer;
}

/** The partition key value at the container's path, undefined when the document has none. */
export function partitionKeyValue(doc: unknown, path: string): unknown {
  return path
    .slice(1)
    .split('/')
    .reduce<unknown>((v, k) => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>)[k] : undefined), doc);
}

/**
 * The store keys partitions by the value's text, as the app's adapters do; a missing value
 * (Cosmos DB's "None", `[{}]` on the wire) and null have partitions of their own where the
 * container takes them (those created over REST).
 */
export function storeKey(c: ContainerContext, value: unknown): string {
  if ((value === undefined || value === null) && c.store.definition.noneAndNullPartitions) return value === null ? NULL_PARTITION : NONE_PARTITION;
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
    throw new CosmosError(
      400,
      `Partition key value ${value === undefined ? '(none)' : JSON.stringify(value)} is not supported by container ${c.record.id}: it was declared to the embedded store (config/cosmos.yaml or the bindings), which takes strings, numbers and booleans.`,
    );
  }
  return String(value);
}

/** x-ms-documentdb-partitionkey: a JSON array with one component per path; undefined when absent. `{}` stands for "None". */
export function partitionKeyHeader(req: RestRequest): { value: unknown } | undefined {
  const raw = header(req, 'x-ms-documentdb-partitionkey');
  if (raw === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new CosmosError(400, `The partition key header ${raw} is not valid JSON.`);
  }
  if (!Array.isArray(parsed) || parsed.length !== 1) {
    throw new CosmosError(400, `The partition key supplied in x-ms-partitionkey header has ${Array.isArray(parsed) ? parsed.length : 'no'} components; the collection defines 1.`, 1001);
  }
  const value = parsed[0] as unknown;
  const none = typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0;
  if (typeof value === 'object' && value !== null && !none) throw new CosmosError(400, `The partition key value ${JSON.stringify(value)} is not a string, number, boolean or null.`);
  return { value: none ? undefined : value };
}

function requirePartitionKey(req: RestRequest): unknown {
  const pk = partitionKeyHeader(req);
  if (!pk) throw new CosmosError(400, 'The partition key supplied in x-ms-partitionkey header has fewer components than defined in the the collection.');
  return pk.value;
}

/** 400 (substatus 1001) when the body's key is not the header's, as the service answers. */
function checkBodyKey(c: ContainerContext, doc: Document, given: { value: unknown } | undefined): string {
  const bodyValue = partitionKeyValue(doc, c.record.partitionKeyPath);
  if (given && canonical(given.value) !== canonical(bodyValue)) {
    throw new CosmosError(400, "PartitionKey extracted from document doesn't match the one specified in the header.", 1001);
  }
  return storeKey(c, bodyValue);
}

export function documentBody(req: RestRequest): Document {
  if (req.body.length > MAX_ITEM_BYTES) throw new CosmosError(413, `Request size is too large: ${req.body.length} bytes, more than 2 MB.`);
  const doc = jsonBody(req);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new CosmosError(400, 'The document must be a JSON object.');
  const id = (doc as Document).id;
  if (typeof id !== 'string' || id === '') throw new CosmosError(400, "The input content is invalid because the required properties - 'id; ' - are missing");
  return doc as Document;
}

/** The store's document with the service's system properties. */
export function shapeDocument(c: ContainerContext, doc: Document, keepLsn = false): Document {
  const { _lsn, _rid: _storeRid, _self: _storeSelf, _etag, _attachments: _a, _ts, ...body } = doc;
  const rid = documentRid(c.record.rid, storeKey(c, partitionKeyValue(doc, c.record.partitionKeyPath)), doc.id);
  const shaped: Document = { ...body, id: doc.id, _rid: rid, _self: `dbs/${c.record.db.rid}/colls/${c.record.rid}/docs/${rid}/`, _etag, _attachments: 'attachments/', _ts };
  if (keepLsn) shaped._lsn = _lsn;
  return shaped;
}

function ifMatch(req: RestRequest): string | undefined {
  const v = header(req, 'if-match');
  return v === undefined || v === '*' ? undefined : v;
}

function written(c: ContainerContext, status: number, doc: Document, ru: number): Reply {
  const shaped = shapeDocument(c, doc);
  return { status, body: shaped, headers: { etag: String(shaped._etag), 'x-ms-request-charge': String(ru) } };
}

export async function createDocument(c: ContainerContext, req: RestRequest): Promise<Reply> {
  const doc = documentBody(req);
  checkBodyKey(c, doc, partitionKeyHeader(req));
  const created = await c.store.create(doc);
  return written(c, 201, created, charge.insert(req.body.length));
}

export async function upsertDocument(c: ContainerContext, req: RestRequest): Promise<Reply> {
  const doc = documentBody(req);
  const pk = checkBodyKey(c, doc, partitionKeyHeader(req));
  // A one-operation batch: the store then says, atomically, whether it created or replaced.
  const result = await c.store.batch(pk, [{ operationType: 'Upsert', resourceBody: doc, ifMatch: ifMatch(req) }]);
  const r = result.results[0]!;
  if (!result.ok || !r.resourceBody) throw new CosmosError(r.statusCode);
  return written(c, r.statusCode, r.resourceBody, r.statusCode === 201 ? charge.insert(req.body.length) : charge.replace(req.body.length));
}

export async function readDocument(c: ContainerContext, req: RestRequest, id: string): Promise<Reply> {
  const pk = storeKey(c, requirePartitionKey(req));
  const doc = await c.store.read(id, pk);
  if (!doc || canonical(partitionKeyValue(doc, c.record.partitionKeyPath)) !== canonical(requirePartitionKey(req))) throw new CosmosError(404);
  const ru = charge.read(byteSize(doc));
  if (header(req, 'if-none-match') === doc._etag) return { status: 304, headers: { etag: String(doc._etag), 'x-ms-request-charge': String(ru) } };
  return written(c, 200, doc, ru);
}

export async function replaceDocument(c: ContainerContext, req: RestRequest, id: string): Promise<Reply> {
  const doc = documentBody(req);
  if (doc.id !== id) throw new CosmosError(400, `The id in the body (${doc.id}) is not the id in the URL (${id}).`);
  checkBodyKey(c, doc, { value: requirePartitionKey(req) });
  const replaced = await c.store.replace(doc, { ifMatch: ifMatch(req) });
  return written(c, 200, replaced, charge.replace(req.body.length));
}

export async function deleteDocument(c: ContainerContext, req: RestRequest, id: string): Promise<Reply> {
  const pk = storeKey(c, requirePartitionKey(req));
  const existing = await c.store.read(id, pk);
  await c.store.delete(id, pk, { ifMatch: ifMatch(req) });
  return { status: 204, headers: { 'x-ms-request-charge': String(charge.delete(existing ? byteSize(existing) : 0)) } };
}

interface PatchOperation {
  op: string;
  path: string;
  value?: unknown;
  from?: string;
}

function pointer(path: unknown): string[] {
  if (typeof path !== 'string' || !path.startsWith('/') || path === '/') throw new CosmosError(400, `Invalid patch path ${JSON.stringify(path)}.`);
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/**
 * An array position in a patch path: a canonical non-negative integer (or "-", the end, where
 * adding is meant), within the array — a path such as /tags/1000000000 must not stretch an
 * array to a billion holes.
 */
function arrayIndex(parent: unknown[], key: string, path: string, allowEnd: boolean): number {
  const index = key === '-' && allowEnd ? parent.length : /^(0|[1-9][0-9]{0,8})$/.test(key) ? Number(key) : -1;
  if (index < 0 || index > parent.length || (index === parent.length && !allowEnd)) throw new CosmosError(400, `Invalid array index in ${path}.`);
  return index;
}

/** A property of a document as data: own properties only, so "__proto__" or "constructor" in a path is a name like any other, never the object's prototype. */
function ownValue(node: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(node, key) ? node[key] : undefined;
}

function setOwn(node: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(node, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Applies JSON-patch-like operations as Cosmos DB defines them (add, set, replace, remove, incr, move). */
export function applyPatch(doc: Record<string, unknown>, operations: PatchOperation[]): Record<string, unknown> {
  const result = structuredClone(doc);
  const locate = (segments: string[], create: boolean): { parent: Record<string, unknown> | unknown[]; key: string } => {
    let node: unknown = result;
    const path = `/${segments.join('/')}`;
    for (const s of segments.slice(0, -1)) {
      if (Array.isArray(node)) node = node[arrayIndex(node, s, path, false)];
      else {
        const record = node as Record<string, unknown>;
        if (ownValue(record, s) === undefined && create) setOwn(record, s, {});
        node = ownValue(record, s);
      }
      if (typeof node !== 'object' || node === null) throw new CosmosError(400, `The patch path ${path} does not lead to an object or array.`);
    }
    return { parent: node as Record<string, unknown> | unknown[], key: segments[segments.length - 1]! };
  };
  const exists = (parent: Record<string, unknown> | unknown[], key: string) => (Array.isArray(parent) ? /^(0|[1-9][0-9]*)$/.test(key) && Number(key) < parent.length : Object.hasOwn(parent, key));
  const remove = (segments: string[]): unknown => {
    const { parent, key } = locate(segments, false);
    if (!exists(parent, key)) throw new CosmosError(400, `The patch path /${segments.join('/')} does not exist.`);
    if (Array.isArray(parent)) return parent.splice(Number(key), 1)[0];
    const old = parent[key];
    delete parent[key];
    return old;
  };
  for (const op of operations) {
    const segments = pointer(op.path);
    switch (op.op) {
      case 'add':
      case 'set': {
        const { parent, key } = locate(segments, op.op === 'set');
        if (Array.isArray(parent)) {
          const index = arrayIndex(parent, key, op.path, true);
          if (op.op === 'add') parent.splice(index, 0, op.value);
          else parent[index] = op.value;
        } else setOwn(parent, key, op.value);
        break;
      }
      case 'replace': {
        const { parent, key } = locate(segments, false);
        if (!exists(parent, key)) throw new CosmosError(400, `The patch path ${op.path} does not exist.`);
        if (Array.isArray(parent)) parent[Number(key)] = op.value;
        else setOwn(parent, key, op.value);
        break;
      }
      case 'remove':
        remove(segments);
        break;
      case 'incr': {
        const { parent, key } = locate(segments, true);
        if (typeof op.value !== 'number') throw new CosmosError(400, `incr at ${op.path} needs a number.`);
        const index = Array.isArray(parent) ? arrayIndex(parent, key, op.path, false) : undefined;
        const current: unknown = Array.isArray(parent) ? parent[index!] : ownValue(parent, key);
        if (current !== undefined && typeof current !== 'number') throw new CosmosError(400, `incr at ${op.path}: the value there is not a number.`);
        const next = ((current as number | undefined) ?? 0) + op.value;
        if (Array.isArray(parent)) parent[index!] = next;
        else setOwn(parent, key, next);
        break;
      }
      case 'move': {
        const value = remove(pointer(op.from));
        const { parent, key } = locate(segments, true);
        if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, op.path, true), 0, value);
        else setOwn(parent, key, value);
        break;
      }
      default:
        throw new CosmosError(400, `Unknown patch operation ${JSON.stringify(op.op)}.`);
    }
  }
  return result;
}

/** A patch request's operations and condition, in either of the shapes the SDKs send. */
export function patchRequest(body: unknown): { operations: PatchOperation[]; condition?: string } {
  const spec = Array.isArray(body) ? { operations: body } : (body as { operations?: unknown; condition?: unknown });
  if (!Array.isArray(spec?.operations) || spec.operations.length === 0) throw new CosmosError(400, 'A patch needs at least one operation.');
  if (spec.operations.length > 10) throw new CosmosError(400, 'A patch holds at most 10 operations.');
  if (spec.condition !== undefined && typeof spec.condition !== 'string') throw new CosmosError(400, 'The patch condition must be a string.');
  const malformed = spec.operations.findIndex((o: unknown) => typeof o !== 'object' || o === null || typeof (o as PatchOperation).op !== 'string' || typeof (o as PatchOperation).path !== 'string');
  if (malformed >= 0) throw new CosmosError(400, `Patch operation ${malformed} must be an object with an op and a path.`);
  return { operations: spec.operations as PatchOperation[], condition: spec.condition as string | undefined };
}

/** Whether a patch's condition (FROM c WHERE ...) holds for the document. */
export function conditionHolds(condition: string | undefined, doc: Document): boolean {
  if (condition === undefined) return true;
  const m = /^\s*from\s+([A-Za-z_][A-Za-z0-9_]*)\s+where\s+([\s\S]+)$/i.exec(condition);
  if (!m) throw new CosmosError(400, `The patch condition must read "FROM <alias> WHERE <predicate>", not ${JSON.stringify(condition)}.`);
  try {
    return test(parseExpression(m[2]!), m[1]!, doc);
  } catch (error) {
    throw new CosmosError(400, `The patch condition is invalid: ${(error as Error).message}`);
  }
}

/** The patched document, checked: a patch may change neither the id nor the partition key. */
export function patched(c: ContainerContext, current: Document, operations: PatchOperation[]): Document {
  const { _rid, _self, _etag, _ts, _lsn, _attachments, ...body } = current;
  void [_rid, _self, _etag, _ts, _lsn, _attachments];
  const next = applyPatch(body, operations) as Document;
  if (next.id !== current.id) throw new CosmosError(400, 'A patch cannot change the id.');
  if (canonical(partitionKeyValue(next, c.record.partitionKeyPath)) !== canonical(partitionKeyValue(current, c.record.partitionKeyPath))) {
    throw new CosmosError(400, 'A patch cannot change the partition key.');
  }
  return next;
}

export async function patchDocument(c: ContainerContext, req: RestRequest, id: string): Promise<Reply> {
  const pk = storeKey(c, requirePartitionKey(req));
  const { operations, condition } = patchRequest(jsonBody(req));
  const requested = ifMatch(req);
  // Read, patch, replace with the ETag read: a concurrent write makes the replace fail, and
  // without a caller's If-Match the patch is simply applied again to the newer version.
  for (let attempt = 0; ; attempt++) {
    const current = await c.store.read(id, pk);
    if (!current) throw new CosmosError(404);
    if (requested !== undefined && requested !== current._etag) throw new CosmosError(412);
    if (!conditionHolds(condition, current)) throw new CosmosError(412, 'The patch condition is not satisfied by the current document.');
    const next = patched(c, current, operations);
    try {
      const replaced = await c.store.replace(next, { ifMatch: current._etag });
      return written(c, 200, replaced, charge.replace(byteSize(next)));
    } catch (error) {
      if (requested !== undefined || attempt >= 10 || (error as { code?: number }).code !== 412) throw error;
    }
  }
}

/** Restricts documents to the logical partition the request names, by the key's JSON value. */
export function inPartition(c: ContainerContext, pkValue: unknown): (doc: Document) => boolean {
  const want = canonical(pkValue);
  return (doc) => canonical(partitionKeyValue(doc, c.record.partitionKeyPath)) === want;
}
