// Reading HTTP requests of the command and query API: JSON bodies within limits, If-Match
// versions, query integers, and the metadata a command carries (correlation, idempotency key,
// trace context).
import { refuseCardNumbers } from '../security/card-numbers';
import { randomUUID } from 'node:crypto';
import type { EventMetadata } from '../eventstore/event-store';
import { decodeUtf8, idFromKey } from '../esb/ingress';
import { checkBodySize, checkJsonText, inputLimits, type InputLimits } from '../esb/input-limits';
import { UnsupportedMediaTypeError, ValidationError } from '../shared/errors';

export interface RequestLike {
  headers: { get(name: string): string | null };
  arrayBuffer(): Promise<ArrayBuffer>;
}

/**
 * The body as a JSON object; 415 for another media type or charset, 413 over the body limit
 * (declared Content-Length first, before the body is read), 400 if malformed or past the
 * nesting, string or array limits (checked on the text before JSON.parse), or if a key or value
 * outside `cardFields` holds a payment card number.
 */
export async function readJsonObject(request: RequestLike, options: { limits?: InputLimits; cardFields?: readonly string[] } = {}): Promise<Record<string, unknown>> {
  const limits = options.limits ?? inputLimits();
  const [type = '', ...params] = (request.headers.get('content-type') ?? 'application/json').split(';').map((s) => s.trim().toLowerCase());
  if (type !== 'application/json' && !type.endsWith('+json')) throw new UnsupportedMediaTypeError(`Content-Type "${type}" is not supported; send application/json`, 'Content-Type');
  const charset = params
    .find((p) => p.startsWith('charset='))
    ?.slice(8)
    .replace(/"/g, '');
  if (charset && charset !== 'utf-8' && charset !== 'utf8') throw new UnsupportedMediaTypeError(`charset "${charset}" is not supported; send UTF-8`, 'Content-Type');
  const declared = Number(request.headers.get('content-length') ?? 0);
  if (Number.isFinite(declared)) checkBodySize(declared, 'body', limits);
  const body = Buffer.from(await request.arrayBuffer());
  checkBodySize(body.length, 'body', limits);
  if (body.length === 0) return {};
  const text = decodeUtf8(body);
  checkJsonText(text, limits);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ValidationError(`The body is not valid JSON: ${(error as Error).message}`, '');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ValidationError('The body must be a JSON object', '');
  // No card number in clear outside the designated card fields (which the caller encrypts).
  refuseCardNumbers(value, '', { exempt: options.cardFields });
  return value as Record<string, unknown>;
}

/** The version an If-Match names: "3", 3 or W/"3"; undefined without the header or for *. */
export function ifMatchVersion(header: string | null): number | undefined {
  if (header === null || header.trim() === '*') return undefined;
  const m = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(header);
  if (!m) throw new ValidationError(`If-Match must name a stream version, like "3" (got ${header})`, 'If-Match');
  return Number(m[1]);
}

export const etag = (version: number) => `"${version}"`;

/** A non-negative integer query parameter, or undefined when absent. */
export function intQuery(value: string | null, name: string): number | undefined {
  if (value === null || value === '') return undefined;
  if (!/^\d{1,9}$/.test(value)) throw new ValidationError(`${name} must be a whole number`, name);
  return Number(value);
}

/**
 * Metadata a command's events carry. An Idempotency-Key makes the command's messageId stable, so
 * a retried request is recognised and not applied twice.
 */
export function commandMetadata(request: RequestLike, traceParent?: string | null): Partial<EventMetadata> {
  const key = request.headers.get('idempotency-key');
  if (key !== null && (key.length === 0 || key.length > 255)) throw new ValidationError('Idempotency-Key must be 1 to 255 characters', 'Idempotency-Key');
  const correlationId = request.headers.get('x-correlation-id') ?? randomUUID();
  if (correlationId.length > 128) throw new ValidationError('X-Correlation-Id is longer than 128 characters', 'X-Correlation-Id');
  const traceparent = request.headers.get('traceparent') ?? traceParent ?? undefined;
  return { correlationId, ...(key ? { messageId: idFromKey('msg', key) } : {}), ...(traceparent ? { traceparent } : {}) };
}
