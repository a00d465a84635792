// The HTTP → Service Bus protocol adapter: turns a request body into a canonical envelope and
// puts it on the inbound queue. Everything a client can get wrong is answered with a typed
// error (400/413/415) naming what is wrong; nothing is acknowledged before the broker has it.
import { createHash, randomUUID } from 'node:crypto';
import type { MessageSender } from '../messaging/messaging';
import type { OutgoingMessage } from '../messaging/types';
import { PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError } from '../shared/errors';
import { completeEnvelope, parseEnvelopeInput, type Envelope } from './envelope';

export const INBOUND_QUEUE = 'inbound';

export const INGRESS_LIMITS = {
  /** Service Bus Standard's message size limit, body and properties together. */
  maxMessageBytes: 256 * 1024,
  maxNestingDepth: 32,
  maxIdempotencyKeyLength: 255,
};

export interface IngressRequest {
  contentType: string | null;
  contentLength?: number;
  body: Buffer;
  idempotencyKey: string | null;
  traceparent?: string | null;
  tracestate?: string | null;
}

export interface IngressDeps {
  sender: MessageSender;
  now: () => Date;
}

export interface Accepted {
  messageId: string;
  correlationId: string;
}

/** A stable id derived from an Idempotency-Key, so a retried request maps to the same message. */
export function idFromKey(kind: 'msg' | 'corr', key: string): string {
  const hex = createHash('sha256').update(`${kind}\u0000${key}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export function checkContentType(contentType: string | null, accepted: string[]): void {
  const [mediaType = '', ...params] = (contentType ?? '').split(';').map((s) => s.trim().toLowerCase());
  if (!accepted.includes(mediaType)) {
    throw new UnsupportedMediaTypeError(
      `Content-Type ${mediaType ? `"${mediaType}"` : '(missing)'} is not supported; send ${accepted.join(', ')}`,
      'Content-Type',
    );
  }
  const charset = params.find((p) => p.startsWith('charset='))?.slice(8).replace(/"/g, '');
  if (charset && charset !== 'utf-8' && charset !== 'utf8') {
    throw new UnsupportedMediaTypeError(`charset "${charset}" is not supported; send UTF-8`, 'Content-Type');
  }
}

export function checkSize(size: number): void {
  if (size > INGRESS_LIMITS.maxMessageBytes) {
    throw new PayloadTooLargeError(
      `The message is ${size} bytes; the limit is ${INGRESS_LIMITS.maxMessageBytes} (Service Bus Standard, body and properties together)`,
    );
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeUtf8(body: Buffer): string {
  try {
    return utf8.decode(body);
  } catch {
    throw new ValidationError('The body is not valid UTF-8', '');
  }
}

/** Rejects pathological nesting before JSON.parse builds it. */
export function checkNesting(text: string, maxDepth = INGRESS_LIMITS.maxNestingDepth): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > maxDepth) throw new ValidationError(`The JSON is nested more than ${maxDepth} levels deep`, '');
    } else if (c === 125 || c === 93) depth--;
  }
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ValidationError(`Malformed JSON: ${(error as Error).message}`, '');
  }
}

function checkIdempotencyKey(key: string | null): string | undefined {
  if (key === null) return undefined;
  if (key.length === 0 || key.length > INGRESS_LIMITS.maxIdempotencyKeyLength || !/^[\x21-\x7E]+$/.test(key)) {
    throw new ValidationError(
      `Idempotency-Key must be 1 to ${INGRESS_LIMITS.maxIdempotencyKeyLength} printable ASCII characters without spaces`,
      'Idempotency-Key',
    );
  }
  return key;
}

/** Maps an envelope to the Service Bus message the router will receive. */
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

export async function acceptMessage(request: IngressRequest, deps: IngressDeps): Promise<Accepted> {
  if (request.contentLength !== undefined && Number.isFinite(request.contentLength)) checkSize(request.contentLength);
  checkSize(request.body.length);
  checkContentType(request.contentType, ['application/json']);
  const key = checkIdempotencyKey(request.idempotencyKey);
  const text = decodeUtf8(request.body);
  checkNesting(text);
  const input = parseEnvelopeInput(parseJson(text));
  const envelope = completeEnvelope(input, {
    messageId: () => (key ? idFromKey('msg', key) : randomUUID()),
    correlationId: () => (key ? idFromKey('corr', key) : randomUUID()),
    now: deps.now,
  });
  const message = toServiceBusMessage(envelope, request);
  checkSize(messageBytes(message));
  // Duplicate detection on the inbound queue (keyed on messageId) makes a retried
  // Idempotency-Key enqueue once; the send resolves only when the broker has persisted it.
  await deps.sender.send(INBOUND_QUEUE, [message]);
  return { messageId: envelope.messageId, correlationId: envelope.correlationId };
}
