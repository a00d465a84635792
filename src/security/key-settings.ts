// The two key settings, MESSAGE_SIGNING_KEYS and FIELD_ENCRYPTION_KEYS: JSON documents (one
// Key Vault secret each in Azure, generated dev keys locally) checked with JSON Schema. Errors
// name the setting and the path, never a secret's value. Parsed once per value: a changed
// setting takes effect on the next call.
import { createSecretKey, type KeyObject } from 'node:crypto';
import type { ValidateFunction } from 'ajv';
import { builtInSchemaCompiler } from '@backbone/azure-model/built-in-schema';
import { DATE_TIME_FORMAT } from '../shared/date-time-format';
import { parseIsoDuration } from '@backbone/azure-model/durations';

/** A key id: short, and safe inside an application property and a sealed value. */
export const KEY_ID = '^[A-Za-z0-9_-]{1,64}$';
const KEY_ID_PATTERN = new RegExp(KEY_ID);
export const KEY_BYTES = 32;
/** How long a retired signing key still verifies what was enqueued before it retired (and shortly after). */
export const DEFAULT_ROTATION_WINDOW = 'P1D';

export class KeySettingError extends Error {
  override name = 'KeySettingError';
}

const schemas = builtInSchemaCompiler({ allErrors: false, strict: true, formats: DATE_TIME_FORMAT });

interface SigningKeysDocument {
  current: string;
  rotationWindow?: string;
  keys: Record<string, { secret: string; retiredAt?: string }>;
}

const validateSigning: ValidateFunction<SigningKeysDocument> = schemas.compile<SigningKeysDocument>({
  type: 'object',
  additionalProperties: false,
  required: ['current', 'keys'],
  properties: {
    current: { type: 'string', pattern: KEY_ID },
    rotationWindow: { type: 'string', minLength: 2, maxLength: 32 },
    keys: {
      type: 'object',
      minProperties: 1,
      maxProperties: 16,
      propertyNames: { pattern: KEY_ID },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['secret'],
        properties: { secret: { type: 'string', minLength: 1, maxLength: 512 }, retiredAt: { type: 'string', format: 'date-time' } },
      },
    },
  },
});

interface EncryptionKeysDocument {
  current: string;
  keys: Record<string, string>;
}

const validateEncryption: ValidateFunction<EncryptionKeysDocument> = schemas.compile<EncryptionKeysDocument>({
  type: 'object',
  additionalProperties: false,
  required: ['current', 'keys'],
  properties: {
    current: { type: 'string', pattern: KEY_ID },
    keys: { type: 'object', minProperties: 1, maxProperties: 64, propertyNames: { pattern: KEY_ID }, additionalProperties: { type: 'string', minLength: 1, maxLength: 512 } },
  },
});

export interface SigningKey {
  id: string;
  /** The secret as a key object (created once: HMAC setup is cheaper with it than with bytes). */
  secret: KeyObject;
  /** Absent while the key is active. */
  retiredAt?: number;
}

export interface SigningKeyring {
  current: SigningKey;
  keys: ReadonlyMap<string, SigningKey>;
  rotationWindowMs: number;
}

export interface EncryptionKeyring {
  current: { id: string; key: Buffer };
  keys: ReadonlyMap<string, Buffer>;
}

function parseJson(setting: string, text: string | undefined): unknown {
  if (!text?.trim())
    throw new KeySettingError(`${setting} is not set: the app cannot ${setting === 'MESSAGE_SIGNING_KEYS' ? 'sign or verify messages' : 'encrypt or decrypt sensitive fields'} without it`);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // The parser's message may quote the text, and the text holds secrets.
    throw new KeySettingError(`${setting} is not valid JSON`);
  }
}

function schemaError(setting: string, validate: ValidateFunction): KeySettingError {
  const e = validate.errors![0]!;
  return new KeySettingError(`${setting}: ${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}`);
}

/** 32 random bytes as base64; `openssl rand -base64 32` gives the same. */
function decodeSecret(setting: string, where: string, text: string): Buffer {
  const bytes = Buffer.from(text, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || bytes.length !== KEY_BYTES) {
    throw new KeySettingError(`${setting}: ${where} must be ${KEY_BYTES} random bytes in base64 (e.g. openssl rand -base64 32)`);
  }
  return bytes;
}

export function parseSigningKeys(text: string | undefined): SigningKeyring {
  const doc = parseJson('MESSAGE_SIGNING_KEYS', text);
  if (!validateSigning(doc)) throw schemaError('MESSAGE_SIGNING_KEYS', validateSigning);
  const keys = new Map<string, SigningKey>();
  for (const [id, k] of Object.entries(doc.keys)) {
    keys.set(id, { id, secret: createSecretKey(decodeSecret('MESSAGE_SIGNING_KEYS', `/keys/${id}/secret`, k.secret)), ...(k.retiredAt ? { retiredAt: Date.parse(k.retiredAt) } : {}) });
  }
  const current = keys.get(doc.current);
  if (!current) throw new KeySettingError(`MESSAGE_SIGNING_KEYS: current names "${doc.current}", which is not in keys`);
  if (current.retiredAt !== undefined) throw new KeySettingError(`MESSAGE_SIGNING_KEYS: the current key "${doc.current}" has a retiredAt; make another key current first`);
  let rotationWindowMs: number;
  try {
    rotationWindowMs = parseIsoDuration(doc.rotationWindow ?? DEFAULT_ROTATION_WINDOW);
  } catch {
    throw new KeySettingError('MESSAGE_SIGNING_KEYS: /rotationWindow must be an ISO 8601 duration such as P1D or PT6H');
  }
  return { current, keys, rotationWindowMs };
}

export function parseEncryptionKeys(text: string | undefined): EncryptionKeyring {
  const doc = parseJson('FIELD_ENCRYPTION_KEYS', text);
  if (!validateEncryption(doc)) throw schemaError('FIELD_ENCRYPTION_KEYS', validateEncryption);
  const keys = new Map<string, Buffer>();
  for (const [id, secret] of Object.entries(doc.keys)) keys.set(id, decodeSecret('FIELD_ENCRYPTION_KEYS', `/keys/${id}`, secret));
  const current = keys.get(doc.current);
  if (!current) throw new KeySettingError(`FIELD_ENCRYPTION_KEYS: current names "${doc.current}", which is not in keys`);
  return { current: { id: doc.current, key: current }, keys };
}

export function isKeyId(value: unknown): value is string {
  return typeof value === 'string' && KEY_ID_PATTERN.test(value);
}

/** Parses a setting once per distinct value. */
export function cachedBy<T>(parse: (text: string | undefined) => T): (text: string | undefined) => T {
  let last: { text: string | undefined; value: T } | undefined;
  return (text) => {
    if (!last || last.text !== text) last = { text, value: parse(text) };
    return last.value;
  };
}

export const signingKeysFrom = cachedBy(parseSigningKeys);
export const encryptionKeysFrom = cachedBy(parseEncryptionKeys);

/** The process's keys, from the app settings. */
export const signingKeys = (): SigningKeyring => signingKeysFrom(process.env.MESSAGE_SIGNING_KEYS);
export const encryptionKeys = (): EncryptionKeyring => encryptionKeysFrom(process.env.FIELD_ENCRYPTION_KEYS);
