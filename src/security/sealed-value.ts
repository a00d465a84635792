// A field value encrypted with AES-256-GCM, written as one string that carries everything needed
// to decrypt it but the key:
//   enc:v1:<key id>:<nonce>:<ciphertext>:<tag>      (base64url without padding)
// The plaintext is the value's JSON, so a number comes back a number. A string rather than an
// object so that an encrypted field keeps fitting the formats a message travels in (an Avro
// string, an XML text node, a CSV cell) and the schemas that accept it.
//
// The associated data binds the ciphertext to its place: the message type, the field path and
// the value of the message type's binding field (its business id, e.g. the orderId). Moved to
// another field, another message type or another order, it no longer decrypts. It is not bound
// to the messageId: retries, resubmits and the event that stores the value keep the business id,
// not always the messageId.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { EncryptionKeyring } from './key-settings';

export const SEALED_PREFIX = 'enc:v1:';
/** What a JSON Schema of an encrypted field accepts (besides the clear value at the ingress). */
export const SEALED_PATTERN = '^enc:v1:[A-Za-z0-9_-]{1,64}:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]+:[A-Za-z0-9_-]{22}$';
const SEALED = new RegExp(SEALED_PATTERN);
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export interface SealContext {
  messageType: string;
  path: string;
  /** The value of the binding field (the business id). */
  binding: string;
}

export class SealedValueError extends Error {
  override name = 'SealedValueError';
}

export function isSealed(value: unknown): value is string {
  return typeof value === 'string' && SEALED.test(value);
}

function associatedData(context: SealContext): Buffer {
  return Buffer.from(['fle-v1', context.messageType, context.path, context.binding].join('\u0000'), 'utf8');
}

export function seal(value: unknown, context: SealContext, keys: EncryptionKeyring): string {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keys.current.key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData(context));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return `${SEALED_PREFIX}${keys.current.id}:${nonce.toString('base64url')}:${ciphertext.toString('base64url')}:${cipher.getAuthTag().toString('base64url')}`;
}

/** The key id a sealed value names (to tell which values an old key still protects). */
export function sealedKeyId(sealed: string): string | undefined {
  return isSealed(sealed) ? sealed.split(':')[2] : undefined;
}

/** Decrypts with the key the value names; throws if anything — key, nonce, ciphertext, tag or place — is not what was sealed. */
export function open(sealed: unknown, context: SealContext, keys: EncryptionKeyring): unknown {
  if (!isSealed(sealed)) throw new SealedValueError(`${context.messageType} ${context.path}: not an encrypted value`);
  const [, , kid, nonce, ciphertext, tag] = sealed.split(':') as [string, string, string, string, string, string];
  const key = keys.keys.get(kid);
  if (!key) throw new SealedValueError(`${context.messageType} ${context.path}: encrypted with key "${kid}", which is not configured`);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(nonce, 'base64url'), { authTagLength: TAG_BYTES });
    decipher.setAAD(associatedData(context));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    const clear = Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]);
    return JSON.parse(clear.toString('utf8')) as unknown;
  } catch {
    throw new SealedValueError(`${context.messageType} ${context.path}: the value does not decrypt (tampered, moved from another place, or another key "${kid}")`);
  }
}
