// The HTTP → Service Bus protocol adapter: turns a request body — a JSON envelope, XML, Avro or
// a CSV batch — into canonical envelopes and puts them on the inbound queue. Every message is
// checked against the envelope schema and its payload schema (messageType + schemaVersion); what
// a client can get wrong is answered with a typed error (400/413/415) naming the field, and
// nothing is acknowledged before the broker has persisted it. Sensitive fields (card details,
// personal data: config/field-encryption.yaml) are encrypted after validation and before the
// send, so no message leaves the ingress with them in clear.
import { refuseCardNumbers } from '../security/card-numbers';
import { isSealed } from '../security/sealed-value';
import { createHash, randomUUID } from 'node:crypto';
import type { MessageSender } from '../ports/messaging';
import type { OutgoingMessage } from '@backbone/azure-model/service-bus';
import { AppError, PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError } from '../shared/errors';
import { completeEnvelope, parseEnvelopeInput, type Envelope, type EnvelopeInput } from './envelope';
import { checkBodySize, checkJsonText, inputLimits } from './input-limits';
import { decodeAvro } from './formats/avro';
import { MAX_CSV_ROWS, parseCsv, rowToPayload } from './formats/csv';
import { parseXmlDocument, readXmlEnvelope, xmlToPayload } from './formats/xml';
import { modelName, type MessageModel, type SchemaRegistry } from './schemas';

export const INBOUND_QUEUE = 'inbound';

// Body size, nesting, string and array lengths are the configurable input limits (input-limits.ts).
export const INGRESS_LIMITS = {
  /** Service Bus Standard's message size limit, body and properties together. */
  maxMessageBytes: 256 * 1024,
  maxIdempotencyKeyLength: 255,
  sendChunk: 100,
};

const MEDIA_TYPES: Record<string, 'json' | 'xml' | 'avro' | 'csv'> = {
  'application/json': 'json',
  'application/xml': 'xml',
  'text/xml': 'xml',
  'avro/binary': 'avro',
  'application/avro': 'avro',
  'text/csv': 'csv',
};

export interface IngressRequest {
  contentType: string | null;
  contentLength?: number;
  body: Buffer;
  /** Request headers by lower-case name (Idempotency-Key, X-Schema, X-Message-Id …). */
  header: (name: string) => string | null;
  traceparent?: string | null;
  tracestate?: string | null;
}

/** Field-level encryption (src/security/field-protection.ts): returns the payload with its sensitive fields encrypted. */
export interface PayloadProtector {
  protect(messageType: string, payload: Record<string, unknown>, root?: string): Record<string, unknown>;
}

export interface IngressDeps {
  sender: MessageSender;
  registry: SchemaRegistry;
  fields: PayloadProtector;
  now: () => Date;
}

export interface Accepted {
  messageId: string;
  correlationId: string;
}

export interface AcceptedBatch {
  count: number;
  messages: (Accepted & { row: number })[];
}

/** A stable id derived from an Idempotency-Key, so a retried request maps to the same message. */
export function idFromKey(kind: 'msg' | 'corr', key: string): string {
  const hex = createHash('sha256').update(`${kind}\u0000${key}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export function mediaType(contentType: string | null): 'json' | 'xml' | 'avro' | 'csv' {
  const [type = '', ...params] = (contentType ?? '').split(';').map((s) => s.trim().toLowerCase());
  const format = MEDIA_TYPES[type];
  if (!format) {
    throw new UnsupportedMediaTypeError(`Content-Type ${type ? `"${type}"` : '(missing)'} is not supported; send application/json, application/xml, avro/binary or text/csv`, 'Content-Type');
  }
  const charset = params
    .find((p) => p.startsWith('charset='))
    ?.slice(8)
    .replace(/"/g, '');
  if (charset && charset !== 'utf-8' && charset !== 'utf8') {
    throw new UnsupportedMediaTypeError(`charset "${charset}" is not supported; send UTF-8`, 'Content-Type');
  }
  return format;
}

function checkSize(size: number, limit: number, what = 'The message'): void {
  if (size > limit) throw new PayloadTooLargeError(`${what} is ${size} bytes; the limit is ${limit}`);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeUtf8(body: Buffer): string {
  try {
    return utf8.decode(body);
  } catch {
    throw new ValidationError('The body is not valid UTF-8', '');
  }
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ValidationError(`Malformed JSON: ${(error as Error).message}`, '');
  }
}

function idempotencyKey(request: IngressRequest): string | undefined {
  const key = request.header('idempotency-key');
  if (key === null) return undefined;
  if (key.length === 0 || key.length > INGRESS_LIMITS.maxIdempotencyKeyLength || !/^[\x21-\x7E]+$/.test(key)) {
    throw new ValidationError(`Idempotency-Key must be 1 to ${INGRESS_LIMITS.maxIdempotencyKeyLength} printable ASCII characters without spaces`, 'Idempotency-Key');
  }
  return key;
}

/** Envelope fields of formats that carry only a payload (Avro, CSV, partner XML) come from headers. */
function envelopeFromHeaders(request: IngressRequest, messageType: string, schemaVersion: number, payload: unknown): EnvelopeInput {
  const h = (name: string) => request.header(name) ?? undefined;
  const ttl = h('x-ttl');
  const headers: Record<string, unknown> = {};
  if (h('x-source') !== undefined) headers.source = h('x-source');
  if (h('x-priority') !== undefined) headers.priority = h('x-priority');
  if (ttl !== undefined) headers.ttl = /^\d+$/.test(ttl) ? Number(ttl) : ttl;
  const input: Record<string, unknown> = { messageType, schemaVersion, payload };
  if (Object.keys(headers).length > 0) input.headers = headers;
  for (const [field, header] of [
    ['messageId', 'x-message-id'],
    ['correlationId', 'x-correlation-id'],
    ['causationId', 'x-causation-id'],
    ['timestamp', 'x-timestamp'],
  ] as const) {
    if (h(header) !== undefined) input[field] = h(header);
  }
  return parseEnvelopeInput(input);
}

/** The model a payload-only format names: X-Schema (OrderPlaced.v1), or X-Message-Type (+ X-Schema-Version). */
function namedModel(request: IngressRequest, registry: SchemaRegistry, format: string): MessageModel {
  const schema = request.header('x-schema');
  const type = request.header('x-message-type');
  const version = request.header('x-schema-version');
  let name: string;
  if (schema) name = schema;
  else if (type) {
    if (version !== null && !/^\d+$/.test(version)) throw new ValidationError('X-Schema-Version must be a positive integer', 'X-Schema-Version');
    name = modelName(type, version === null ? 1 : Number(version));
  } else {
    throw new ValidationError(`A ${format} body needs an X-Schema header naming its schema (e.g. OrderPlaced.v1), or X-Message-Type`, 'X-Schema');
  }
  const model = registry.find(name);
  if (!model) throw new ValidationError(`No schema named ${name} in the message catalog`, schema ? 'X-Schema' : 'X-Message-Type');
  return model;
}

function modelOf(registry: SchemaRegistry, input: EnvelopeInput, target = 'messageType'): MessageModel {
  const name = modelName(input.messageType, input.schemaVersion ?? 1);
  const model = registry.find(name);
  if (!model) throw new ValidationError(`messageType ${input.messageType} v${input.schemaVersion ?? 1} has no schema in the message catalog`, target);
  return model;
}

function prefixed(error: unknown, prefix: string): never {
  if (error instanceof AppError) {
    const details = error.details.map((d) => ({ target: d.target ? `${prefix}.${d.target}` : prefix, message: d.message }));
    const target = error.target ? `${prefix}.${error.target}` : prefix;
    throw new ValidationError(`${prefix}: ${error.message}`, target, details);
  }
  throw error;
}

/** Maps an envelope to the Service Bus message the router receives. */
export function toServiceBusMessage(envelope: Envelope, trace?: { traceparent?: string | null; tracestate?: string | null }): OutgoingMessage {
  const props: Record<string, string | number> = {
    messageType: envelope.messageType,
    schemaVersion: envelope.schemaVersion,
    priority: envelope.headers.priority ?? 'normal',
  };
  if (envelope.headers.source) props.source = envelope.headers.source;
  if (envelope.causationId) props.causationId = envelope.causationId;
  if (trace?.traceparent) {
    props.traceparent = trace.traceparent;
    props['Diagnostic-Id'] = trace.traceparent;
    if (trace.tracestate) props.tracestate = trace.tracestate;
  }
  return {
    body: Buffer.from(JSON.stringify(envelope)),
    contentType: 'application/json',
    messageId: envelope.messageId,
    correlationId: envelope.correlationId,
    subject: envelope.messageType,
    timeToLiveMs: envelope.headers.ttl !== undefined ? envelope.headers.ttl * 1000 : undefined,
    applicationProperties: props,
  };
}

function messageBytes(m: OutgoingMessage): number {
  let n = m.body.length;
  for (const s of [m.messageId, m.correlationId, m.contentType, m.subject]) n += s ? Buffer.byteLength(s) : 0;
  for (const [k, v] of Object.entries(m.applicationProperties ?? {})) n += Buffer.byteLength(k) + Buffer.byteLength(String(v));
  return n;
}

interface Decoded {
  input: EnvelopeInput;
  model: MessageModel;
}

function decodeSingle(format: 'json' | 'xml' | 'avro', request: IngressRequest, registry: SchemaRegistry): Decoded {
  if (format === 'avro') {
    const model = namedModel(request, registry, 'Avro');
    if (!model.avro) throw new ValidationError(`${model.name} has no Avro schema; send it as JSON, XML or CSV`, 'X-Schema');
    const payload = decodeAvro(model, request.body);
    return { input: envelopeFromHeaders(request, model.messageType, model.schemaVersion, payload), model };
  }
  const text = decodeUtf8(request.body);
  if (format === 'json') {
    checkJsonText(text);
    const input = parseEnvelopeInput(parseJson(text));
    return { input, model: modelOf(registry, input) };
  }
  const doc = parseXmlDocument(text);
  if (doc.root === 'message') {
    const { payloadNode, ...fields } = readXmlEnvelope(doc);
    const model = registry.find(modelName(fields.messageType, fields.schemaVersion));
    const draft: Record<string, unknown> = { ...fields, payload: xmlToPayload(model?.schema, payloadNode) };
    for (const k of Object.keys(draft)) if (draft[k] === undefined) delete draft[k];
    const input = parseEnvelopeInput(draft);
    return { input, model: modelOf(registry, input) };
  }
  const model = registry.byXmlRoot(doc.root);
  if (!model) throw new ValidationError(`<${doc.root}> is neither a <message> envelope nor a partner document of the catalog`, '');
  return { input: envelopeFromHeaders(request, model.messageType, model.schemaVersion, xmlToPayload(model.schema, doc.node)), model };
}

function complete(input: EnvelopeInput, key: string | undefined, now: () => Date): Envelope {
  return completeEnvelope(input, {
    messageId: () => (key ? idFromKey('msg', key) : randomUUID()),
    correlationId: () => (key ? idFromKey('corr', key) : randomUUID()),
    now,
  });
}

async function sendAll(sender: MessageSender, messages: OutgoingMessage[]): Promise<void> {
  // Duplicate detection on the inbound queue (keyed on messageId) makes a retried request with
  // the same Idempotency-Key enqueue each message once, even if an earlier attempt half-succeeded.
  for (let i = 0; i < messages.length; i += INGRESS_LIMITS.sendChunk) {
    await sender.send(INBOUND_QUEUE, messages.slice(i, i + INGRESS_LIMITS.sendChunk));
  }
}

export async function acceptMessage(request: IngressRequest, deps: IngressDeps): Promise<Accepted | AcceptedBatch> {
  const format = mediaType(request.contentType);
  const limits = inputLimits();
  const kind = format === 'csv' ? 'batch' : 'body';
  if (request.contentLength !== undefined && Number.isFinite(request.contentLength)) checkBodySize(request.contentLength, kind, limits);
  checkBodySize(request.body.length, kind, limits);
  const key = idempotencyKey(request);
  if (format === 'csv') return acceptCsv(request, deps, key);

  const { input, model } = decodeSingle(format, request, deps.registry);
  deps.registry.validatePayload(model, input.payload);
  const envelope = complete({ ...input, payload: deps.fields.protect(model.messageType, input.payload) }, key, deps.now);
  // Designated card fields are sealed by now; a card number anywhere else (an id, a header, free text) is refused.
  refuseCardNumbers(envelope, '', { skip: isSealed });
  const message = toServiceBusMessage(envelope, request);
  checkSize(messageBytes(message), INGRESS_LIMITS.maxMessageBytes, 'The message (with its properties)');
  await sendAll(deps.sender, [message]);
  return { messageId: envelope.messageId, correlationId: envelope.correlationId };
}

async function acceptCsv(request: IngressRequest, deps: IngressDeps, key: string | undefined): Promise<AcceptedBatch> {
  const model = namedModel(request, deps.registry, 'CSV');
  const table = parseCsv(decodeUtf8(request.body));
  const batchCorrelation = request.header('x-correlation-id') ?? (key ? idFromKey('corr', key) : randomUUID());
  const envelopes = table.rows.map((row, i) => {
    const target = `rows[${i}]`;
    try {
      const payload = rowToPayload(row, model.schema, target);
      const input = envelopeFromHeaders(request, model.messageType, model.schemaVersion, payload);
      for (const field of ['messageId', 'correlationId', 'causationId'] as const) {
        const cell = row.get(`@${field}`);
        if (cell !== undefined) (input as Record<string, unknown>)[field] = cell;
      }
      const checked = parseEnvelopeInput(input);
      deps.registry.validatePayload(model, checked.payload);
      const envelope = completeEnvelope(
        { ...checked, payload: deps.fields.protect(model.messageType, checked.payload) },
        {
          messageId: () => (key ? idFromKey('msg', `${key}#${i}`) : randomUUID()),
          correlationId: () => batchCorrelation,
          now: deps.now,
        },
      );
      refuseCardNumbers(envelope, '', { skip: isSealed });
      return envelope;
    } catch (error) {
      return prefixed(error, target);
    }
  });
  const messages = envelopes.map((e, i) => {
    const m = toServiceBusMessage(e, request);
    checkSize(messageBytes(m), INGRESS_LIMITS.maxMessageBytes, `rows[${i}]`);
    return m;
  });
  await sendAll(deps.sender, messages);
  return {
    count: envelopes.length,
    messages: envelopes.map((e, row) => ({ row, messageId: e.messageId, correlationId: e.correlationId })),
  };
}

export { MAX_CSV_ROWS };
