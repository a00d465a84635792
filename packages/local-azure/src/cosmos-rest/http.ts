// The request and answer shapes the handlers share, and the request charges they report.
import type { IncomingHttpHeaders } from 'node:http';
import { SYSTEM_PROPERTY_BYTES } from '../docstore/store';
import { CosmosError } from './errors';

export interface RestRequest {
  method: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Host header as the client sent it, to advertise the endpoint it reached. */
  host: string;
}

export interface Reply {
  status: number;
  /** JSON, or bytes sent as they are (a .NET batch's HybridRow answer); none for 204 and 304. */
  body?: unknown;
  headers?: Record<string, string>;
}

export function header(req: RestRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Boolean headers come as `true` from JS and `True` from .NET. */
export function flag(req: RestRequest, name: string): boolean {
  return header(req, name)?.toLowerCase() === 'true';
}

/** Cosmos DB's limit on nesting within a document (service quotas: 128 levels of embedded objects and arrays). */
export const MAX_JSON_DEPTH = 128;

/** How deep the text's objects and arrays nest, counted without parsing (no recursion, so no stack to run out of). */
function nesting(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) max = Math.max(max, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/** JSON from a client: invalid text or nesting deeper than a document may go is the client's 400. */
export function parseJson(text: string, what = 'The request body'): unknown {
  if (nesting(text) > MAX_JSON_DEPTH) throw new CosmosError(400, `${what} nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels.`);
  try {
    return JSON.parse(text);
  } catch {
    throw new CosmosError(400, `${what} is not valid JSON.`);
  }
}

/** A body that must be one JSON object (a resource definition). */
export function jsonObject(req: RestRequest, what: string): Record<string, unknown> {
  const body = jsonBody(req);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new CosmosError(400, `${what} must be a JSON object.`);
  return body as Record<string, unknown>;
}

export function jsonBody(req: RestRequest): unknown {
  // The JS SDK sends PATCH without a content type: every body is JSON whatever it says.
  return parseJson(req.body.toString('utf8'));
}

/** x-ms-max-item-count: absent or -1 means "as many as the server likes". */
export function maxItemCount(req: RestRequest, fallback: number): number {
  const raw = header(req, 'x-ms-max-item-count');
  if (raw === undefined || raw === '-1') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new CosmosError(400, `Invalid x-ms-max-item-count: ${raw}`);
  return n;
}

/**
 * Request units as the service's documentation gives them (learn.microsoft.com, "optimize cost of
 * reads and writes"): a 1 KB point read 1 RU, 100 KB 10 RU; a 1 KB insert about 5.5 RU, 100 KB
 * 50 RU; a replace twice an insert. The same figures `npm run cost` prices the store's usage with.
 */
const kb = (bytes: number) => Math.max(1, (bytes + SYSTEM_PROPERTY_BYTES) / 1024);
const round = (n: number) => Math.round(n * 100) / 100;
export const charge = {
  read: (bytes: number) => round(1 + ((kb(bytes) - 1) * 9) / 99),
  insert: (bytes: number) => round(5.5 + ((kb(bytes) - 1) * 44.5) / 99),
  replace: (bytes: number) => round(2 * (5.5 + ((kb(bytes) - 1) * 44.5) / 99)),
  delete: (bytes: number) => round(5.5 + ((kb(bytes) - 1) * 44.5) / 99),
  /** A query's base cost plus reading what it returned. */
  query: (sizes: number[]) => round(2.8 + sizes.reduce((a, s) => a + (1 + ((kb(s) - 1) * 9) / 99) * 0.1, 0)),
};

export const byteSize = (v: unknown) => Buffer.byteLength(JSON.stringify(v ?? null));
