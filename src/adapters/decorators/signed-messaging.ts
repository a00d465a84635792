// Wraps the messaging port so every message the app sends, schedules or resubmits is signed with
// the current key (message-signature.ts). A resubmit is re-signed by the resubmitter — the ops
// API and the triage are trusted — but only after the message as it sits proves it came from the
// app: one that failed verification, or does not verify now, is refused, so a forged message
// parked in a dead-letter queue cannot be laundered into a signed one. Each signature binds the
// entity the message goes to (message-signature.ts).
import type { Messaging, ResubmitPreparer } from '../../ports/messaging';
import type { OutgoingMessage, ReceivedMessage } from '@backbone/azure-model/service-bus';
import { BusinessRuleError } from '../../shared/errors';
import type { SigningKeyring } from '../../security/key-settings';
import { SIGNATURE_INVALID, signedDestination, signMessage, verifyMessage } from '../../security/message-signature';

const reasonOf = (m: ReceivedMessage): unknown => m.deadLetterReason ?? m.applicationProperties['x-dead-letter-reason'] ?? m.applicationProperties.DeadLetterReason;

/** Throws (422) unless the message sitting in a dead-letter or parking queue carries the app's signature. */
export function checkResubmittable(original: ReceivedMessage, keys: SigningKeyring): void {
  const where = `message ${original.sequenceNumber} of ${original.entityPath}`;
  if (reasonOf(original) === SIGNATURE_INVALID) {
    throw new BusinessRuleError(`The ${where} failed signature verification (${SIGNATURE_INVALID}); it is not resubmitted — its sender must send it again`, 'sequenceNumber');
  }
  const check = verifyMessage(original, keys, { destination: original.entityPath, ignoreRotationWindow: true });
  if (!check.valid) throw new BusinessRuleError(`The ${where} does not carry a valid signature (${check.description}); it is not resubmitted`, 'sequenceNumber');
}

export function withSigning(inner: Messaging, keys: () => SigningKeyring): Messaging {
  const signAll = (messages: OutgoingMessage[], destination: string) => {
    const ring = keys();
    return messages.map((m) => signMessage(m, ring, destination));
  };
  return new Proxy(inner, {
    get(target, property, receiver) {
      if (property === 'send') {
        return (entityPath: string, messages: OutgoingMessage[]) => target.send(entityPath, signAll(messages, entityPath));
      }
      if (property === 'schedule') {
        return (entityPath: string, messages: OutgoingMessage[], at: Date) => target.schedule(entityPath, signAll(messages, entityPath), at);
      }
      if (property === 'resubmit') {
        return (sourcePath: string, sequenceNumber: number, targetPath?: string, prepare?: ResubmitPreparer) =>
          target.resubmit(sourcePath, sequenceNumber, targetPath, (copy, original) => {
            const ring = keys();
            checkResubmittable(original, ring);
            // Where the copy goes: the target, else back where it died (a subscription's: its topic).
            return signMessage(prepare ? prepare(copy, original) : copy, ring, signedDestination(targetPath ?? sourcePath));
          });
      }
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
