// Operations endpoints for messaging (function keys in Azure). `entity` names a queue or
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
import { messaging } from '../src/adapters/messaging';
import { browseDeadLetters, entityDepths, purgeMatching, resubmitDeadLetter, resubmitMatching, type DeadLetterQuery } from '../src/esb/dead-letters';
import { messageTrail } from '../src/esb/message-trail';
import { errorResponse, json } from '../src/http/responses';

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

export async function resubmitOneDeadLetter(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const result = await resubmitDeadLetter(messaging(), request.query.get('entity'), request.params.sequenceNumber ?? '');
    context.log(`Resubmitted ${request.params.sequenceNumber} of ${result.entity} as ${result.resubmitted.messageId}`);
    return json(200, result);
  } catch (error) {
    return errorResponse(error, context);
  }
}

export async function resubmitManyDeadLetters(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const result = await resubmitMatching(messaging(), query(request));
    context.log(`Resubmitted ${result.resubmitted.length} of ${result.matched} matching messages of ${result.entity}`);
    return json(200, result);
  } catch (error) {
    return errorResponse(error, context);
  }
}

export async function purgeDeadLetters(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const result = await purgeMatching(messaging(), query(request));
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

app.http('opsEntities', { methods: ['GET'], route: 'ops/entities', authLevel: 'function', handler: listEntityDepths });
app.http('opsDeadLetters', { methods: ['GET'], route: 'ops/deadletters', authLevel: 'function', handler: listDeadLetters });
app.http('opsPurgeDeadLetters', { methods: ['DELETE'], route: 'ops/deadletters', authLevel: 'function', handler: purgeDeadLetters });
app.http('opsResubmitDeadLetter', {
  methods: ['POST'],
  route: 'ops/deadletters/{sequenceNumber:long}/resubmit',
  authLevel: 'function',
  handler: resubmitOneDeadLetter,
});
app.http('opsMessageTrail', { methods: ['GET'], route: 'ops/trail', authLevel: 'function', handler: traceMessage });
app.http('opsResubmitDeadLetters', { methods: ['POST'], route: 'ops/deadletters/resubmit', authLevel: 'function', handler: resubmitManyDeadLetters });
