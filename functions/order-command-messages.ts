// Order and inventory commands from the order-commands queue (routed there by the ESB; one
// session per order, so an order's commands apply in the order they were sent). Handled by the
// same services as the HTTP API. A message without the app's signature is dead-lettered
// SignatureInvalid; a rejected command with the reason (CommandInvalid, CommandTargetNotFound,
// CommandConflict, BusinessRuleViolated); anything else
// — a conflict that outlasted the retries, a store outage — fails the invocation, so the message
// is delivered again.
import '@azure/functions-extensions-servicebus';
import { app, type InvocationContext } from '@azure/functions';
import type { ServiceBusMessageContext } from '@azure/functions-extensions-servicebus';
import type { ServiceBusReceivedMessage } from '@azure/service-bus';
import { complete, deadLetter } from '../src/adapters/service-bus-actions';
import { verifiedOrDeadLettered } from '../src/adapters/service-bus-verification';
import { schemaRegistry } from '../src/composition/esb';
import { eventSourcing } from '../src/composition/orders';
import { fieldProtector } from '../src/composition/security';
import { CATEGORY_PROPERTY, categorise } from '../src/esb/dead-letter-categories';
import { parseEnvelope } from '../src/esb/envelope';
import { inSpan, markActiveSpan } from '../src/observability/tracing';
import { handleCommandMessage } from '../src/orders/command-messages';
import { ValidationError } from '../src/shared/errors';

export const ORDER_COMMANDS_QUEUE = 'order-commands';

function envelopeOf(message: ServiceBusReceivedMessage) {
  const body = Buffer.isBuffer(message.body) ? message.body.toString('utf8') : message.body;
  try {
    return parseEnvelope(typeof body === 'string' ? JSON.parse(body) : body);
  } catch (error) {
    if (error instanceof SyntaxError) throw new ValidationError(`The body is not JSON: ${error.message}`, '');
    throw error;
  }
}

export async function handleOrderCommand(serviceBus: ServiceBusMessageContext, context: InvocationContext): Promise<void> {
  const message = serviceBus.messages as ServiceBusReceivedMessage;
  if (!(await verifiedOrDeadLettered(serviceBus, context))) return;
  let envelope;
  try {
    envelope = envelopeOf(message);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    context.warn(`Dead-lettered message ${String(message.messageId)}: not a command envelope: ${error.message}`);
    await deadLetter(serviceBus.actions, message, 'InvalidEnvelope', error.message, { [CATEGORY_PROPERTY]: categorise('InvalidEnvelope') });
    return;
  }
  await inSpan(`command ${envelope.messageType}`, { correlationId: envelope.correlationId, attributes: { 'messaging.message.id': envelope.messageId, messageType: envelope.messageType } }, async () => {
    const es = eventSourcing();
    const outcome = await handleCommandMessage(envelope, { orders: es.orders, inventory: es.inventory, registry: schemaRegistry(), fields: fieldProtector() });
    const what = `${envelope.messageType} ${envelope.messageId} (correlationId ${envelope.correlationId})`;
    if (outcome.action === 'deadLetter') {
      markActiveSpan('error', `${outcome.reason}: ${outcome.description}`, { 'esb.deadletter.reason': outcome.reason });
      context.warn(`Dead-lettered ${what}: ${outcome.reason}: ${outcome.description}`);
      await deadLetter(serviceBus.actions, message, outcome.reason, outcome.description, {
        [CATEGORY_PROPERTY]: categorise(outcome.reason),
        messageType: envelope.messageType,
        correlationId: envelope.correlationId,
      });
      return;
    }
    context.log(`${what} → ${outcome.stream} v${outcome.version}${outcome.duplicate ? ' (already applied)' : ` [${outcome.events.join(', ')}]`}`);
    await complete(serviceBus.actions, message);
  });
}

app.serviceBusQueue('handleOrderCommand', {
  connection: 'ServiceBusConnection',
  queueName: ORDER_COMMANDS_QUEUE,
  isSessionsEnabled: true,
  sdkBinding: true,
  autoCompleteMessages: false,
  handler: handleOrderCommand,
});
