// Operations endpoints for the messaging namespace (function keys in Azure):
//   GET  /api/ops/entities                                   depth of every queue and subscription
//   GET  /api/ops/deadletters?entity=&fromSequenceNumber=&max= browse a dead-letter queue
//   POST /api/ops/deadletters/{sequenceNumber}/resubmit?entity= send one dead letter back
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { messaging } from '../src/adapters/messaging';
import { browseDeadLetters, entityDepths, resubmitDeadLetter } from '../src/esb/dead-letters';
import { errorResponse, json } from '../src/http/responses';

export async function listEntityDepths(_request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    return json(200, { entities: await entityDepths(messaging()) });
  } catch (error) {
    return errorResponse(error, context);
  }
}

export async function listDeadLetters(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const q = request.query;
    return json(200, await browseDeadLetters(messaging(), { entity: q.get('entity'), fromSequenceNumber: q.get('fromSequenceNumber'), max: q.get('max') }));
  } catch (error) {
    return errorResponse(error, context);
  }
}

export async function resubmitOneDeadLetter(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const result = await resubmitDeadLetter(messaging(), request.query.get('entity'), request.params.sequenceNumber ?? '');
    context.log(`Resubmitted dead letter ${request.params.sequenceNumber} of ${result.entity} as ${result.resubmitted.messageId}`);
    return json(200, result);
  } catch (error) {
    return errorResponse(error, context);
  }
}

app.http('opsEntities', { methods: ['GET'], route: 'ops/entities', authLevel: 'function', handler: listEntityDepths });
app.http('opsDeadLetters', { methods: ['GET'], route: 'ops/deadletters', authLevel: 'function', handler: listDeadLetters });
app.http('opsResubmitDeadLetter', {
  methods: ['POST'],
  route: 'ops/deadletters/{sequenceNumber:long}/resubmit',
  authLevel: 'function',
  handler: resubmitOneDeadLetter,
});
