// Message integrity: an HMAC-SHA256 over a canonical form of a Service Bus message, carried in
// the application properties `sig` (base64) and `sigKeyId`. Every send of the app is signed
// (signed-messaging.ts); every Service Bus consumer verifies before it does anything else.
//
// The canonical form (version "sb-hmac-v2") is a sequence of fields, each written as its length
// (4 bytes, big-endian) and its bytes, so no two different messages share one:
//   "sb-hmac-v2"
//   the destination: the queue or topic the message was sent to, lower case (signedDestination)
//   messageId, subject, correlationId, contentType, sessionId  (each "-" absent, or "=" + value)
//   the count of signed application properties present, then for each in sorted order (by
//   UTF-16 code units): its name, and its value as a type letter and text — s string,
//   n number (JavaScript's shortest round-trip form), b boolean, d date (epoch ms), z null
//   the body bytes
// Signed application properties are the ones consumers act on (SIGNED_PROPERTIES): the message's
// identity and type, its route, and the counters that bound retries and resubmits. Properties
// that the broker or a dead-lettering consumer add later (DeadLetterReason, DeadLetterCategory,
// x-retry-*), trace context (traceparent, Diagnostic-Id, which SDK instrumentation may add) and
// subscription-filter properties of the routes are not signed.
//
// A signature means "verified by the app, for this destination": the destination is signed, so a
// signed message copied into another entity (a parked copy put back on inbound, a command replayed
// into another queue) fails verification there. What failed verification is never signed by the
// app: dead-letter triage parks it with its own properties, marked x-verification=failed, and
// every consumer refuses a message so marked (v1 signed no destination; v1 messages fail now).
import { createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { OutgoingMessage, PropertyValue } from '@backbone/azure-model/service-bus';
import { isKeyId, type SigningKeyring } from './key-settings';

export const SIGNATURE_VERSION = 'sb-hmac-v2';
export const SIGNATURE_PROPERTY = 'sig';
export const SIGNATURE_KEY_PROPERTY = 'sigKeyId';
export const SIGNATURE_INVALID = 'SignatureInvalid';
/** Set on a copy of a message that failed verification (the triage's parked copy): never signed, always refused. */
export const VERIFICATION_PROPERTY = 'x-verification';
export const VERIFICATION_FAILED = 'failed';

/**
 * The entity a signature binds: the queue or topic a message is sent to, as a consumer sees it —
 * a subscription's messages were sent to its topic, a dead letter to the entity it died in.
 * Lower case: Service Bus entity names are case-insensitive.
 */
export function signedDestination(entityPath: string): string {
  const path = entityPath.replace(/\/\$deadletterqueue$/i, '');
  const subscription = /^(.+?)\/subscriptions\/[^/]+$/i.exec(path);
  return (subscription ? subscription[1]! : path).toLowerCase();
}

export const isMarkedUnverified = (props: Record<string, unknown> | undefined): boolean => props?.[VERIFICATION_PROPERTY] === VERIFICATION_FAILED;

export const SIGNED_PROPERTIES: readonly string[] = [
  'causationId',
  'messageType',
  'priority',
  'route',
  'schema',
  'schemaVersion',
  'source',
  'x-dead-letter-category',
  'x-dead-letter-reason',
  'x-original-entity',
  'x-original-message-id',
  'x-resubmit-count',
  'x-triage-resubmits',
].sort();

/** What the signature covers, whichever way the message is held (sent or received). */
export interface SignableMessage {
  messageId?: unknown;
  subject?: unknown;
  correlationId?: unknown;
  contentType?: unknown;
  sessionId?: unknown;
  applicationProperties?: Record<string, unknown>;
  body: Buffer;
}

/** Appends one field: its length (4 bytes, big-endian), then its bytes. */
function field(out: Buffer[], bytes: Buffer): void {
  const length = Buffer.allocUnsafe(4);
  length.writeUInt32BE(bytes.length);
  out.push(length, bytes);
}

const text = (out: Buffer[], s: string) => field(out, Buffer.from(s, 'utf8'));

function header(out: Buffer[], value: unknown): void {
  text(out, value === undefined || value === null ? '-' : `=${String(value)}`);
}

/** A property value as the canonical form writes it; AMQP gives back what was sent, typed. */
export function canonicalValue(value: unknown): string {
  if (value === null) return 'z';
  if (typeof value === 'string') return `s${value}`;
  if (typeof value === 'number') return `n${String(value)}`;
  if (typeof value === 'boolean') return `b${String(value)}`;
  if (typeof value === 'bigint') return `n${value.toString()}`;
  if (value instanceof Date) return `d${value.getTime()}`;
  // A 64-bit integer decoded as a Long object (values beyond 2^53).
  if (typeof value === 'object' && typeof (value as { toString?: unknown }).toString === 'function' && 'low' in value && 'high' in value) return `n${String(value)}`;
  return `?${JSON.stringify(value)}`;
}

/** The canonical form as the chunks it is made of (the MAC is fed chunk by chunk, without copying). */
function canonicalChunks(message: SignableMessage, destination: string): Buffer[] {
  const props = message.applicationProperties ?? {};
  const signed = SIGNED_PROPERTIES.filter((name) => props[name] !== undefined);
  const out: Buffer[] = [];
  text(out, SIGNATURE_VERSION);
  text(out, signedDestination(destination));
  for (const value of [message.messageId, message.subject, message.correlationId, message.contentType, message.sessionId]) header(out, value);
  const count = Buffer.allocUnsafe(4);
  count.writeUInt32BE(signed.length);
  out.push(count);
  for (const name of signed) {
    text(out, name);
    text(out, canonicalValue(props[name]));
  }
  field(out, message.body);
  return out;
}

export function canonicalForm(message: SignableMessage, destination: string): Buffer {
  return Buffer.concat(canonicalChunks(message, destination));
}

export function mac(secret: KeyObject | Buffer, message: SignableMessage, destination: string): Buffer {
  const hmac = createHmac('sha256', secret);
  for (const chunk of canonicalChunks(message, destination)) hmac.update(chunk);
  return hmac.digest();
}

/**
 * The message with `sig` and `sigKeyId` for the current key and `destination` (any earlier
 * signature replaced). A message marked as having failed verification is returned as it is:
 * the app never vouches for it.
 */
export function signMessage<M extends OutgoingMessage>(message: M, keys: SigningKeyring, destination: string): M {
  if (isMarkedUnverified(message.applicationProperties)) return message;
  const props: Record<string, PropertyValue> = { ...message.applicationProperties };
  delete props[SIGNATURE_PROPERTY];
  delete props[SIGNATURE_KEY_PROPERTY];
  const unsigned = { ...message, applicationProperties: props };
  return {
    ...message,
    applicationProperties: {
      ...props,
      [SIGNATURE_PROPERTY]: mac(keys.current.secret, unsigned, destination).toString('base64'),
      [SIGNATURE_KEY_PROPERTY]: keys.current.id,
    },
  };
}

export type SignatureCheck = 'unsigned' | 'malformed' | 'unknown-key' | 'retired-key' | 'mismatch' | 'marked-unverified';

export type Verification = { valid: true; keyId: string } | { valid: false; check: SignatureCheck; description: string };

export interface VerifyOptions {
  /** The entity the message was received from (or sits in): its signature must be for that destination. */
  destination: string;
  /** When the broker accepted the message (its enqueued time); now when unknown. */
  enqueuedAt?: number;
  now?: number;
  /** Accept keys retired any time ago (the key must still be configured): an operator's resubmit of an old dead letter. */
  ignoreRotationWindow?: boolean;
}

function refused(check: SignatureCheck, description: string): Verification {
  return { valid: false, check, description: `${check}: ${description}` };
}

/**
 * Checks the signature with the key it names. A retired key still verifies a message the broker
 * accepted before retiredAt + the rotation window (senders still on the old settings during a
 * rotation, and messages waiting in queues); a message enqueued later with an old key — a
 * replay — is refused.
 */
export function verifyMessage(message: SignableMessage, keys: SigningKeyring, options: VerifyOptions): Verification {
  const props = message.applicationProperties ?? {};
  if (isMarkedUnverified(props)) return refused('marked-unverified', `the message is a copy of one that failed signature verification (${VERIFICATION_PROPERTY}=${VERIFICATION_FAILED})`);
  const sig = props[SIGNATURE_PROPERTY];
  const keyId = props[SIGNATURE_KEY_PROPERTY];
  if (sig === undefined && keyId === undefined) return refused('unsigned', `the message has no ${SIGNATURE_PROPERTY} and ${SIGNATURE_KEY_PROPERTY} properties`);
  if (typeof sig !== 'string' || !/^[A-Za-z0-9+/]{43}=$/.test(sig) || !isKeyId(keyId)) {
    return refused('malformed', `${SIGNATURE_PROPERTY} must be a base64 HMAC-SHA256 and ${SIGNATURE_KEY_PROPERTY} a key id`);
  }
  const key = keys.keys.get(keyId);
  if (!key) return refused('unknown-key', `key id "${keyId}" is not configured`);
  if (key.retiredAt !== undefined && !options.ignoreRotationWindow) {
    const at = options.enqueuedAt ?? options.now ?? Date.now();
    if (at >= key.retiredAt + keys.rotationWindowMs) {
      return refused(
        'retired-key',
        `key "${keyId}" retired at ${new Date(key.retiredAt).toISOString()}; the message was enqueued at ${new Date(at).toISOString()}, after the rotation window of ${keys.rotationWindowMs / 1000} s`,
      );
    }
  }
  const expected = mac(key.secret, message, options.destination);
  const given = Buffer.from(sig, 'base64');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return refused(
      'mismatch',
      `the signature does not match the message for '${signedDestination(options.destination)}' (body or a signed property changed, it was signed for another entity, or with another key "${keyId}")`,
    );
  }
  return { valid: true, keyId };
}
