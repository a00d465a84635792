// The canonical message envelope (DESIGN.md): business intent plus the ids that let every hop
// correlate it. Validated with JSON Schema; errors name the failing field's path.
import type { ErrorObject } from 'ajv';
import { builtInSchemaCompiler } from '@backbone/azure-model/built-in-schema';
import { DATE_TIME_FORMAT } from '../shared/date-time-format';
import { ValidationError, type ErrorDetail } from '../shared/errors';

export type Priority = 'low' | 'normal' | 'high' | 'urgent';

export interface EnvelopeHeaders {
  source?: string;
  priority?: Priority;
  /** Seconds the message stays valid; becomes the Service Bus message TTL. */
  ttl?: number;
  contentType?: string;
  [custom: string]: string | number | boolean | undefined;
}

export interface Envelope<P = Record<string, unknown>> {
  messageId: string;
  messageType: string;
  schemaVersion: number;
  correlationId: string;
  causationId?: string;
  timestamp: string;
  headers: EnvelopeHeaders;
  payload: P;
}

/** What a producer may send: ids and timestamp are filled in when absent. */
export type EnvelopeInput = Partial<Pick<Envelope, 'messageId' | 'correlationId' | 'causationId' | 'timestamp' | 'schemaVersion' | 'headers'>> & Pick<Envelope, 'messageType' | 'payload'>;

const ID = { type: 'string', minLength: 1, maxLength: 128, pattern: '^[\\x21-\\x7E]+$' };
const MAX_TTL_SECONDS = 14 * 24 * 3600;

export const envelopeSchema = {
  $id: 'envelope',
  type: 'object',
  additionalProperties: false,
  required: ['messageType', 'payload'],
  properties: {
    messageId: ID,
    messageType: { type: 'string', minLength: 1, maxLength: 100, pattern: '^[A-Z][A-Za-z0-9]*(\\.[A-Z][A-Za-z0-9]*)*$' },
    schemaVersion: { type: 'integer', minimum: 1, maximum: 1000 },
    correlationId: ID,
    causationId: ID,
    timestamp: { type: 'string', format: 'date-time' },
    headers: {
      type: 'object',
      maxProperties: 32,
      properties: {
        source: { type: 'string', minLength: 1, maxLength: 100 },
        priority: { enum: ['low', 'normal', 'high', 'urgent'] },
        ttl: { type: 'integer', minimum: 1, maximum: MAX_TTL_SECONDS },
        contentType: { type: 'string', maxLength: 100 },
      },
      additionalProperties: {
        anyOf: [{ type: 'string', maxLength: 1024 }, { type: 'number' }, { type: 'boolean' }],
      },
      propertyNames: { pattern: '^[A-Za-z][A-Za-z0-9_-]{0,63}$' },
    },
    payload: { type: 'object' },
  },
} as const;

const schemas = builtInSchemaCompiler({ allErrors: true, strict: true, formats: DATE_TIME_FORMAT });
const validateEnvelope = schemas.compile(envelopeSchema);

/** JSON pointer (/headers/ttl) → dotted path (headers.ttl, payload.items[0].sku). */
export function pointerToPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), '');
}

export function describeAjvError(e: ErrorObject, root = ''): ErrorDetail {
  let target = pointerToPath(e.instancePath);
  let message = e.message ?? 'is invalid';
  if (e.keyword === 'required') {
    const missing = String((e.params as { missingProperty: string }).missingProperty);
    target = target ? `${target}.${missing}` : missing;
    message = 'is required';
  } else if (e.keyword === 'additionalProperties') {
    const extra = String((e.params as { additionalProperty: string }).additionalProperty);
    target = target ? `${target}.${extra}` : extra;
    message = 'is not allowed here';
  } else if (e.keyword === 'enum') {
    message = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
  }
  if (root) target = target ? `${root}.${target}` : root;
  return { target, message };
}

/** Throws ValidationError (400) naming each failing field; returns the input typed otherwise. */
export function parseEnvelopeInput(value: unknown): EnvelopeInput {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError('The body must be a JSON object (the message envelope)', '');
  }
  if (!validateEnvelope(value)) {
    const details = (validateEnvelope.errors ?? []).map((e) => describeAjvError(e));
    const first = details[0]!;
    throw new ValidationError(`${first.target || 'body'} ${first.message}`, first.target, details);
  }
  return value as unknown as EnvelopeInput;
}

export interface EnvelopeDefaults {
  messageId: () => string;
  correlationId: () => string;
  now: () => Date;
}

/** Completes an envelope: ids when absent, timestamp, schemaVersion 1, priority normal. */
export function completeEnvelope(input: EnvelopeInput, defaults: EnvelopeDefaults): Envelope {
  return {
    messageId: input.messageId ?? defaults.messageId(),
    messageType: input.messageType,
    schemaVersion: input.schemaVersion ?? 1,
    correlationId: input.correlationId ?? defaults.correlationId(),
    ...(input.causationId ? { causationId: input.causationId } : {}),
    timestamp: input.timestamp ?? defaults.now().toISOString(),
    headers: { priority: 'normal', ...(input.headers ?? {}) },
    payload: input.payload,
  };
}

/** Re-validates an envelope a consumer received (producers other than the ingress exist). */
export function parseEnvelope(value: unknown): Envelope {
  const input = parseEnvelopeInput(value);
  for (const field of ['messageId', 'correlationId', 'timestamp'] as const) {
    if (input[field] === undefined) throw new ValidationError(`${field} is required on a queued envelope`, field);
  }
  return completeEnvelope(input, {
    messageId: () => input.messageId!,
    correlationId: () => input.correlationId!,
    now: () => new Date(input.timestamp!),
  });
}
