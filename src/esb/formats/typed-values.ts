// XML text and CSV cells carry no types; the message's JSON Schema does. These turn the untyped
// tree into the typed payload the schema describes (numbers, integers, booleans, arrays), leaving
// anything that does not fit as it is so schema validation reports it with its path.
import type { JsonSchema } from '../schemas';

function schemaType(schema: JsonSchema | undefined): string | undefined {
  if (!schema) return undefined;
  if (schema.type) return schema.type;
  if (schema.properties) return 'object';
  if (schema.items) return 'array';
  return undefined;
}

/** The schema of a property, only if the schema declares it (never Object.prototype's "constructor"). */
function ownSchema(schema: JsonSchema | undefined, key: string): JsonSchema | undefined {
  const properties = schema?.properties;
  return properties && Object.prototype.hasOwnProperty.call(properties, key) ? properties[key] : undefined;
}

export function typedScalar(schema: JsonSchema | undefined, text: string): unknown {
  switch (schemaType(schema)) {
    case 'number':
    case 'integer': {
      const trimmed = text.trim();
      if (trimmed === '' || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(trimmed)) return text;
      return Number(trimmed);
    }
    case 'boolean':
      return text === 'true' ? true : text === 'false' ? false : text;
    default:
      return text;
  }
}

/**
 * Types an XML-shaped tree: objects of elements, arrays as a container of <item> elements,
 * text as strings. An empty element is an empty object, array or string as the schema says.
 */
export function typedFromXml(schema: JsonSchema | undefined, node: unknown): unknown {
  const type = schemaType(schema);
  if (type === 'array') {
    if (node === '' || node === undefined) return [];
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return node;
    const items = (node as Record<string, unknown>).item;
    const list = items === undefined ? [] : Array.isArray(items) ? items : [items];
    return list.map((item) => typedFromXml(schema?.items, item));
  }
  if (type === 'object') {
    if (node === '') return {};
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return node;
    // fromEntries makes own properties: a "__proto__" element stays data, as in JSON.parse.
    return Object.fromEntries(Object.entries(node as Record<string, unknown>).map(([key, value]) => [key, typedFromXml(ownSchema(schema, key), value)]));
  }
  if (typeof node === 'string') return typedScalar(schema, node);
  return node;
}

/** Types a tree whose leaves are strings (a CSV row unflattened by its column paths). */
export function typedFromText(schema: JsonSchema | undefined, node: unknown): unknown {
  if (Array.isArray(node)) return node.map((item) => typedFromText(schema?.items, item));
  if (node !== null && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node as Record<string, unknown>).map(([key, value]) => [key, typedFromText(ownSchema(schema, key), value)]));
  }
  return typeof node === 'string' ? typedScalar(schema, node) : node;
}
