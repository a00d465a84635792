// Transactional batch as @azure/cosmos sends it: a JSON array of operations on one logical
// partition (x-ms-cosmos-is-batch-request), run all or nothing by the store in one transaction.
// Success is 200 with each operation's result; a failed batch is 207 Multi-Status with the
// failing operation's status and 424 for the others, so the SDK hands the caller the per-operation
// results instead of throwing. A Patch is turned into a Replace of the patched document guarded by
// the ETag it was read with, so it fails (412) rather than overwrite a concurrent change.
// .NET's batch is binary (HybridRow) and is not served.
import type { BatchOperation, Document } from '@backbone/azure-model/documents';
import { MAX_BATCH_OPERATIONS } from '@backbone/azure-model/documents';
import { CosmosError } from './errors';
import { charge, byteSize, flag, header, jsonBody, type Reply, type RestRequest } from './http';
import { conditionHolds, partitionKeyHeader, partitionKeyValue, patched, patchRequest, shapeDocument, storeKey, type ContainerContext } from './documents';
import { canonical } from './sql/evaluate';

interface WireOperation {
  operationType?: unknown;
  id?: unknown;
  resourceBody?: unknown;
  partitionKey?: unknown;
  ifMatch?: unknown;
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

export async function transactionalBatch(c: ContainerContext, req: RestRequest): Promise<Reply> {
  if (header(req, 'x-ms-cosmos-batch-atomic') !== undefined && !flag(req, 'x-ms-cosmos-batch-atomic')) {
    throw new CosmosError(400, 'Bulk (non-atomic batch) requests are not supported by this server; use a transactional batch.');
  }
  const pkHeader = partitionKeyHeader(req);
  if (!pkHeader) throw new CosmosError(400, 'A transactional batch needs the x-ms-documentdb-partitionkey header.');
  const pk = storeKey(c, pkHeader.value);
  const wire = jsonBody(req);
  if (!Array.isArray(wire)) throw new CosmosError(400, 'A batch body is a JSON array of operations.');
  if (wire.length === 0 || wire.length > MAX_BATCH_OPERATIONS) throw new CosmosError(400, `A transactional batch holds 1 to ${MAX_BATCH_OPERATIONS} operations, not ${wire.length}.`);
  const operations: BatchOperation[] = [];
  for (const w of wire as WireOperation[]) {
    if (w.partitionKey !== undefined) {
      const own = typeof w.partitionKey === 'string' ? parseOrRaw(w.partitionKey) : w.partitionKey;
      if (canonical(Array.isArray(own) ? own[0] : own) !== canonical(pkHeader.value))
        throw new CosmosError(400, 'Every operation of a transactional batch must be on the partition the request names.');
    }
    const ifMatch = typeof w.ifMatch === 'string' ? w.ifMatch : undefined;
    const body = w.resourceBody as Document | undefined;
    const needBody = () => {
      if (typeof body !== 'object' || body === null || typeof body.id !== 'string') throw new CosmosError(400, `${String(w.operationType)} needs a resourceBody with an id.`);
      if (canonical(partitionKeyValue(body, c.record.partitionKeyPath)) !== canonical(pkHeader.value))
        throw new CosmosError(400, "PartitionKey extracted from document doesn't match the one specified in the header.", 1001);
      return body;
    };
    const id = typeof w.id === 'string' ? w.id : undefined;
    const needId = () => {
      if (id === undefined) throw new CosmosError(400, `${String(w.operationType)} needs an id.`);
      return id;
    };
    switch (w.operationType) {
      case 'Create':
        operations.push({ operationType: 'Create', resourceBody: needBody() });
        break;
      case 'Upsert':
        operations.push({ operationType: 'Upsert', resourceBody: needBody(), ifMatch });
        break;
      case 'Replace':
        operations.push({ operationType: 'Replace', id: needId(), resourceBody: needBody(), ifMatch });
        break;
      case 'Delete':
        operations.push({ operationType: 'Delete', id: needId(), ifMatch });
        break;
      case 'Read':
        operations.push({ operationType: 'Read', id: needId() });
        break;
      case 'Patch': {
        const { operations: patchOps, condition } = patchRequest(w.resourceBody);
        const current = await c.store.read(needId(), pk);
        if (!current || (ifMatch !== undefined && ifMatch !== current._etag) || !conditionHolds(condition, current)) {
          // Fails inside the batch as the service would: a Read of a missing id (404) or a stale ETag (412).
          operations.push(current ? { operationType: 'Replace', id: needId(), resourceBody: current, ifMatch: '"condition-not-met"' } : { operationType: 'Read', id: needId() });
        } else operations.push({ operationType: 'Replace', id: needId(), resourceBody: patched(c, current, patchOps), ifMatch: current._etag });
        break;
      }
      default:
        throw new CosmosError(400, `Unknown batch operation ${JSON.stringify(w.operationType)}.`);
    }
  }
  const result = await c.store.batch(pk, operations);
  const minimal = /return=minimal/i.test(header(req, 'prefer') ?? '');
  let total = 0;
  const results = result.results.map((r, i) => {
    const type = String((wire[i] as WireOperation).operationType);
    const ru = result.ok ? CHARGES[type]!(byteSize(r.resourceBody ?? operations[i]!)) : 0;
    total += ru;
    const out: Record<string, unknown> = { statusCode: r.statusCode, requestCharge: ru };
    if (r.eTag) out.eTag = r.eTag;
    if (r.resourceBody && (!minimal || type === 'Read')) out.resourceBody = shapeDocument(c, r.resourceBody);
    if (r.statusCode >= 400 && r.statusCode !== 424) out.message = `Operation ${i} (${type}) failed with ${r.statusCode}; the batch was rolled back.`;
    return out;
  });
  return { status: result.ok ? 200 : 207, body: results, headers: { 'x-ms-request-charge': String(Math.round(total * 100) / 100) } };
}
