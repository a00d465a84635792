// The message catalog's compiled validators are kept between starts (@backbone/azure-model/schema-compiler):
// a second load of the same catalog generates no code, and what it loads validates exactly as
// what was compiled — formats included; a changed or broken schema is compiled (and refused) as
// if nothing had been kept; a cache that cannot be read or written only means compiling.
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtInSchemaCompiler } from '@backbone/azure-model/built-in-schema';
import { SchemaError, SchemaRegistry } from '../../src/esb/schemas';
import { DATE_TIME_FORMAT } from '../../src/shared/date-time-format';
import { configDir } from '../../src/shared/app-paths';

let dir: string;
let schemas: string;
let cache: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'schema-cache-'));
  schemas = join(dir, 'schemas');
  cache = join(dir, 'cache');
  cpSync(join(configDir(), 'schemas'), schemas, { recursive: true });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const card = { number: '4111111111111111', expiry: '12/30', holder: 'A Person' };
/** Payloads that exercise every keyword the catalog uses, the three formats among them. */
const samples: [string, unknown][] = [
  ['CreateOrder.v1', {}],
  ['CreateOrder.v1', { orderId: 'o-1', customerId: 'c-1', items: [{ sku: 'A', quantity: 1, unitPrice: 2 }] }],
  ['CreateOrder.v1', { orderId: 'o-1', customerId: 'c-1', items: [], customer: { email: 'not an email' } }],
  ['CreateOrder.v1', { orderId: 'o-1', customerId: 'c-1', items: [], payment: { card: { ...card, number: '4111111111111112' } } }],
  ['CreateOrder.v1', { orderId: 'o-1', customerId: 'c-1', items: [], payment: { card } }],
  ['PaymentReceived.v1', { receivedAt: 'yesterday' }],
  ['PaymentReceived.v1', { receivedAt: '2026-12-05T10:00:00Z' }],
  ['OrderCompleted.v1', { orderId: 'o', completedAt: '2026-12-05T10:00:00.000Z', extra: true }],
];
const outcomes = (registry: SchemaRegistry) =>
  samples.map(([name, payload]) => {
    const validate = registry.get(name).validate;
    return { ok: validate(payload), errors: validate.errors ?? null };
  });

describe('compiled catalog validators kept between starts', () => {
  test('the second load generates nothing and validates exactly as the first', () => {
    const first = SchemaRegistry.load(schemas, { cacheDir: cache });
    const files = readdirSync(cache).filter((f) => f.endsWith('.cjs'));
    expect(files).toHaveLength(first.models.length);
    const second = SchemaRegistry.load(schemas, { cacheDir: cache });
    expect(readdirSync(cache).filter((f) => f.endsWith('.cjs'))).toEqual(files);
    expect(outcomes(second)).toEqual(outcomes(first));
    expect(outcomes(second)).toEqual(outcomes(SchemaRegistry.load(schemas, { cacheDir: false })));
    // The samples are not all valid or all invalid: the comparison means something.
    expect(new Set(outcomes(first).map((o) => o.ok))).toEqual(new Set([true, false]));
  });

  test('a changed schema is compiled, not loaded: its new rules apply', () => {
    SchemaRegistry.load(schemas, { cacheDir: cache });
    const file = join(schemas, 'json', 'OrderCompleted.v1.json');
    const schema = JSON.parse(readFileSync(file, 'utf8')) as { properties: Record<string, object> };
    writeFileSync(file, JSON.stringify({ ...schema, properties: { ...schema.properties, orderId: { type: 'string', maxLength: 2 } } }));
    const changed = SchemaRegistry.load(schemas, { cacheDir: cache });
    const validate = changed.get('OrderCompleted.v1').validate;
    expect(validate({ orderId: 'abc', completedAt: '2026-12-05T10:00:00Z' })).toBe(false);
    expect(validate.errors).toContainEqual(expect.objectContaining({ keyword: 'maxLength', instancePath: '/orderId' }));
  });

  test('a broken schema is refused at load though its earlier version was kept', () => {
    SchemaRegistry.load(schemas, { cacheDir: cache });
    const file = join(schemas, 'json', 'OrderCompleted.v1.json');
    const schema = JSON.parse(readFileSync(file, 'utf8')) as object;
    writeFileSync(file, JSON.stringify({ ...schema, properties: { orderId: { type: 'string', minLenght: 1 } } }));
    expect(() => SchemaRegistry.load(schemas, { cacheDir: cache })).toThrow(SchemaError);
  });

  test('a kept file that does not load, or a cache folder that cannot be made, means compiling', () => {
    const first = SchemaRegistry.load(schemas, { cacheDir: cache });
    for (const f of readdirSync(cache)) writeFileSync(join(cache, f), 'this is not JavaScript (');
    expect(outcomes(SchemaRegistry.load(schemas, { cacheDir: cache }))).toEqual(outcomes(first));
    const aFile = join(dir, 'a-file');
    writeFileSync(aFile, '');
    expect(outcomes(SchemaRegistry.load(schemas, { cacheDir: join(aFile, 'cache') }))).toEqual(outcomes(first));
  });

  test('cacheDir false keeps nothing', () => {
    mkdirSync(cache);
    SchemaRegistry.load(schemas, { cacheDir: false });
    expect(readdirSync(cache)).toEqual([]);
  });

  test("the code's own schemas too: a kept validator with ajv-formats' date-time and defaults checks as a compiled one", () => {
    const schema = {
      type: 'object',
      required: ['at'],
      additionalProperties: false,
      properties: { at: { type: 'string', format: 'date-time' }, n: { type: 'integer', default: 3 } },
    };
    const compile = () => builtInSchemaCompiler({ allErrors: true, strict: true, useDefaults: true, formats: DATE_TIME_FORMAT, cacheDir: cache }).compile(schema);
    const first = compile();
    expect(readdirSync(cache)).toHaveLength(1);
    const kept = compile();
    expect(readdirSync(cache)).toHaveLength(1);
    for (const value of [{ at: '2026-12-05T10:00:00Z' }, { at: '2026-12-05' }, { at: 'soon', x: 1 }, {}]) {
      const a = structuredClone(value);
      const b = structuredClone(value);
      expect([kept(b), kept.errors ?? null, b]).toEqual([first(a), first.errors ?? null, a]);
    }
    expect(kept({ at: '2026-12-05T10:00:00Z' })).toBe(true);
    expect(kept({ at: '2026-12-05' })).toBe(false);
  });
});
