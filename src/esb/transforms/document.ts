// A message on its way through the ESB: its model (OrderPlaced.v1), its format, the envelope
// fields every format keeps beside the content, and the content itself — the payload object for
// json, the XML or CSV text, the Avro bytes.
import type { Envelope, EnvelopeHeaders } from '../envelope';

export const FORMATS = ['json', 'xml', 'avro', 'csv'] as const;
export type Format = (typeof FORMATS)[number];

export const CONTENT_TYPES: Record<Format, string> = {
  json: 'application/json',
  xml: 'application/xml',
  avro: 'avro/binary',
  csv: 'text/csv',
};

export interface EnvelopeMeta {
  messageId: string;
  correlationId: string;
  causationId?: string;
  timestamp: string;
  headers: EnvelopeHeaders;
}

export interface Doc {
  model: string;
  format: Format;
  meta: EnvelopeMeta;
  content: unknown;
}

export function representation(model: string, format: Format): string {
  return `${model}:${format}`;
}

export function splitModel(model: string): { messageType: string; schemaVersion: number } {
  const i = model.lastIndexOf('.v');
  return { messageType: model.slice(0, i), schemaVersion: Number(model.slice(i + 2)) };
}

export function docFromEnvelope(envelope: Envelope): Doc {
  const { payload, messageType, schemaVersion, ...meta } = envelope;
  return { model: `${messageType}.v${schemaVersion}`, format: 'json', meta, content: payload };
}

export function envelopeOf(doc: Doc & { format: 'json' }): Envelope {
  return { ...splitModel(doc.model), ...doc.meta, payload: doc.content as Record<string, unknown> };
}

/** The bytes that go on the wire for a document, and their content type. */
export function encodeDoc(doc: Doc): { body: Buffer; contentType: string } {
  const contentType = CONTENT_TYPES[doc.format];
  switch (doc.format) {
    case 'json':
      return { body: Buffer.from(JSON.stringify(envelopeOf(doc as Doc & { format: 'json' }))), contentType };
    case 'avro':
      return { body: doc.content as Buffer, contentType };
    default:
      return { body: Buffer.from(doc.content as string), contentType };
  }
}
