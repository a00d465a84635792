// POST /api/messages — the HTTP → Service Bus protocol adapter (ESB ingress). Accepts the JSON
// envelope, XML, Avro (X-Schema names the schema) and CSV batches (one message per row); card
// details and personal data leave it encrypted, and every message it sends is signed.
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { messaging } from '../src/composition/ports';
import { esb } from '../src/composition/esb';
import { fieldProtector } from '../src/composition/security';
import { acceptMessage, mediaType } from '../src/esb/ingress';
import { errorResponse, json } from '../src/http/responses';
import { secured } from '../src/http/secured';
import { count } from '../src/observability/metrics';
import { inSpan, markActiveSpan, withCorrelation } from '../src/observability/tracing';

export async function ingestMessage(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return inSpan('esb.ingress', { correlationId: request.headers.get('x-correlation-id') ?? undefined }, async (span) => {
    try {
      const length = request.headers.get('content-length');
      const format = mediaType(request.headers.get('content-type'));
      span.setAttribute('esb.format', format);
      const accepted = await acceptMessage(
        {
          contentType: request.headers.get('content-type'),
          contentLength: length === null ? undefined : Number(length),
          body: Buffer.from(await request.arrayBuffer()),
          header: (name) => request.headers.get(name),
        },
        { sender: messaging(), registry: esb().registry, fields: fieldProtector(), now: () => new Date() },
      );
      // XML, Avro and CSV are decoded into the canonical JSON envelope here.
      if (format !== 'json') count('esb.transformations', { fromFormat: format, toFormat: 'json', stage: 'ingress' }, 'count' in accepted ? accepted.count : 1);
      if ('messageId' in accepted) {
        span.setAttributes({ correlationId: accepted.correlationId, 'messaging.message.id': accepted.messageId });
        withCorrelation(accepted.correlationId, () => context.log(`Accepted message ${accepted.messageId} (correlationId ${accepted.correlationId})`));
      } else {
        context.log(`Accepted a batch of ${accepted.count} messages`);
      }
      return json(202, accepted);
    } catch (error) {
      markActiveSpan('error', (error as Error)?.message);
      return errorResponse(error, context);
    }
  });
}

app.http('ingestMessage', {
  methods: ['POST'],
  route: 'messages',
  authLevel: 'function',
  handler: secured('messages.ingest', ingestMessage),
});
