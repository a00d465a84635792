// Operations endpoints for messaging (function keys in Azure; the ops role). `entity` names a queue or
// topic/subscriptions/name (its dead-letter queue is read), or review / archive (where
// dead-letter triage parks messages). Filters: reason, category, messageType, correlationId,
// since, until.
//   GET    /api/ops/entities                                   depth of every queue and subscription
//   GET    /api/ops/deadletters?entity=&…filters&fromSequenceNumber=&max=
//   POST   /api/ops/deadletters/{sequenceNumber}/resubmit?entity=
//   POST   /api/ops/deadletters/resubmit?entity=&…filters|all=true   many at once
//   DELETE /api/ops/deadletters?entity=&…filters|all=true             purge
//   GET    /api/ops/trail?messageId=|correlationId=                where a message and what it caused sit now
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { messaging } from '../src/composition/ports';
import { browseDeadLetters, entityDepths, purgeMatching, resubmitDeadLetter, resubmitMatching, type DeadLetterQuery } from '../src/esb/dead-letters';
import { messageTrail } from '../src/esb/message-trail';
import { errorResponse, json } from '../src/http/responses';
import { secured, type Access } from '../src/http/secured';

function query(request: HttpRequest): DeadLetterQuery & { all: string | null; fromSequenceNumber: string | null; max: string | null } {
  const q = request.query;
  return {
    entity: q.get('entity'),
    reason: q.get('reason'),
    category: q.get('category'),
    messageType: q.get('messageType'),
    correlationId: q.get('correlationId'),
    since: q.get('since'),
    until: q.get('until'),
    all: q.get('all'),
    fromSequenceNumber: q.get('fromSequenceNumber'),
    max: q.get('max'),
  };
}

/** The filters a request set, for the audit record. */
function selectedFilters(q: ReturnType<typeof query>): Record<string, string> {
  return Object.fromEntries(Object.entries(q).filter((e): e is [string, string] => typeof e[1] === 'string' && e[0] !== 'entity'));
}

export async function listEntityDepths(_request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    return json(200, { entities: await entityDepths(messaging()) });
  } catch (error) {
    return errorResponse(error, context);
  }
}

export async function listDeadLetters(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    return json(200, await browseDeadLetters(messaging(), query(request)));
  } catch (error) {
    return errorResponse(error, context);
  }
}

export async function resubmitOneDeadLetter(request: HttpRequest, context: InvocationContext, access: Access): Promise<HttpResponseInit> {
  try {
    access.note({ sequenceNumber: request.params.sequenceNumber });
    const result = await resubmitDeadLetter(messaging(), request.query.get('entity'), request.params.sequenceNumber ?? '');
    access.note({ resubmittedAs: result.resubmitted.messageId });
    context.log(`Resubmitted ${request.params.sequenceNumber} of ${result.entity} as ${result.resubmitted.messageId}`);
    return json(200, result);
  } catch (error) {
    return errorResponse(error, context);
  }
}

export async function resubmitManyDeadLetters(request: HttpRequest, context: InvocationContext, access: Access): Promise<HttpResponseInit> {
  try {
    const filters = query(request);
    access.note({ filters: selectedFilters(filters) });
    const result = await resubmitMatching(messaging(), filters);
    access.note({ matched: result.matched, resubmitted: result.resubmitted.length });
    context.log(`Resubmitted ${result.resubmitted.length} of ${result.matched} matching messages of ${result.entity}`);
    return json(200, result);
  } catch (error) {
    return errorResponse(error, context);
  }
}

export async function purgeDeadLetters(request: HttpRequest, context: InvocationContext, access: Access): Promise<HttpResponseInit> {
  try {
    const filters = query(request);
    access.note({ filters: selectedFilters(filters) });
    const result = await purgeMatching(messaging(), filters);
    access.note({ purged: result.purged });
    context.log(`Purged ${result.purged} messages of ${result.entity}`);
    return json(200, result);
  } catch (error) {
    return errorResponse(error, context);
  }
}

export async function traceMessage(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const q = request.query;
    return json(200, await messageTrail(messaging(), { messageId: q.get('messageId') ?? undefined, correlationId: q.get('correlationId') ?? undefined }));
  } catch (error) {
    return errorResponse(error, context);
  }
}

app.http('opsEntities', { methods: ['GET'], route: 'ops/entities', authLevel: 'function', handler: secured('ops.readEntities', listEntityDepths) });
app.http('opsDeadLetters', { methods: ['GET'], route: 'ops/deadletters', authLevel: 'function', handler: secured('ops.readDeadLetters', listDeadLetters) });
app.http('opsPurgeDeadLetters', { methods: ['DELETE'], route: 'ops/deadletters', authLevel: 'function', handler: secured('deadletters.purge', purgeDeadLetters) });
app.http('opsResubmitDeadLetter', {
  methods: ['POST'],
  route: 'ops/deadletters/{sequenceNumber:long}/resubmit',
  authLevel: 'function',
  handler: secured('deadletters.resubmit', resubmitOneDeadLetter),
});
app.http('opsMessageTrail', { methods: ['GET'], route: 'ops/trail', authLevel: 'function', handler: secured('ops.readTrail', traceMessage) });
app.http('opsResubmitDeadLetters', { methods: ['POST'], route: 'ops/deadletters/resubmit', authLevel: 'function', handler: secured('deadletters.resubmitMany', resubmitManyDeadLetters) });
