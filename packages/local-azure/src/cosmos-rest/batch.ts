// Transactional batch as @azure/cosmos sends it: a JSON array of operations on one logical
// partition (x-ms-cosmos-is-batch-request), run all or nothing by the store in one transaction.
// Bulk (x-ms-cosmos-batch-atomic: false) is the same array with a partition key per operation,
// each operation on its own: 200 when all succeed, 207 when some failed.
// Success is 200 with each operation's result; a failed batch is 207 Multi-Status with the
// failing operation's status and 424 for the others, so the SDK hands the caller the per-operation
// results instead of throwing. A Patch is turned into a Replace of the patched document guarded by
// the ETag it was read with, so it fails (412) rather than overwrite a concurrent change.
// The .NET SDK sends the same operations as HybridRow rows (./hybridrow) and reads the answer in
// that form: the body's first byte tells which, and the answer goes back the way it came.
import type { BatchOperation, Document } from '@backbone/azure-model/documents';
import { MAX_BATCH_OPERATIONS } from '@backbone/azure-model/documents';
import { CosmosError, toCosmosError } from './errors';
import { charge, byteSize, flag, header, jsonBody, parseJson, type Reply, type RestRequest } from './http';
import { conditionHolds, partitionKeyHeader, partitionKeyValue, patched, patchRequest, shapeDocument, storeKey, type ContainerContext } from './documents';
import { BatchOperationLayout, BatchResultLayout, HybridRowError, isHybridRow, readRecordIO, writeRecordIO } from './hybridrow';
import { canonical } from './sql/evaluate';

interface WireOperation {
  operationType?: unknown;
  id?: unknown;
  resourceBody?: unknown;
  partitionKey?: unknown;
  ifMatch?: unknown;
  /** .NET asks per operation (minimalReturnPreference); JSON batches ask for all with Prefer. */
  minimal?: boolean;
}

/** Microsoft.Azure.Documents' OperationType numbers, as .NET writes them in a BatchOperation row. */
const DOTNET_OPERATION_TYPES: Record<number, string> = { 0: 'Create', 1: 'Patch', 2: 'Read', 4: 'Delete', 5: 'Replace', 20: 'Upsert' };
const DOCUMENT_RESOURCE_TYPE = 2;

/** A .NET batch's operations as the JSON ones: the bodies are JSON text in binary columns. */
function hybridRowOperations(body: Buffer): WireOperation[] {
  let rows: ReturnType<typeof BatchOperationLayout.read>[];
  try {
    rows = readRecordIO(body).map((row) => BatchOperationLayout.read(row));
  } catch (error) {
    if (error instanceof HybridRowError) throw new CosmosError(400, `The batch request body is not a valid HybridRow stream: ${error.message}`);
    throw error;
  }
  return rows.map((row, i) => {
    const type = typeof row.operationType === 'number' ? DOTNET_OPERATION_TYPES[row.operationType] : undefined;
    if (!type) throw new CosmosError(400, `Batch operation ${i}: operation type ${String(row.operationType)} is not one a batch takes.`);
    if (row.resourceType !== undefined && row.resourceType !== DOCUMENT_RESOURCE_TYPE) throw new CosmosError(400, `Batch operation ${i}: only documents can be batched.`);
    if (row.ifNoneMatch !== undefined) throw new CosmosError(400, `Batch operation ${i}: If-None-Match is not supported in a batch.`);
    let resourceBody: unknown;
    if (Buffer.isBuffer(row.resourceBody)) resourceBody = parseJson(row.resourceBody.toString('utf8'), `Batch operation ${i}: the resource body`);
    return { operationType: type, id: row.id, resourceBody, partitionKey: row.partitionKey, ifMatch: row.ifMatch, minimal: row.minimalReturnPreference === true };
  });
}

/** The SDK sends an operation's key as JSON text ('["A"]'); a hand-written request may send the bare value. */
function parseOrRaw(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

const CHARGES: Record<string, (bytes: number) => number> = { Create: charge.insert, Upsert: charge.insert, Replace: charge.replace, Patch: charge.replace, Delete: charge.delete, Read: charge.read };

/**
 * One wire operation as the store's, on the partition whose key value is given. `earlier` holds
 * what the batch's previous operations leave at each id they write (null: deleted), which a Patch
 * must start from rather than the stored version.
 */
async function toOperation(c: ContainerContext, w: WireOperation, pkValue: unknown, pk: string, earlier = new Map<string, Document | null>()): Promise<BatchOperation> {
  const ifMatch = typeof w.ifMatch === 'string' ? w.ifMatch : undefined;
  const body = w.resourceBody as Document | undefined;
  const needBody = () => {
    if (typeof body !== 'object' || body === null || typeof body.id !== 'string') throw new CosmosError(400, `${String(w.operationType)} needs a resourceBody with an id.`);
    if (canonical(partitionKeyValue(body, c.record.partitionKeyPath)) !== canonical(pkValue)) {
      throw new CosmosError(400, "PartitionKey extracted from document doesn't match the one specified in the header.", 1001);
    }
    return body;
  };
  const needId = () => {
    if (typeof w.id !== 'string') throw new CosmosError(400, `${String(w.operationType)} needs an id.`);
    return w.id;
  };
  switch (w.operationType) {
    case 'Create':
      return { operationType: 'Create', resourceBody: needBody() };
    case 'Upsert':
      return { operationType: 'Upsert', resourceBody: needBody(), ifMatch };
    case 'Replace':
      return { operationType: 'Replace', id: needId(), resourceBody: needBody(), ifMatch };
    case 'Delete':
      return { operationType: 'Delete', id: needId(), ifMatch };
    case 'Read':
      return { operationType: 'Read', id: needId() };
    case 'Patch': {
      const { operations: patchOps, condition } = patchRequest(w.resourceBody);
      const pending = earlier.get(needId());
      if (pending !== undefined) {
        if (pending === null) return { operationType: 'Read', id: needId() };
        // Written earlier in this same transaction, nothing can interleave: no ETag to guard with,
        // and none the caller could know yet, so an If-Match cannot hold.
        if (ifMatch !== undefined || !conditionHolds(condition, pending)) return { operationType: 'Replace', id: needId(), resourceBody: pending, ifMatch: '"condition-not-met"' };
        return { operationType: 'Replace', id: needId(), resourceBody: patched(c, pending, patchOps) };
      }
      const current = await c.store.read(needId(), pk);
      // Fails inside the batch as the service would: a Read of a missing id (404), a Replace with an ETag that cannot match (412).
      if (!current) return { operationType: 'Read', id: needId() };
      if ((ifMatch !== undefined && ifMatch !== current._etag) || !conditionHolds(condition, current)) {
        return { operationType: 'Replace', id: needId(), resourceBody: current, ifMatch: '"condition-not-met"' };
      }
      return { operationType: 'Replace', id: needId(), resourceBody: patched(c, current, patchOps), ifMatch: current._etag };
    }
    default:
      throw new CosmosError(400, `Unknown batch operation ${JSON.stringify(w.operationType)}.`);
  }
}

/** An operation's own partition key (JSON text from the SDK, `[{}]` for "None"). */
function ownPartitionKey(w: WireOperation): { value: unknown } | undefined {
  if (w.partitionKey === undefined) return undefined;
  const own = typeof w.partitionKey === 'string' ? parseOrRaw(w.partitionKey) : w.partitionKey;
  const value = Array.isArray(own) ? (own[0] as unknown) : own;
  const none = typeof value === 'object' && value !== null && Object.keys(value).length === 0;
  return { value: none ? undefined : value };
}

function operations(req: RestRequest): WireOperation[] {
  const wire = isHybridRow(req.body) ? hybridRowOperations(req.body) : jsonBody(req);
  if (!Array.isArray(wire)) throw new CosmosError(400, 'A batch body is a JSON array of operations.');
  if (wire.length === 0 || wire.length > MAX_BATCH_OPERATIONS) throw new CosmosError(400, `A batch holds 1 to ${MAX_BATCH_OPERATIONS} operations, not ${wire.length}.`);
  const notObject = wire.findIndex((w) => typeof w !== 'object' || w === null || Array.isArray(w));
  if (notObject >= 0) throw new CosmosError(400, `Batch operation ${notObject} is not an object with an operationType.`);
  return wire as WireOperation[];
}

interface OperationOutcome {
  statusCode: number;
  resourceBody?: Document;
  eTag?: string;
  message?: string;
}

function answer(c: ContainerContext, req: RestRequest, wire: WireOperation[], outcomes: OperationOutcome[], charged: boolean[]): Reply {
  const preferMinimal = /return=minimal/i.test(header(req, 'prefer') ?? '');
  let total = 0;
  const results = outcomes.map((r, i) => {
    const type = String(wire[i]!.operationType);
    const ru = charged[i] ? CHARGES[type]!(byteSize(r.resourceBody ?? wire[i]!.resourceBody ?? {})) : 0;
    total += ru;
    const out: { statusCode: number; requestCharge: number; eTag?: string; resourceBody?: Document; message?: string } = { statusCode: r.statusCode, requestCharge: ru };
    if (r.eTag) out.eTag = r.eTag;
    if (r.resourceBody && (!(preferMinimal || wire[i]!.minimal) || type === 'Read')) out.resourceBody = shapeDocument(c, r.resourceBody);
    if (r.message) out.message = r.message;
    return out;
  });
  const status = outcomes.every((r) => r.statusCode < 400) ? 200 : 207;
  const headers = { 'x-ms-request-charge': String(Math.round(total * 100) / 100) };
  if (!isHybridRow(req.body)) return { status, body: results, headers };
  // HybridRow has no place for the message: .NET reports a failed operation by its status alone.
  const rows = results.map((r) =>
    BatchResultLayout.write({
      statusCode: r.statusCode,
      subStatusCode: 0,
      eTag: r.eTag,
      resourceBody: r.resourceBody && Buffer.from(JSON.stringify(r.resourceBody), 'utf8'),
      requestCharge: r.requestCharge,
    }),
  );
  return { status, body: writeRecordIO(rows), headers };
}

export async function transactionalBatch(c: ContainerContext, req: RestRequest): Promise<Reply> {
  if (header(req, 'x-ms-cosmos-batch-atomic') !== undefined && !flag(req, 'x-ms-cosmos-batch-atomic')) return bulk(c, req);
  const pkHeader = partitionKeyHeader(req);
  if (!pkHeader) throw new CosmosError(400, 'A transactional batch needs the x-ms-documentdb-partitionkey header.');
  const pk = storeKey(c, pkHeader.value);
  const wire = operations(req);
  const ops: BatchOperation[] = [];
  const earlier = new Map<string, Document | null>();
  for (const w of wire) {
    const own = ownPartitionKey(w);
    if (own && canonical(own.value) !== canonical(pkHeader.value)) throw new CosmosError(400, 'Every operation of a transactional batch must be on the partition the request names.');
    const op = await toOperation(c, w, pkHeader.value, pk, earlier);
    ops.push(op);
    if (op.operationType === 'Delete') earlier.set(op.id, null);
    else if (op.operationType !== 'Read') earlier.set(op.resourceBody.id, op.resourceBody);
  }
  const result = await c.store.batch(pk, ops);
  const outcomes = result.results.map((r, i) => ({
    ...r,
    message: r.statusCode >= 400 && r.statusCode !== 424 ? `Operation ${i} (${String(wire[i]!.operationType)}) failed with ${r.statusCode}; the batch was rolled back.` : undefined,
  }));
  return answer(
    c,
    req,
    wire,
    outcomes,
    wire.map(() => result.ok),
  );
}

/** Bulk: each operation on its own partition and on its own; with continue-on-error off, the first failure stops the rest (424). */
async function bulk(c: ContainerContext, req: RestRequest): Promise<Reply> {
  const wire = operations(req);
  const continueOnError = header(req, 'x-ms-cosmos-batch-continue-on-error') === undefined || flag(req, 'x-ms-cosmos-batch-continue-on-error');
  const run = async (w: WireOperation): Promise<OperationOutcome> => {
    try {
      const own = ownPartitionKey(w) ?? { value: partitionKeyValue(w.resourceBody, c.record.partitionKeyPath) };
      const pk = storeKey(c, own.value);
      const result = await c.store.batch(pk, [await toOperation(c, w, own.value, pk)]);
      return result.results[0]!;
    } catch (error) {
      const e = toCosmosError(error);
      if (e.status >= 500) throw error;
      return { statusCode: e.status, message: e.message };
    }
  };
  let outcomes: OperationOutcome[];
  if (continueOnError) outcomes = await Promise.all(wire.map(run));
  else {
    outcomes = [];
    for (const w of wire) outcomes.push(outcomes.some((o) => o.statusCode >= 400) ? { statusCode: 424 } : await run(w));
  }
  return answer(
    c,
    req,
    wire,
    outcomes,
    outcomes.map((o) => o.statusCode < 400),
  );
}
