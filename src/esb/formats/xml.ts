// XML ↔ the canonical envelope. The mapping (documented in docs/esb.md):
//
//   <message messageId=".." messageType="OrderPlaced" schemaVersion="1" correlationId=".."
//            causationId=".." timestamp="..">
//     <headers><source>web</source><priority>high</priority><ttl>300</ttl></headers>
//     <payload> one element per payload field; an array is a container element holding one
//               <item> per element; text is typed by the message's JSON Schema </payload>
//   </message>
//
// A partner document in its own shape (root element registered in the catalog, e.g.
// <PurchaseOrder>) is the payload itself; its envelope fields come from the transport.
// Documents with a DOCTYPE or entity declarations are refused (no XXE, no entity expansion).
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { ValidationError } from '../../shared/errors';
import { inputLimits, type InputLimits } from '../input-limits';
import type { JsonSchema } from '../schemas';
import { typedFromXml } from './typed-values';
import { characterReference, checkXmlText } from './xml-limits';

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

// Entities are disabled (xml-limits.ts refuses a DOCTYPE and any other reference before parsing):
// this decoder knows only the five predefines and character references, and refuses the entity
// declarations a DOCTYPE would bring.
const entityDecoder = {
  decode: (text: string) =>
    text.replace(/&(#x[0-9A-Fa-f]{1,6}|#[0-9]{1,7}|lt|gt|amp|quot|apos);/g, (whole, body: string) => {
      if (!body.startsWith('#')) return PREDEFINED[body]!;
      const cp = characterReference(body);
      return cp === undefined ? whole : String.fromCodePoint(cp);
    }),
  addInputEntities: () => {
    throw new ValidationError('XML with a DOCTYPE or entity declarations is not accepted', '');
  },
  setExternalEntities: () => undefined,
  reset: () => undefined,
  setXmlVersion: () => undefined,
};

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: true,
  entityDecoder,
  removeNSPrefix: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  // Names the parser would have to rename to keep its own objects working (toString,
  // hasOwnProperty …) are refused rather than silently renamed to __toString.
  onDangerousProperty: (name: string) => {
    throw new ValidationError(`"${name}" cannot be an element or attribute name`, '');
  },
});

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: false, format: false });

const XML_NAME = /^[A-Za-z_][A-Za-z0-9._-]*$/;
// Characters XML 1.0 cannot carry, even as references.
const NOT_XML_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export class XmlEncodingError extends Error {
  override name = 'XmlEncodingError';
}

/** Parses untrusted XML into a plain tree, or throws ValidationError (400) saying where it is wrong. */
export function parseXmlDocument(text: string, limits: InputLimits = inputLimits()): { root: string; node: unknown; attributes: Record<string, string> } {
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) {
    throw new ValidationError('XML with a DOCTYPE or entity declarations is not accepted', '');
  }
  checkXmlText(text, limits);
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    throw new ValidationError(`Malformed XML at line ${valid.err.line}, column ${valid.err.col}: ${valid.err.msg}`, '');
  }
  let tree: Record<string, unknown>;
  try {
    tree = parser.parse(text) as Record<string, unknown>;
  } catch (error) {
    // The validator passes some documents the parser then refuses (an unclosed <?pi): the
    // parser's own complaints are about the input. A TypeError or RangeError would be a bug.
    if (error instanceof ValidationError || (error as Error)?.constructor !== Error) throw error;
    throw new ValidationError(`Malformed XML: ${(error as Error).message}`, '');
  }
  const roots = Object.keys(tree).filter((k) => !k.startsWith('?') && k !== '#text' && k !== '#comment');
  if (roots.length !== 1) throw new ValidationError('An XML document must have exactly one root element', '');
  const root = roots[0]!;
  const rootNode = tree[root];
  const attributes: Record<string, string> = {};
  if (rootNode && typeof rootNode === 'object') {
    for (const [k, v] of Object.entries(rootNode as Record<string, unknown>)) if (k.startsWith('@_')) attributes[k.slice(2)] = String(v);
  }
  return { root, node: stripMarkup(rootNode), attributes };
}

/** Drops attributes, comments and the whitespace that indents mixed content. */
function stripMarkup(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(stripMarkup);
  if (node === null || typeof node !== 'object') return node;
  const entries = Object.entries(node as Record<string, unknown>).filter(([k]) => !k.startsWith('@_') && k !== '#comment');
  const elements = entries.filter(([k]) => k !== '#text');
  const text = entries.find(([k]) => k === '#text')?.[1];
  if (elements.length === 0) return text === undefined ? '' : String(text);
  if (text !== undefined && String(text).trim() !== '') return node; // real mixed content: left for validation to refuse
  return Object.fromEntries(elements.map(([k, v]) => [k, stripMarkup(v)]));
}

export function xmlToPayload(schema: JsonSchema | undefined, node: unknown): unknown {
  return typedFromXml(schema, node);
}

function toXmlValue(value: unknown, path: string): unknown {
  if (Array.isArray(value)) return value.length === 0 ? '' : { item: value.map((v, i) => toXmlValue(v, `${path}[${i}]`)) };
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '';
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) {
      if (!XML_NAME.test(k) || /^xml/i.test(k)) throw new XmlEncodingError(`${path}.${k}: "${k}" cannot be an XML element name`);
      out[k] = toXmlValue(v, `${path}.${k}`);
    }
    return out;
  }
  if (value === null) throw new XmlEncodingError(`${path}: null has no XML form in this mapping`);
  if (typeof value === 'string' && NOT_XML_CHAR.test(value)) throw new XmlEncodingError(`${path}: the text holds characters XML cannot represent`);
  return typeof value === 'string' ? value : String(value);
}

/** Carriage returns would be normalised away by any XML parser; a character reference keeps them. */
function build(doc: Record<string, unknown>): string {
  return `<?xml version="1.0" encoding="UTF-8"?>${builder.build(doc).replaceAll('\r', '&#13;')}`;
}

export interface XmlEnvelope {
  messageId?: string;
  messageType: string;
  schemaVersion: number;
  correlationId?: string;
  causationId?: string;
  timestamp?: string;
  headers?: Record<string, unknown>;
  payload: unknown;
}

export function envelopeToXml(envelope: XmlEnvelope): string {
  const attrs: Record<string, string> = {};
  for (const key of ['messageId', 'messageType', 'schemaVersion', 'correlationId', 'causationId', 'timestamp'] as const) {
    if (envelope[key] !== undefined) attrs[`@_${key}`] = String(envelope[key]);
  }
  return build({
    message: {
      ...attrs,
      headers: toXmlValue(envelope.headers ?? {}, 'headers'),
      payload: toXmlValue(envelope.payload, 'payload'),
    },
  });
}

export function payloadToXml(root: string, payload: unknown): string {
  return build({ [root]: toXmlValue(payload, 'payload') });
}

const HEADER_SCHEMA: JsonSchema = { type: 'object', properties: { ttl: { type: 'integer' } } };

/** Reads the <message> envelope mapping back; payload typing is left to the caller (it needs the schema). */
export function readXmlEnvelope(doc: { node: unknown; attributes: Record<string, string> }): Omit<XmlEnvelope, 'payload'> & { payloadNode: unknown } {
  const a = doc.attributes;
  const body = (doc.node && typeof doc.node === 'object' ? doc.node : {}) as Record<string, unknown>;
  for (const key of Object.keys(body)) {
    if (key !== 'headers' && key !== 'payload') throw new ValidationError(`<message> may hold only <headers> and <payload>, not <${key}>`, key);
  }
  if (body.payload === undefined) throw new ValidationError('<message> has no <payload>', 'payload');
  if (!a.messageType) throw new ValidationError('<message> needs a messageType attribute', 'messageType');
  const version = a.schemaVersion === undefined ? 1 : Number(a.schemaVersion);
  if (!Number.isInteger(version) || version < 1) throw new ValidationError('schemaVersion must be a positive integer', 'schemaVersion');
  return {
    messageId: a.messageId,
    messageType: a.messageType,
    schemaVersion: version,
    correlationId: a.correlationId,
    causationId: a.causationId,
    timestamp: a.timestamp,
    headers: body.headers === undefined ? undefined : (typedFromXml(HEADER_SCHEMA, body.headers === '' ? {} : body.headers) as Record<string, unknown>),
    payloadNode: body.payload,
  };
}
