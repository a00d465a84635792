// POST /api/messages — the HTTP → Service Bus protocol adapter (ESB ingress). Accepts the JSON
// envelope, XML, Avro (X-Schema names the schema) and CSV batches (one message per row).
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { messaging } from '../src/adapters/messaging';
import { esb } from '../src/composition/esb';
import { acceptMessage } from '../src/esb/ingress';
import { errorResponse, json } from '../src/http/responses';

export async function ingestMessage(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const length = request.headers.get('content-length');
    const accepted = await acceptMessage(
      {
        contentType: request.headers.get('content-type'),
        contentLength: length === null ? undefined : Number(length),
        body: Buffer.from(await request.arrayBuffer()),
        header: (name) => request.headers.get(name),
        traceparent: request.headers.get('traceparent') ?? context.traceContext?.traceParent,
        tracestate: request.headers.get('tracestate') ?? context.traceContext?.traceState,
      },
      { sender: messaging(), registry: esb().registry, now: () => new Date() },
    );
    context.log('messageId' in accepted ? `Accepted message ${accepted.messageId} (correlationId ${accepted.correlationId})` : `Accepted a batch of ${accepted.count} messages`);
    return json(202, accepted);
  } catch (error) {
    return errorResponse(error, context);
  }
}

app.http('ingestMessage', {
  methods: ['POST'],
  route: 'messages',
  authLevel: 'function',
  handler: ingestMessage,
});
