// config/field-encryption.yaml: which fields of which message types are encrypted, the field that
// binds their ciphertexts to a business id, the clear facts derived before encryption (a card's
// last four digits and brand), and which consumer may decrypt what. Checked at load against the
// message catalog: every encrypted field's schema must accept the encrypted form, every derived
// field must exist, and a consumer may only read fields that are encrypted.
import { builtInSchemaCompiler } from '@backbone/azure-model/built-in-schema';
import { formatFieldPath, parseFieldPath, type PathSegment } from '../esb/field-path';
import { schemaAt, type SchemaRegistry } from '../esb/schemas';
import { loadYamlFile } from '@backbone/azure-model/yaml-file';

export const DERIVATIONS = ['last4', 'cardBrand'] as const;
export type Derivation = (typeof DERIVATIONS)[number];

interface FileShape {
  messageTypes: Record<string, { bind: string; encrypt: string[]; derive?: Record<string, { from: string; as: Derivation }> }>;
  consumers?: Record<string, { why: string; decrypt: Record<string, string[]> }>;
}

const PATH = { type: 'string', minLength: 1, maxLength: 200 };

const validateFile = builtInSchemaCompiler({ allErrors: false, strict: true }).compile<FileShape>({
  type: 'object',
  additionalProperties: false,
  required: ['messageTypes'],
  properties: {
    messageTypes: {
      type: 'object',
      propertyNames: { pattern: '^[A-Z][A-Za-z0-9]*(\\.[A-Z][A-Za-z0-9]*)*$' },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['bind', 'encrypt'],
        properties: {
          bind: PATH,
          encrypt: { type: 'array', minItems: 1, uniqueItems: true, items: PATH },
          derive: {
            type: 'object',
            additionalProperties: { type: 'object', additionalProperties: false, required: ['from', 'as'], properties: { from: PATH, as: { enum: [...DERIVATIONS] } } },
          },
        },
      },
    },
    consumers: {
      type: 'object',
      propertyNames: { pattern: '^[A-Za-z][A-Za-z0-9_-]{0,63}$' },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['why', 'decrypt'],
        properties: {
          why: { type: 'string', minLength: 1 },
          decrypt: { type: 'object', minProperties: 1, additionalProperties: { type: 'array', minItems: 1, uniqueItems: true, items: PATH } },
        },
      },
    },
  },
});

export interface EncryptedField {
  /** As configured, e.g. payment.card.number or lines[*].note: part of the associated data. */
  path: string;
  segments: PathSegment[];
}

export interface DerivedField {
  path: string;
  segments: PathSegment[];
  from: PathSegment[];
  as: Derivation;
}

export interface MessageTypeProtection {
  messageType: string;
  bind: PathSegment[];
  bindPath: string;
  encrypt: EncryptedField[];
  derive: DerivedField[];
}

export interface FieldEncryptionConfig {
  messageTypes: ReadonlyMap<string, MessageTypeProtection>;
  /** consumer → messageType → the encrypted paths it may decrypt. */
  consumers: ReadonlyMap<string, ReadonlyMap<string, ReadonlySet<string>>>;
}

export class FieldEncryptionConfigError extends Error {
  override name = 'FieldEncryptionConfigError';
}

/** A sealed value of the right shape, to ask each schema whether it accepts the encrypted form. */
const SEALED_SAMPLE = 'enc:v1:k1:AAAAAAAAAAAAAAAA:AAAA:AAAAAAAAAAAAAAAAAAAAAA';

export function loadFieldEncryptionConfig(file: string, registry: SchemaRegistry): FieldEncryptionConfig {
  const doc = loadYamlFile(file, validateFile);
  const fail = (where: string, message: string): never => {
    throw new FieldEncryptionConfigError(`${file}: ${where}: ${message}`);
  };
  const path = (where: string, text: string, wildcards: boolean): PathSegment[] => {
    let segments: PathSegment[];
    try {
      segments = parseFieldPath(text);
    } catch (error) {
      return fail(where, (error as Error).message);
    }
    if (segments.some((s) => 'index' in s)) fail(where, `"${text}": use [*] for array items, not an index`);
    if (!wildcards && segments.some((s) => 'any' in s)) fail(where, `"${text}" cannot have [*]`);
    return segments;
  };

  const messageTypes = new Map<string, MessageTypeProtection>();
  for (const [messageType, entry] of Object.entries(doc.messageTypes)) {
    const versions = registry.versionsOf(messageType);
    if (versions.length === 0) fail(messageType, 'not in the message catalog');
    const bind = path(`${messageType}.bind`, entry.bind, false);
    const encrypt = entry.encrypt.map((p) => ({ path: formatFieldPath(path(`${messageType}.encrypt`, p, true)), segments: path(`${messageType}.encrypt`, p, true) }));
    const derive = Object.entries(entry.derive ?? {}).map(([p, d]) => ({
      path: p,
      segments: path(`${messageType}.derive`, p, false),
      from: path(`${messageType}.derive.${p}.from`, d.from, false),
      as: d.as,
    }));
    for (const model of versions) {
      const bindSchema = schemaAt(model.schema, bind);
      if (!bindSchema || !(model.schema.required ?? []).includes(entry.bind)) fail(`${messageType}.bind`, `${entry.bind} must be a required top-level field of ${model.name}`);
      for (const field of encrypt) {
        const fragment = schemaAt(model.schema, field.segments);
        if (!fragment) fail(`${messageType}.encrypt`, `${field.path} is not a field of ${model.name}`);
        if (!registry.fragmentAccepts(fragment!, SEALED_SAMPLE)) {
          fail(`${messageType}.encrypt`, `the schema of ${model.name} does not accept an encrypted value at ${field.path} (allow "pattern": "^enc:v1:…" beside the clear form)`);
        }
      }
      for (const d of derive) {
        if (!schemaAt(model.schema, d.segments)) fail(`${messageType}.derive`, `${d.path} is not a field of ${model.name}`);
        if (!schemaAt(model.schema, d.from)) fail(`${messageType}.derive.${d.path}`, `${formatFieldPath(d.from)} is not a field of ${model.name}`);
      }
    }
    messageTypes.set(messageType, { messageType, bind, bindPath: entry.bind, encrypt, derive });
  }

  const consumers = new Map<string, Map<string, Set<string>>>();
  for (const [consumer, entry] of Object.entries(doc.consumers ?? {})) {
    const reads = new Map<string, Set<string>>();
    for (const [messageType, paths] of Object.entries(entry.decrypt)) {
      const protection = messageTypes.get(messageType) ?? fail(`consumers.${consumer}`, `${messageType} has no encrypted fields`);
      const encrypted = new Set(protection.encrypt.map((f) => f.path));
      for (const p of paths) {
        const normal = formatFieldPath(path(`consumers.${consumer}.${messageType}`, p, true));
        if (!encrypted.has(normal)) fail(`consumers.${consumer}.${messageType}`, `${p} is not an encrypted field of ${messageType}`);
      }
      reads.set(messageType, new Set(paths.map((p) => formatFieldPath(parseFieldPath(p)))));
    }
    consumers.set(consumer, reads);
  }
  return { messageTypes, consumers };
}
