// The order command API: create an order, add and remove lines, submit, cancel. Each answers
// with the stream's new version (body and ETag); If-Match with a version makes the command
// conditional (412 when the order has moved on); Idempotency-Key makes a retry harmless.
// Callers need the orders.write role; the events carry who issued the command, and the audit
// records every outcome (src/http/secured.ts).
import { randomUUID } from 'node:crypto';
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { eventSourcing } from '../src/composition/orders';
import { schemaRegistry } from '../src/composition/esb';
import { fieldProtector } from '../src/composition/security';
import { idFromKey } from '../src/esb/ingress';
import { commandMetadata, etag, ifMatchVersion, readJsonObject } from '../src/http/requests';
import { errorResponse, json } from '../src/http/responses';
import { secured, type Access } from '../src/http/secured';
import type { OrderCommandResult } from '../src/orders/order-service';
import type { OrderDetails, OrderLine } from '../src/orders/order';
import { ValidationError } from '../src/shared/errors';

function validate(messageType: string, body: Record<string, unknown>): void {
  const registry = schemaRegistry();
  registry.validatePayload(registry.get(`${messageType}.v1`), body, '');
}

function answer(status: number, result: OrderCommandResult): HttpResponseInit {
  return json(
    status,
    { orderId: result.orderId, version: result.version, ...(result.duplicate ? { duplicate: true } : {}) },
    { ETag: etag(result.version), Location: `/api/orders/${result.orderId}` },
  );
}

function withOrderId(body: Record<string, unknown>, orderId: string): Record<string, unknown> {
  if (body.orderId !== undefined && body.orderId !== orderId) throw new ValidationError('orderId in the body differs from the one in the URL', 'orderId');
  return { ...body, orderId };
}

export async function createOrder(request: HttpRequest, context: InvocationContext, access: Access): Promise<HttpResponseInit> {
  try {
    // The card fields travel in clear only to here, where field-level encryption seals them.
    const body = await readJsonObject(request, {
      cardFields: fieldProtector()
        .protection('CreateOrder')
        ?.encrypt.map((f) => f.path),
    });
    const metadata = access.stamp(commandMetadata(request, context.traceContext?.traceParent));
    // Without an orderId the server picks one — derived from the Idempotency-Key when there is one,
    // so a retried request names the same order.
    const key = request.headers.get('idempotency-key');
    const orderId = body.orderId ?? (key ? `o-${idFromKey('msg', `order:${key}`).slice(0, 23)}` : randomUUID());
    validate('CreateOrder', { ...body, orderId });
    // Card details and personal data are encrypted here as at the message ingress.
    const order = fieldProtector().protect('CreateOrder', { ...body, orderId }, '') as unknown as { orderId: string; customerId: string; items: OrderLine[] } & OrderDetails;
    const result = await eventSourcing().orders.create(order, { metadata });
    return answer(result.duplicate ? 200 : 201, result);
  } catch (error) {
    return errorResponse(error, context);
  }
}

export async function addOrderItem(request: HttpRequest, context: InvocationContext, access: Access): Promise<HttpResponseInit> {
  try {
    const body = withOrderId(await readJsonObject(request), request.params.id!);
    validate('AddOrderItem', body);
    const result = await eventSourcing().orders.addItem(request.params.id!, body as unknown as OrderLine, {
      expectedVersion: ifMatchVersion(request.headers.get('if-match')),
      metadata: access.stamp(commandMetadata(request, context.traceContext?.traceParent)),
    });
    return answer(200, result);
  } catch (error) {
    return errorResponse(error, context);
  }
}

export async function removeOrderItem(request: HttpRequest, context: InvocationContext, access: Access): Promise<HttpResponseInit> {
  try {
    validate('RemoveOrderItem', { orderId: request.params.id, sku: request.params.sku });
    const result = await eventSourcing().orders.removeItem(request.params.id!, request.params.sku!, {
      expectedVersion: ifMatchVersion(request.headers.get('if-match')),
      metadata: access.stamp(commandMetadata(request, context.traceContext?.traceParent)),
    });
    return answer(200, result);
  } catch (error) {
    return errorResponse(error, context);
  }
}

export async function submitOrder(request: HttpRequest, context: InvocationContext, access: Access): Promise<HttpResponseInit> {
  try {
    validate('SubmitOrder', withOrderId(await readJsonObject(request), request.params.id!));
    const result = await eventSourcing().orders.submit(request.params.id!, {
      expectedVersion: ifMatchVersion(request.headers.get('if-match')),
      metadata: access.stamp(commandMetadata(request, context.traceContext?.traceParent)),
    });
    return answer(200, result);
  } catch (error) {
    return errorResponse(error, context);
  }
}

export async function cancelOrder(request: HttpRequest, context: InvocationContext, access: Access): Promise<HttpResponseInit> {
  try {
    const body = withOrderId(await readJsonObject(request), request.params.id!);
    validate('CancelOrder', body);
    const result = await eventSourcing().orders.cancel(request.params.id!, (body.reason as string | undefined) ?? 'cancelled by request', {
      expectedVersion: ifMatchVersion(request.headers.get('if-match')),
      metadata: access.stamp(commandMetadata(request, context.traceContext?.traceParent)),
    });
    return answer(200, result);
  } catch (error) {
    return errorResponse(error, context);
  }
}

app.http('createOrder', { methods: ['POST'], route: 'orders', authLevel: 'function', handler: secured('order.create', createOrder) });
app.http('addOrderItem', { methods: ['POST'], route: 'orders/{id}/items', authLevel: 'function', handler: secured('order.addItem', addOrderItem) });
app.http('removeOrderItem', { methods: ['DELETE'], route: 'orders/{id}/items/{sku}', authLevel: 'function', handler: secured('order.removeItem', removeOrderItem) });
app.http('submitOrder', { methods: ['POST'], route: 'orders/{id}/submit', authLevel: 'function', handler: secured('order.submit', submitOrder) });
app.http('cancelOrder', { methods: ['POST'], route: 'orders/{id}/cancel', authLevel: 'function', handler: secured('order.cancel', cancelOrder) });
