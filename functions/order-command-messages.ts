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
import { messaging } from '../src/composition/ports';
import { complete, deadLetter } from '../src/adapters/service-bus-actions';
import { verifiedOrDeadLettered } from '../src/adapters/service-bus-verification';
import { schemaRegistry } from '../src/composition/esb';
import { eventSourcing } from '../src/composition/orders';
import { fieldProtector } from '../src/composition/security';
import { CATEGORY_PROPERTY, categorise } from '../src/esb/dead-letter-categories';
import { parseEnvelope } from '../src/esb/envelope';
import { RETRY_PROPERTIES } from '../src/esb/retry';
import type { PropertyValue } from '@backbone/azure-model/service-bus';
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
  if (!(await verifiedOrDeadLettered(serviceBus, context, ORDER_COMMANDS_QUEUE))) return;
  let envelope;
  try {
    envelope = envelopeOf(message);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    context.warn(`Dead-lettered message ${String(message.messageId)}: not a command envelope: ${error.message}`);
    await deadLetter(serviceBus.actions, message, 'InvalidEnvelope', error.message, { [CATEGORY_PROPERTY]: categorise('InvalidEnvelope') });
    return;
  }
  await inSpan(
    `command ${envelope.messageType}`,
    { correlationId: envelope.correlationId, attributes: { 'messaging.message.id': envelope.messageId, messageType: envelope.messageType } },
    async () => {
      const es = eventSourcing();
      const props = (message.applicationProperties ?? {}) as Record<string, PropertyValue>;
      const retries = Number(props[RETRY_PROPERTIES.attempt] ?? 0) || 0;
      const configured = Number(process.env.COMMAND_NOT_FOUND_RETRIES);
      const outcome = await handleCommandMessage(
        envelope,
        { orders: es.orders, inventory: es.inventory, registry: schemaRegistry(), audit: es.audit, fields: fieldProtector() },
        {
          retries,
          ...(process.env.COMMAND_NOT_FOUND_RETRIES && Number.isInteger(configured) && configured >= 0 ? { maxRetries: configured } : {}),
        },
      );
      const what = `${envelope.messageType} ${envelope.messageId} (correlationId ${envelope.correlationId})`;
      if (outcome.action === 'retryLater') {
        // A copy in the same session, scheduled: the session's next messages (its CreateOrder) go
        // first. Its own Service Bus messageId, or duplicate detection would drop it; the envelope
        // keeps its id, which is what the command handler deduplicates by.
        const baseId = String(message.messageId).replace(/#a\d+$/, '');
        await messaging().schedule(
          ORDER_COMMANDS_QUEUE,
          [
            {
              body: Buffer.isBuffer(message.body) ? message.body : Buffer.from(JSON.stringify(message.body)),
              contentType: message.contentType ?? 'application/json',
              messageId: `${baseId}#a${outcome.attempt}`,
              correlationId: envelope.correlationId,
              subject: envelope.messageType,
              ...(message.sessionId ? { sessionId: message.sessionId } : {}),
              applicationProperties: { ...props, [RETRY_PROPERTIES.attempt]: outcome.attempt, [RETRY_PROPERTIES.lastError]: outcome.description.slice(0, 512) },
            },
          ],
          new Date(Date.now() + outcome.delayMs),
        );
        context.warn(`${what}: ${outcome.description}; tried again in ${outcome.delayMs} ms (retry ${outcome.attempt}: it may have overtaken the command that creates it)`);
        await complete(serviceBus.actions, message);
        return;
      }
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
    },
  );
}

app.serviceBusQueue('handleOrderCommand', {
  connection: 'ServiceBusConnection',
  queueName: ORDER_COMMANDS_QUEUE,
  isSessionsEnabled: true,
  sdkBinding: true,
  autoCompleteMessages: false,
  handler: handleOrderCommand,
});
