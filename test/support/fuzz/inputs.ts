// fast-check generators of hostile input for the fuzz targets: near-valid documents with one
// field mutated (wrong type, huge number, unicode, a prototype key, deep nesting, a long string
// or array), arbitrary JSON values, and raw text and bytes. Valid payloads come from the
// catalog's generators (../arbitraries.ts), so a mutation lands next to real structure.
import fc from 'fast-check';
import { payloads } from '../arbitraries';

/** Keys that are data in JSON but special to JavaScript objects. */
export const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];

const TOKENS = [
  '',
  ' ',
  '\u0000',
  '\uD800',
  '\uDFFF',
  '\uFFFE',
  '😀',
  '日本',
  'é',
  '\u202e',
  '\r\n',
  '\t',
  '<',
  '>',
  '&',
  '&amp;',
  '&lt;',
  '&#0;',
  '&#x1F600;',
  '&nbsp;',
  '&xxe;',
  ']]>',
  '<![CDATA[',
  '<!--',
  '<!DOCTYPE x [<!ENTITY a "b">]>',
  '"',
  "'",
  '\\',
  ',',
  ';',
  '%',
  '%00',
  '{payload.orderId}',
  '{',
  '}',
  '[',
  ']',
  '../',
  'NaN',
  'Infinity',
  '-0',
  '1e400',
  '0x10',
  'true',
  'null',
  '=1+1',
  '@messageId',
  'items[999999999]',
  ...PROTOTYPE_KEYS,
];

/** Strings that stress parsers, encoders and id checks. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...TOKENS) },
  { weight: 3, arbitrary: fc.array(fc.constantFrom(...TOKENS), { maxLength: 6 }).map((parts) => parts.join('')) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('a', '😀', '&amp;', '\\u0041', '"'), fc.integer({ min: 1, max: 40_000 })).map(([s, n]) => s.repeat(n)) },
);

export const nastyNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, -0, 1, -1, 1e308, -1e308, 5e-324, 2 ** 53, 2 ** 53 + 2, -(2 ** 63), 2 ** 64, 1e21, 0.1, 999999999999, 1000001, 10000001),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Nested arrays or objects, n levels deep, around a value. */
export function nested(depth: number, inner: unknown, asArray: boolean): unknown {
  let value = inner;
  for (let i = 0; i < depth; i++) value = asArray ? [value] : { a: value };
  return value;
}

const key = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('orderId', 'customerId', 'items', 'sku', 'quantity', 'payload', 'headers', 'messageType', 'a') },
  { weight: 2, arbitrary: fc.constantFrom(...PROTOTYPE_KEYS) },
  { weight: 1, arbitrary: nastyString },
);

/** Any JSON value, with hostile keys and scalars, now and then very deep or very long. */
export const jsonValue: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        nastyString,
        nastyNumber,
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('value'), { maxLength: 4 }),
        fc.dictionary(key, tie('value'), { maxKeys: 4 }),
      ),
    })).value,
  },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 300 }), fc.boolean()).map(([d, asArray]) => nested(d, 1, asArray)) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 3000 }).map((n) => Array.from({ length: n }, (_, i) => i)) },
);

/** A replacement for one field: another type, an edge value, a prototype-keyed object, deep or long. */
export const badField: fc.Arbitrary<unknown> = fc.oneof(
  nastyString,
  nastyNumber,
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(...PROTOTYPE_KEYS).map((k) => JSON.parse(`{"${k}":{"polluted":true}}`) as unknown),
  jsonValue,
);

type Path = (string | number)[];

function pathsOf(value: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((v, i) => pathsOf(v, [...prefix, i], out));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) pathsOf(v, [...prefix, k], out);
  return out;
}

function setAt(value: unknown, path: Path, replacement: unknown, remove: boolean): unknown {
  if (path.length === 0) return replacement;
  const [head, ...rest] = path;
  const copy = (Array.isArray(value) ? [...(value as unknown[])] : { ...(value as Record<string, unknown>) }) as Record<string | number, unknown>;
  if (remove && rest.length === 0) {
    if (Array.isArray(copy)) copy.splice(head as number, 1);
    else delete copy[head!];
    return copy;
  }
  Object.defineProperty(copy, head!, { value: setAt(copy[head!], rest, replacement, remove), enumerable: true, writable: true, configurable: true });
  return copy;
}

/** A valid value with one or two mutations: a field replaced, removed, or a hostile key added. */
export function mutated(valid: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  const mutation = fc.record({ pick: fc.nat(), kind: fc.constantFrom('replace', 'replace', 'remove', 'add'), addKey: key, value: badField });
  return fc.tuple(valid, fc.array(mutation, { minLength: 1, maxLength: 2 })).map(([value, mutations]) => {
    let out = value;
    for (const m of mutations) {
      const paths = pathsOf(out);
      const path = paths[m.pick % paths.length]!;
      if (m.kind === 'remove') out = setAt(out, path, undefined, true);
      else if (m.kind === 'add') out = setAt(out, [...path, m.addKey], m.value, false);
      else out = setAt(out, path, m.value, false);
    }
    return out;
  });
}

export type ModelName = keyof typeof payloads;
export const MODEL_NAMES = Object.keys(payloads) as ModelName[];

/** A catalog model's valid payload. */
export const validPayload = (model: ModelName): fc.Arbitrary<Record<string, unknown>> => payloads[model] as fc.Arbitrary<Record<string, unknown>>;

/** A complete, valid envelope of one of the catalog's models. */
export const validEnvelope: fc.Arbitrary<Record<string, unknown>> = fc.constantFrom(...MODEL_NAMES).chain((model) =>
  validPayload(model).map((payload) => {
    const [messageType, version] = model.split('.v');
    return {
      messageId: 'm-1',
      messageType,
      schemaVersion: Number(version),
      correlationId: 'c-1',
      timestamp: '2026-01-01T00:00:00.000Z',
      headers: { priority: 'normal', source: 'fuzz' },
      payload,
    };
  }),
);

/** Raw text: anything, JSON-ish, bracket soup. */
export const rawText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.array(fc.constantFrom('{', '}', '[', ']', '"', ':', ',', '\\', 'a', '1', 'true', 'null', ' ', '<', '>', '/', '=', '&', ';', '\n'), { maxLength: 200 }).map((a) => a.join('')),
  fc.tuple(fc.constantFrom('[', '{"a":', '<a>', '(', '"'), fc.integer({ min: 1, max: 100_000 })).map(([s, n]) => s.repeat(n)),
);

export const rawBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 100 }).map((s) => new TextEncoder().encode(s)),
);

/** Text with tokens spliced in at random places (a valid document made slightly wrong). */
export function spliced(text: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.tuple(text, fc.array(fc.tuple(fc.nat(), fc.nat({ max: 20 }), nastyString), { minLength: 1, maxLength: 3 })).map(([t, edits]) => {
    let out = t;
    for (const [at, drop, insert] of edits) {
      const i = at % (out.length + 1);
      out = out.slice(0, i) + insert + out.slice(i + drop);
    }
    return out;
  });
}
