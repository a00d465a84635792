// Stock of a SKU: goods received (a command on the SKU's stream; inventory.write) and the
// availability read model (orders.read).
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { schemaRegistry } from '../src/composition/esb';
import { eventSourcing } from '../src/composition/orders';
import { checkId } from '../src/orders/event-schemas';
import { commandMetadata, etag, ifMatchVersion, readJsonObject } from '../src/http/requests';
import { errorResponse, json } from '../src/http/responses';
import { secured, type Access } from '../src/http/secured';
import { ValidationError } from '../src/shared/errors';

export async function receiveStock(request: HttpRequest, context: InvocationContext, access: Access): Promise<HttpResponseInit> {
  try {
    const sku = checkId(request.params.sku, 'sku');
    const body = await readJsonObject(request);
    if (body.sku !== undefined && body.sku !== sku) throw new ValidationError('sku in the body differs from the one in the URL', 'sku');
    const registry = schemaRegistry();
    registry.validatePayload(registry.get('ReceiveStock.v1'), { ...body, sku }, '');
    const result = await eventSourcing().inventory.receive(
      sku,
      { quantity: body.quantity as number, reference: body.reference as string | undefined },
      {
        expectedVersion: ifMatchVersion(request.headers.get('if-match')),
        metadata: access.stamp(commandMetadata(request, context.traceContext?.traceParent)),
      },
    );
    return json(
      result.version === result.events.length ? 201 : 200,
      { sku, version: result.version, ...(result.duplicate ? { duplicate: true } : {}) },
      { ETag: etag(result.version), Location: `/api/inventory/${sku}` },
    );
  } catch (error) {
    return errorResponse(error, context);
  }
}

export async function getInventory(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const sku = checkId(request.params.sku, 'sku');
    const { inventory, version, source } = await eventSourcing().readModels.inventory(sku);
    return json(200, { ...inventory, version }, { ETag: etag(version), 'X-Read-Model': source });
  } catch (error) {
    return errorResponse(error, context);
  }
}

app.http('receiveStock', { methods: ['POST'], route: 'inventory/{sku}/receipts', authLevel: 'function', handler: secured('inventory.receive', receiveStock) });
app.http('getInventory', { methods: ['GET'], route: 'inventory/{sku}', authLevel: 'function', handler: secured('inventory.read', getInventory) });
