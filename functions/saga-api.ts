// The saga's API:
//   GET  /api/sagas/{orderId}                       status, steps, compensations, last error, timeline
//   POST /api/sagas/{orderId}/events/{name}          raise an event (ManualApproval: { approved, by, reason })
//   GET  /api/sagas?status=&since=&until=&limit=     sagas by outcome (Completed, Compensated, CompensationFailed)
//                                                    or, for Running / AwaitingApproval / Compensating, the live ones
//   POST /api/ops/sagas/{orderId}/terminate?reason=  stop a saga (no compensation runs)
//   GET  /api/ops/sagas/{orderId}/participants       does every participant agree with the outcome?
// Reads need orders.read (or ops), raising an event sagas.approve (or ops), the ops routes ops.
import * as df from 'durable-functions';
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { eventSourcing } from '../src/composition/orders';
import { sagas } from '../src/composition/sagas';
import { intQuery, readJsonObject } from '../src/http/requests';
import { errorResponse, json } from '../src/http/responses';
import { secured, type Access } from '../src/http/secured';
import { checkId } from '../src/orders/event-schemas';
import { sagaInstanceId, TERMINAL_SAGA_STATES, type SagaState, type SagaStatus } from '../src/sagas/definition';
import { queryOutcomes } from '../src/sagas/outcomes';
import { sagaView, type OrchestrationStatusLike } from '../src/sagas/saga-view';
import { ORDER_FULFILMENT_SAGA } from '../src/sagas/order-fulfilment';
import { ConflictError, NotFoundError, ValidationError } from '../src/shared/errors';

const SAGA_STATES: SagaState[] = ['Running', 'AwaitingApproval', 'Compensating', 'Completed', 'Compensated', 'CompensationFailed'];

async function statusOf(client: df.DurableClient, orderId: string): Promise<OrchestrationStatusLike> {
  try {
    return (await client.getStatus(sagaInstanceId(orderId))) as unknown as OrchestrationStatusLike;
  } catch (error) {
    if (/404/.test((error as Error).message)) throw new NotFoundError(`No saga for order ${orderId}`, 'orderId');
    throw error;
  }
}

export async function getSaga(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const orderId = checkId(request.params.orderId, 'orderId');
    return json(200, sagaView(orderId, await statusOf(df.getClient(context), orderId)));
  } catch (error) {
    return errorResponse(error, context);
  }
}

export async function raiseSagaEvent(request: HttpRequest, context: InvocationContext, access: Access): Promise<HttpResponseInit> {
  try {
    const orderId = checkId(request.params.orderId, 'orderId');
    const name = request.params.name!;
    if (!/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(name)) throw new ValidationError('The event name must be 1–64 letters, digits, _ or -', 'name');
    let body = await readJsonObject(request);
    if (name === ORDER_FULFILMENT_SAGA.approvalEvent) {
      // Who approved is whoever called, when the caller is known; the body's `by` is only taken
      // on a machine without auth.
      body = { ...body, by: access.caller.kind === 'anonymous-local' ? (body.by ?? access.caller.name) : access.caller.name };
      access.note({ event: name, approved: body.approved === true, ...(typeof body.reason === 'string' ? { reason: body.reason } : {}) }, body.approved === true ? 'saga.approve' : 'saga.reject');
    } else {
      access.note({ event: name });
    }
    const client = df.getClient(context);
    const view = sagaView(orderId, await statusOf(client, orderId));
    if ((TERMINAL_SAGA_STATES as string[]).includes(view.status) || view.status === 'Failed' || view.status === 'Terminated') {
      throw new ConflictError(`The saga for order ${orderId} has ended (${view.status}); it takes no more events`, 'orderId');
    }
    await client.raiseEvent(sagaInstanceId(orderId), name, body);
    return json(202, { orderId, event: name, status: 'accepted' });
  } catch (error) {
    return errorResponse(error, context);
  }
}

export async function listSagas(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const status = request.query.get('status') ?? undefined;
    if (status !== undefined && !SAGA_STATES.includes(status as SagaState)) throw new ValidationError(`status must be one of ${SAGA_STATES.join(', ')}`, 'status');
    if (status === undefined || (TERMINAL_SAGA_STATES as string[]).includes(status)) {
      const page = await queryOutcomes(eventSourcing().views, {
        status: status as SagaState | undefined,
        since: request.query.get('since') ?? undefined,
        until: request.query.get('until') ?? undefined,
        limit: intQuery(request.query.get('limit'), 'limit'),
        continuation: request.query.get('continuation') ?? undefined,
      });
      return json(200, { sagas: page.items, ...(page.continuation ? { continuation: page.continuation } : {}) });
    }
    // Live sagas: the orchestrations that run, by the status the saga reports.
    const client = df.getClient(context);
    const running = (await client.getStatusBy({ runtimeStatus: [df.OrchestrationRuntimeStatus.Running, df.OrchestrationRuntimeStatus.Pending] })) as unknown as OrchestrationStatusLike[];
    const sagasNow = running
      .filter((s) => s.instanceId.startsWith('order-saga-'))
      .map((s) => sagaView(s.instanceId.replace(/^order-saga-/, ''), s))
      .filter((s) => s.status === status)
      .map(({ timeline: _t, ...s }) => s);
    return json(200, { sagas: sagasNow });
  } catch (error) {
    return errorResponse(error, context);
  }
}

export async function terminateSaga(request: HttpRequest, context: InvocationContext, access: Access): Promise<HttpResponseInit> {
  try {
    const orderId = checkId(request.params.orderId, 'orderId');
    const client = df.getClient(context);
    const view = sagaView(orderId, await statusOf(client, orderId));
    if (!['Running', 'AwaitingApproval', 'Compensating'].includes(view.status)) throw new ConflictError(`The saga for order ${orderId} has ended (${view.status})`, 'orderId');
    const reason = request.query.get('reason') ?? `terminated by ${access.caller.kind === 'anonymous-local' ? 'an operator' : access.caller.name}`;
    access.note({ reason });
    await client.terminate(sagaInstanceId(orderId), reason);
    return json(202, { orderId, status: 'terminating' });
  } catch (error) {
    return errorResponse(error, context);
  }
}

export async function checkSagaParticipants(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const orderId = checkId(request.params.orderId, 'orderId');
    const s = await statusOf(df.getClient(context), orderId);
    if (s.runtimeStatus !== 'Completed') throw new ConflictError(`The saga for order ${orderId} has not ended`, 'orderId');
    return json(200, { orderId, ...(await sagas().check(s.output as SagaStatus)) });
  } catch (error) {
    return errorResponse(error, context);
  }
}

const client = [df.input.durableClient()];
app.http('getSaga', { methods: ['GET'], route: 'sagas/{orderId}', authLevel: 'function', extraInputs: client, handler: secured('saga.read', getSaga) });
app.http('raiseSagaEvent', { methods: ['POST'], route: 'sagas/{orderId}/events/{name}', authLevel: 'function', extraInputs: client, handler: secured('saga.raiseEvent', raiseSagaEvent) });
app.http('listSagas', { methods: ['GET'], route: 'sagas', authLevel: 'function', extraInputs: client, handler: secured('saga.list', listSagas) });
app.http('opsTerminateSaga', { methods: ['POST'], route: 'ops/sagas/{orderId}/terminate', authLevel: 'function', extraInputs: client, handler: secured('saga.terminate', terminateSaga) });
app.http('opsSagaParticipants', {
  methods: ['GET'],
  route: 'ops/sagas/{orderId}/participants',
  authLevel: 'function',
  extraInputs: client,
  handler: secured('ops.checkSagaParticipants', checkSagaParticipants),
});
