// Consumes the inbound queue: every message the ingress accepted arrives here. The ESB router
// takes over this function's body; for now it checks the envelope and records the delivery.
import { app, type InvocationContext } from '@azure/functions';
import { parseEnvelope } from '../src/esb/envelope';
import { INBOUND_QUEUE } from '../src/esb/ingress';

export async function processInbound(message: unknown, context: InvocationContext): Promise<void> {
  // Another producer may have put anything on the queue: validate before trusting it. A message
  // that fails here is retried and then dead-lettered (MaxDeliveryCountExceeded) — never lost.
  const envelope = parseEnvelope(message);
  context.log(
    `Consumed ${envelope.messageType} ${envelope.messageId} (correlationId ${envelope.correlationId}, delivery ${String(context.triggerMetadata?.deliveryCount)})`,
  );
}

app.serviceBusQueue('processInbound', {
  connection: 'ServiceBusConnection',
  queueName: INBOUND_QUEUE,
  handler: processInbound,
});
