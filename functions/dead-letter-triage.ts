// Dead-letter triage for the inbound queue: each dead letter is resubmitted later (transient),
// parked on the review queue (bad format), published on business-alerts (business rule) or
// archived — see src/esb/dead-letter-triage.ts. Its signature is checked first, like at every
// consumer: a dead-letter queue has no dead-letter queue, so one that fails is parked on the
// review queue as SignatureInvalid (whatever it was dead-lettered for) and never resubmitted —
// triage signs what it sends, and must not lend that signature to a forged message.
import '@azure/functions-extensions-servicebus';
import { app, type InvocationContext } from '@azure/functions';
import type { ServiceBusMessageContext } from '@azure/functions-extensions-servicebus';
import type { ServiceBusReceivedMessage } from '@azure/service-bus';
import { messaging } from '../src/composition/ports';
import { complete, defer } from '../src/adapters/service-bus-actions';
import { rawBody, verifyDelivered } from '../src/adapters/service-bus-verification';
import { CATEGORY_PROPERTY, categorise } from '../src/esb/dead-letter-categories';
import { applyTriage, isTooLarge, triage, triageFailed, type DeadLetteredMessage } from '../src/esb/dead-letter-triage';
import { INBOUND_QUEUE } from '../src/esb/ingress';
import type { PropertyValue } from '@backbone/azure-model/service-bus';
import { SIGNATURE_INVALID, type Verification } from '../src/security/message-signature';

/** A dead letter whose signature fails is, from here on, a SignatureInvalid one (the stamped category too). */
function distrusted(dead: DeadLetteredMessage, check: Exclude<Verification, { valid: true }>): DeadLetteredMessage {
  const already = dead.deadLetterReason === SIGNATURE_INVALID;
  const was = dead.deadLetterReason && !already ? ` (dead-lettered as ${dead.deadLetterReason}: ${dead.deadLetterErrorDescription ?? ''})` : '';
  return {
    ...dead,
    deadLetterReason: SIGNATURE_INVALID,
    deadLetterErrorDescription: already ? (dead.deadLetterErrorDescription ?? check.description) : `${check.description}${was}`,
    applicationProperties: { ...dead.applicationProperties, [CATEGORY_PROPERTY]: categorise(SIGNATURE_INVALID) },
  };
}

export async function triageInboundDeadLetters(serviceBus: ServiceBusMessageContext, context: InvocationContext): Promise<void> {
  const message = serviceBus.messages as ServiceBusReceivedMessage;
  const check = verifyDelivered(message, INBOUND_QUEUE);
  let dead: DeadLetteredMessage = {
    entity: INBOUND_QUEUE,
    messageId: String(message.messageId),
    body: rawBody(message),
    contentType: message.contentType,
    correlationId: message.correlationId === undefined ? undefined : String(message.correlationId),
    subject: message.subject,
    sessionId: message.sessionId,
    applicationProperties: (message.applicationProperties ?? {}) as Record<string, PropertyValue>,
    deadLetterReason: message.deadLetterReason,
    deadLetterErrorDescription: message.deadLetterErrorDescription,
  };
  if (!check.valid) {
    dead = distrusted(dead, check);
    if (message.deadLetterReason !== SIGNATURE_INVALID) context.warn(`Triage: ${dead.messageId} does not carry a valid signature (${check.description}); parked for review, never resubmitted`);
  }
  const now = new Date();
  const decision = triage(dead, now);
  try {
    await applyTriage(decision, dead, messaging(), now);
    context.log(
      decision.action === 'resubmit'
        ? `Triage: ${dead.messageId} (${dead.deadLetterReason}) resubmitted to ${INBOUND_QUEUE} at ${decision.at.toISOString()} (attempt ${decision.attempt})`
        : `Triage: ${dead.messageId} (${dead.deadLetterReason}, ${decision.category}) moved to ${decision.destination}: ${decision.why}`,
    );
  } catch (error) {
    // A dead-letter queue has no maxDeliveryCount: a failed triage that abandoned its message
    // would get it back at once, forever. It is archived instead; only if even that fails (the
    // namespace is unreachable, and so is the message) does the function fail.
    try {
      await applyTriage(triageFailed(dead, error), dead, messaging(), now);
      context.error(`Triage of ${dead.messageId} failed (${(error as Error).message}); archived it`);
    } catch (archiveError) {
      if (!isTooLarge(archiveError)) throw archiveError;
      // A body at the size limit leaves no room for the properties a copy carries: it stays in
      // the dead-letter queue, deferred (browsable, out of the receive loop), never lost.
      await defer(serviceBus.actions, message, { 'x-triage-error': String((archiveError as Error).message).slice(0, 512) });
      context.error(`Triage of ${dead.messageId}: too large to copy anywhere (${(archiveError as Error).message}); deferred in ${INBOUND_QUEUE}/$deadletterqueue`);
      return;
    }
  }
  await complete(serviceBus.actions, message);
}

app.serviceBusQueue('triageInboundDeadLetters', {
  connection: 'ServiceBusConnection',
  queueName: `${INBOUND_QUEUE}/$deadletterqueue`,
  sdkBinding: true,
  autoCompleteMessages: false,
  handler: triageInboundDeadLetters,
});
