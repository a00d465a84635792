// The query API over the read models: an order, a customer's orders (paged), the product sales
// report, and an order's events with time travel (?asOf=<version>). Callers need orders.read (or ops).
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { eventSourcing } from '../src/composition/orders';
import { checkId } from '../src/orders/event-schemas';
import { etag, intQuery } from '../src/http/requests';
import { errorResponse, json } from '../src/http/responses';
import { secured } from '../src/http/secured';

export async function getOrder(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const orderId = checkId(request.params.id, 'id');
    const { order, version, source } = await eventSourcing().readModels.order(orderId);
    // X-Read-Model says whether the view answered or the event store (the view lagging behind).
    return json(200, { ...order, version }, { ETag: etag(version), 'X-Read-Model': source });
  } catch (error) {
    return errorResponse(error, context);
  }
}

export async function getCustomerOrders(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const customerId = checkId(request.params.id, 'id');
    const page = await eventSourcing().readModels.customerOrders(customerId, {
      limit: intQuery(request.query.get('limit'), 'limit'),
      continuation: request.query.get('continuation') ?? undefined,
    });
    return json(200, { customerId, orders: page.items, ...(page.continuation ? { continuation: page.continuation } : {}) });
  } catch (error) {
    return errorResponse(error, context);
  }
}

export async function getSalesReport(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const page = await eventSourcing().readModels.salesReport({
      limit: intQuery(request.query.get('limit'), 'limit'),
      continuation: request.query.get('continuation') ?? undefined,
    });
    const totals = page.items.reduce((t, p) => ({ unitsSold: t.unitsSold + p.unitsSold, revenue: Math.round((t.revenue + p.revenue) * 100) / 100 }), { unitsSold: 0, revenue: 0 });
    return json(200, { products: page.items, pageTotals: totals, ...(page.continuation ? { continuation: page.continuation } : {}) });
  } catch (error) {
    return errorResponse(error, context);
  }
}

export async function getOrderEvents(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const orderId = checkId(request.params.id, 'id');
    const asOf = intQuery(request.query.get('asOf'), 'asOf');
    const history = await eventSourcing().orders.history(orderId, asOf);
    return json(200, {
      orderId,
      version: history.version,
      currentVersion: history.currentVersion,
      state: history.state,
      events: history.events.map((e) => ({ version: e.version, type: e.type, schemaVersion: e.schemaVersion, data: e.data, metadata: e.metadata })),
    });
  } catch (error) {
    return errorResponse(error, context);
  }
}

app.http('getOrder', { methods: ['GET'], route: 'orders/{id}', authLevel: 'function', handler: secured('order.read', getOrder) });
app.http('getOrderEvents', { methods: ['GET'], route: 'orders/{id}/events', authLevel: 'function', handler: secured('order.readEvents', getOrderEvents) });
app.http('getCustomerOrders', { methods: ['GET'], route: 'customers/{id}/orders', authLevel: 'function', handler: secured('customer.readOrders', getCustomerOrders) });
app.http('getSalesReport', { methods: ['GET'], route: 'reports/sales', authLevel: 'function', handler: secured('sales.readReport', getSalesReport) });
