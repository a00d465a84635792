// Declarative model mappings (config/transforms.yaml): each target field says where its value
// comes from. Paths are relative to the source payload (or to the current item inside `each`).
//   { from: Path, default?: V, optional?: true, map?: { SourceValue: TargetValue } }
//   { value: V }                                   a constant
//   { template: "PO-{PurchaseOrderNumber}" }        a string built from source fields
//   { each: Path, fields: { ... } }                 an array, one item per source item
//   { fields: { ... }, when?: Path }                an object (only when `when` exists)
//   { sum: "Lines[*].Price", round?: 2 }            the sum of the values a path reaches
//   { sumProduct: { each: Lines, multiply: [Qty, Price] }, round?: 2 }
import { builtInSchemaCompiler } from '@backbone/azure-model/built-in-schema';
import { parseFieldPath, readPath, type PathSegment } from '../field-path';

export type FieldSpec =
  | { from: string; default?: unknown; optional?: boolean; map?: Record<string, unknown> }
  | { value: unknown }
  | { template: string }
  | { each: string; fields: Record<string, FieldSpec> }
  | { fields: Record<string, FieldSpec>; when?: string }
  | { sum: string; round?: number }
  | { sumProduct: { each: string; multiply: [string, string] }; round?: number };

export interface FieldMapDefinition {
  name: string;
  description?: string;
  from: string;
  to: string;
  fields: Record<string, FieldSpec>;
}

const fieldSpecSchema = {
  $id: 'fieldSpec',
  type: 'object',
  oneOf: [
    {
      required: ['from'],
      additionalProperties: false,
      properties: { from: { type: 'string' }, default: {}, optional: { type: 'boolean' }, map: { type: 'object' } },
    },
    { required: ['value'], additionalProperties: false, properties: { value: {} } },
    { required: ['template'], additionalProperties: false, properties: { template: { type: 'string' } } },
    {
      required: ['each', 'fields'],
      additionalProperties: false,
      properties: { each: { type: 'string' }, fields: { type: 'object', additionalProperties: { $ref: 'fieldSpec' } } },
    },
    {
      required: ['fields'],
      not: { required: ['each'] },
      additionalProperties: false,
      properties: { when: { type: 'string' }, fields: { type: 'object', additionalProperties: { $ref: 'fieldSpec' } } },
    },
    { required: ['sum'], additionalProperties: false, properties: { sum: { type: 'string' }, round: { type: 'integer', minimum: 0, maximum: 10 } } },
    {
      required: ['sumProduct'],
      additionalProperties: false,
      properties: {
        sumProduct: {
          type: 'object',
          required: ['each', 'multiply'],
          additionalProperties: false,
          properties: { each: { type: 'string' }, multiply: { type: 'array', items: { type: 'string' }, minItems: 2, maxItems: 2 } },
        },
        round: { type: 'integer', minimum: 0, maximum: 10 },
      },
    },
  ],
};

const fileSchema = {
  type: 'object',
  required: ['transforms'],
  additionalProperties: false,
  properties: {
    transforms: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'from', 'to', 'fields'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', pattern: '^[a-z][a-z0-9-]*$' },
          description: { type: 'string' },
          from: { type: 'string' },
          to: { type: 'string' },
          fields: { type: 'object', additionalProperties: { $ref: 'fieldSpec' } },
        },
      },
    },
  },
};

const schemas = builtInSchemaCompiler({ allErrors: false, schemas: [fieldSpecSchema] });
const validateFile = schemas.compile<{ transforms: FieldMapDefinition[] }>(fileSchema);

export class FieldMapError extends Error {
  override name = 'FieldMapError';
}

export function parseFieldMaps(doc: unknown, source: string): FieldMapDefinition[] {
  if (!validateFile(doc)) {
    const e = validateFile.errors![0]!;
    throw new FieldMapError(`${source}: ${e.instancePath || '(root)'} ${e.message}`);
  }
  return doc.transforms;
}

type Compiled = (source: unknown) => unknown;

function round(n: number, digits: number | undefined): number {
  if (digits === undefined) return n;
  const f = 10 ** digits;
  return Math.round((n + Number.EPSILON) * f) / f;
}

function compileSpec(spec: FieldSpec, where: string): Compiled {
  const path = (p: string): PathSegment[] => {
    try {
      return parseFieldPath(p);
    } catch (error) {
      throw new FieldMapError(`${where}: ${(error as Error).message}`);
    }
  };
  if ('value' in spec) return () => spec.value;
  if ('template' in spec) {
    const parts = [...spec.template.matchAll(/\{([^}]+)\}/g)].map((m) => ({ token: m[0], path: path(m[1]!) }));
    return (source) =>
      parts.reduce((text, p) => {
        const v = readPath(source, p.path)[0];
        if (v === undefined || v === null) throw new Error(`${where}: ${p.token} is missing`);
        return text.replace(p.token, String(v));
      }, spec.template);
  }
  if ('sum' in spec) {
    const p = path(spec.sum);
    return (source) =>
      round(
        readPath(source, p).reduce<number>((acc, v) => acc + (typeof v === 'number' ? v : NaN), 0),
        spec.round,
      );
  }
  if ('sumProduct' in spec) {
    const each = path(spec.sumProduct.each);
    const [a, b] = spec.sumProduct.multiply.map(path) as [PathSegment[], PathSegment[]];
    return (source) => {
      const items = readPath(source, each)[0];
      if (!Array.isArray(items)) throw new Error(`${where}: ${spec.sumProduct.each} is not a list`);
      const total = items.reduce<number>((acc, item) => acc + Number(readPath(item, a)[0]) * Number(readPath(item, b)[0]), 0);
      return round(total, spec.round);
    };
  }
  if ('each' in spec) {
    const each = path(spec.each);
    const item = compileFields(spec.fields, `${where}[]`);
    return (source) => {
      const items = readPath(source, each)[0];
      if (items === undefined) throw new Error(`${where}: ${spec.each} is missing`);
      if (!Array.isArray(items)) throw new Error(`${where}: ${spec.each} is not a list`);
      return items.map((i) => item(i));
    };
  }
  if ('fields' in spec) {
    const when = spec.when === undefined ? undefined : path(spec.when);
    const fields = compileFields(spec.fields, where);
    return (source) => (when && readPath(source, when).length === 0 ? undefined : fields(source));
  }
  const from = path(spec.from);
  return (source) => {
    const value = readPath(source, from)[0];
    if (value === undefined) {
      if ('default' in spec) return spec.default;
      if (spec.optional) return undefined;
      throw new Error(`${where}: ${spec.from} is missing`);
    }
    if (spec.map) {
      const key = String(value);
      if (!(key in spec.map)) throw new Error(`${where}: no mapping for ${spec.from} = ${key}`);
      return spec.map[key];
    }
    return value;
  };
}

function compileFields(fields: Record<string, FieldSpec>, where: string): (source: unknown) => Record<string, unknown> {
  const compiled = Object.entries(fields).map(([name, spec]) => [name, compileSpec(spec, where ? `${where}.${name}` : name)] as const);
  return (source) => {
    const out: Record<string, unknown> = {};
    for (const [name, fn] of compiled) {
      const v = fn(source);
      if (v !== undefined) out[name] = v;
    }
    return out;
  };
}

export function compileFieldMap(definition: FieldMapDefinition): (payload: unknown) => Record<string, unknown> {
  return compileFields(definition.fields, '');
}
