// Avro ↔ payload. A message in Avro is one binary datum of the model's record schema (no
// container file); envelope fields travel beside it (HTTP headers at the ingress, Service Bus
// properties on the way out). Optional fields are ["null", T] unions: absent in JSON, null in Avro.
import type avro from 'avsc';
import { ValidationError } from '../../shared/errors';
import { inputLimits, type InputLimits } from '../input-limits';
import type { MessageModel } from '../schemas';
import { checkAvroLimits } from './avro-limits';

export class AvroEncodingError extends Error {
  override name = 'AvroEncodingError';
}

/** Avro records decode to class instances with explicit nulls; the payload is plain JSON without them. */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (Buffer.isBuffer(value)) return value;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (v !== null && v !== undefined) out[k] = plain(v);
    return out;
  }
  return value;
}

function requireAvro(model: MessageModel): avro.Type {
  if (!model.avro) throw new AvroEncodingError(`${model.name} has no Avro schema`);
  return model.avro;
}

export function encodeAvro(model: MessageModel, payload: unknown): Buffer {
  const type = requireAvro(model);
  const problems: string[] = [];
  if (!type.isValid(payload, { errorHook: (path) => problems.push(path.join('.') || '(root)') })) {
    throw new AvroEncodingError(`The payload does not fit the Avro schema of ${model.name} at ${problems.slice(0, 5).join(', ')}`);
  }
  return type.toBuffer(payload);
}

/** Decodes one datum; bytes that do not match the schema exactly (truncated, trailing, wrong types) are a 400. */
export function decodeAvro(model: MessageModel, bytes: Buffer, limits: InputLimits = inputLimits()): Record<string, unknown> {
  const type = requireAvro(model);
  checkAvroLimits(type, bytes, limits);
  try {
    return plain(type.fromBuffer(bytes)) as Record<string, unknown>;
  } catch (error) {
    throw new ValidationError(`The Avro body does not match the schema ${model.name}: ${(error as Error).message}`, '');
  }
}
