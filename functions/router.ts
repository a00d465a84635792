// The ESB's content-based router on the inbound queue. SDK-type bindings give the function the
// message and its settlement actions, so it can dead-letter with a reason (SignatureInvalid,
// NoRouteMatched, TransformationFailed, …) instead of failing until MaxDeliveryCountExceeded.
import '@azure/functions-extensions-servicebus';
import { app, type InvocationContext } from '@azure/functions';
import type { ServiceBusMessageContext } from '@azure/functions-extensions-servicebus';
import type { ServiceBusReceivedMessage } from '@azure/service-bus';
import { complete, deadLetter } from '../src/adapters/service-bus-actions';
import { verifiedOrDeadLettered } from '../src/adapters/service-bus-verification';
import { esb } from '../src/composition/esb';
import { INBOUND_QUEUE } from '../src/esb/ingress';
import { modelName } from '../src/esb/schemas';
import { count } from '../src/observability/metrics';
import { inSpan, markActiveSpan } from '../src/observability/tracing';

// Built at load: a routes file that does not load fails the app's startup, naming the route.
const { router } = esb();

export async function routeMessage(serviceBus: ServiceBusMessageContext, context: InvocationContext): Promise<void> {
  const message = serviceBus.messages as ServiceBusReceivedMessage;
  if (!(await verifiedOrDeadLettered(serviceBus, context, INBOUND_QUEUE))) return;
  const correlationId = typeof message.correlationId === 'string' ? message.correlationId : undefined;
  await inSpan('esb.route', { ...(correlationId ? { correlationId } : {}), attributes: { 'messaging.message.id': String(message.messageId) } }, async (span) => {
    const decision = await router.handle({
      messageId: String(message.messageId),
      body: message.body,
      contentType: message.contentType,
      applicationProperties: (message.applicationProperties ?? {}) as Record<string, unknown>,
    });
    const e = decision.envelope;
    if (e) span.setAttribute('messageType', e.messageType);
    const what = e ? `${e.messageType} ${e.messageId} (correlationId ${e.correlationId})` : `message ${String(message.messageId)}`;
    switch (decision.action) {
      case 'deadLetter':
        markActiveSpan('error', `${decision.reason}: ${decision.description}`, { 'esb.deadletter.reason': decision.reason, 'esb.deadletter.category': decision.category });
        context.warn(`Dead-lettered ${what}: ${decision.reason} [${decision.category}] ${decision.description}`);
        await deadLetter(serviceBus.actions, message, decision.reason, decision.description, decision.properties);
        return;
      case 'complete':
        if (decision.result === 'routed') {
          const source = modelName(decision.envelope.messageType, decision.envelope.schemaVersion);
          for (const sent of decision.sent) {
            count('esb.messages.routed', { route: sent.route, entity: sent.entity, messageType: decision.envelope.messageType });
            // The router reads the canonical JSON envelope; a route that maps the model or encodes another format transforms it.
            if (sent.format !== 'json' || sent.model !== source) count('esb.transformations', { fromFormat: 'json', toFormat: sent.format, stage: 'route' });
          }
          span.setAttribute('esb.routes', decision.routes.join(','));
          context.log(`Routed ${what} via ${decision.routes.join(', ')} → ${decision.sent.map((s) => `${s.entity} (${s.model}, ${s.format})`).join(', ')}`);
        } else if (decision.result === 'duplicate') {
          context.log(`Skipped ${what}: already routed`);
        } else {
          count('esb.retries', { messageType: decision.envelope.messageType, attempt: decision.attempt });
          context.warn(`Retry ${decision.attempt} of ${what} scheduled in ${decision.delayMs} ms: ${decision.error}`);
        }
        await complete(serviceBus.actions, message);
    }
  });
}

app.serviceBusQueue('routeMessage', {
  connection: 'ServiceBusConnection',
  queueName: INBOUND_QUEUE,
  sdkBinding: true,
  autoCompleteMessages: false,
  handler: routeMessage,
});
