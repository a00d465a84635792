// The message catalog (config/schemas): for every messageType + schemaVersion a JSON Schema for
// its payload, an Avro schema where it travels as Avro, and the XML root of partner documents.
// Loaded once, checked for consistency (files present, Avro fields = JSON properties), and used
// to validate payloads with errors that name the failing field.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ValidateFunction } from 'ajv';
import avro from 'avsc';
import { parse as parseYaml } from 'yaml';
import { configDir } from '../shared/app-paths';
import { ValidationError } from '../shared/errors';
import { describeAjvError } from './envelope';
import type { PathSegment } from './field-path';
import { CATALOG_FORMATS, CATALOG_FORMATS_MODULE } from './catalog-formats';
import { CachedSchemaCompiler } from '@backbone/azure-model/schema-compiler';

export interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  additionalProperties?: boolean | JsonSchema;
  [keyword: string]: unknown;
}

export interface MessageModel {
  /** "OrderPlaced.v1" */
  name: string;
  messageType: string;
  schemaVersion: number;
  description: string;
  schema: JsonSchema;
  validate: ValidateFunction;
  avro?: avro.Type;
  xmlRoot?: string;
}

export class SchemaError extends Error {
  override name = 'SchemaError';
}

export function modelName(messageType: string, schemaVersion: number): string {
  return `${messageType}.v${schemaVersion}`;
}

interface CatalogEntry {
  description?: string;
  avro?: boolean;
  xmlRoot?: string;
}

/**
 * The catalog's validators: JSON Schema (draft-07) keywords, strict, every error; the date-time,
 * email and payment-card (digits passing the Luhn check) formats. Generated code is kept between
 * starts (@backbone/azure-model/schema-compiler).
 */
function catalogCompiler(cacheDir?: string | false): CachedSchemaCompiler {
  return new CachedSchemaCompiler({
    ajvOptions: { allErrors: true, strict: true },
    formats: CATALOG_FORMATS,
    ...(CATALOG_FORMATS_MODULE ? { formatsModule: { path: CATALOG_FORMATS_MODULE, exportName: 'CATALOG_FORMATS' } } : {}),
    ...(cacheDir !== undefined ? { cacheDir } : {}),
  });
}

/** The schema a field path reaches inside a payload schema, through properties and items; undefined where it cannot follow. */
export function schemaAt(schema: JsonSchema, segments: PathSegment[]): JsonSchema | undefined {
  let node: JsonSchema | undefined = schema;
  for (const segment of segments) {
    if (!node) return undefined;
    node = 'key' in segment ? node.properties?.[segment.key] : node.items;
  }
  return node;
}

export class SchemaRegistry {
  readonly #models = new Map<string, MessageModel>();
  readonly #byXmlRoot = new Map<string, MessageModel>();
  readonly #compiler: CachedSchemaCompiler;
  readonly #fragments = new WeakMap<JsonSchema, ValidateFunction>();

  private constructor(compiler: CachedSchemaCompiler) {
    this.#compiler = compiler;
  }

  /** `cacheDir`: where compiled validators are kept between starts (false: nowhere; @backbone/azure-model/schema-compiler). */
  static load(dir = join(configDir(), 'schemas'), options: { cacheDir?: string | false } = {}): SchemaRegistry {
    const catalogFile = join(dir, 'catalog.yaml');
    const catalog = parseYaml(readFileSync(catalogFile, 'utf8')) as { messages?: Record<string, CatalogEntry> };
    const registry = new SchemaRegistry(catalogCompiler(options.cacheDir));
    for (const [name, entry] of Object.entries(catalog.messages ?? {})) {
      const m = /^([A-Z][A-Za-z0-9]*(?:\.[A-Z][A-Za-z0-9]*)*)\.v(\d+)$/.exec(name);
      if (!m) throw new SchemaError(`${catalogFile}: "${name}" is not <MessageType>.v<version>`);
      const file = join(dir, 'json', `${name}.json`);
      if (!existsSync(file)) throw new SchemaError(`${name}: no JSON Schema at ${file}`);
      const schema = JSON.parse(readFileSync(file, 'utf8')) as JsonSchema & { $id?: string };
      if (schema.$id !== name) throw new SchemaError(`${file}: $id must be "${name}"`);
      let validate: ValidateFunction;
      try {
        validate = registry.#compiler.compile(schema);
      } catch (error) {
        throw new SchemaError(`${file}: ${(error as Error).message}`);
      }
      const model: MessageModel = {
        name,
        messageType: m[1]!,
        schemaVersion: Number(m[2]),
        description: entry.description ?? '',
        schema,
        validate,
        xmlRoot: entry.xmlRoot,
      };
      if (entry.avro) {
        const avscFile = join(dir, 'avro', `${name}.avsc`);
        if (!existsSync(avscFile)) throw new SchemaError(`${name}: catalog says avro, but ${avscFile} is missing`);
        try {
          model.avro = avro.Type.forSchema(JSON.parse(readFileSync(avscFile, 'utf8')) as avro.Schema);
        } catch (error) {
          throw new SchemaError(`${avscFile}: ${(error as Error).message}`);
        }
        checkAvroMatchesJson(name, model.avro, schema);
      }
      registry.#models.set(name, model);
      if (entry.xmlRoot) registry.#byXmlRoot.set(entry.xmlRoot, model);
    }
    return registry;
  }

  get models(): MessageModel[] {
    return [...this.#models.values()];
  }

  find(name: string): MessageModel | undefined {
    return this.#models.get(name);
  }

  get(name: string): MessageModel {
    const model = this.#models.get(name);
    if (!model) throw new SchemaError(`No schema for ${name}`);
    return model;
  }

  /** The models of every schema version of a messageType. */
  versionsOf(messageType: string): MessageModel[] {
    return this.models.filter((m) => m.messageType === messageType);
  }

  /** Whether a part of a catalog schema (from schemaAt) accepts a value. */
  fragmentAccepts(fragment: JsonSchema, value: unknown): boolean {
    let validate = this.#fragments.get(fragment);
    if (!validate) this.#fragments.set(fragment, (validate = this.#compiler.ajv().compile(fragment)));
    return validate(value);
  }

  byXmlRoot(root: string): MessageModel | undefined {
    return this.#byXmlRoot.get(root);
  }

  /** Throws ValidationError naming payload.<path> for every violation; `root` prefixes targets. */
  validatePayload(model: MessageModel, payload: unknown, root = 'payload'): void {
    if (model.validate(payload)) return;
    const details = (model.validate.errors ?? []).map((e) => describeAjvError(e, root));
    const first = details[0]!;
    throw new ValidationError(`${first.target} ${first.message} (${model.name})`, first.target, details);
  }
}

/** The Avro record and the JSON Schema describe the same fields, or the formats would diverge. */
function checkAvroMatchesJson(name: string, type: avro.Type, schema: JsonSchema, path = ''): void {
  if (!(type instanceof avro.types.RecordType)) return;
  const avroFields = new Set(type.fields.map((f) => f.name));
  const jsonFields = new Set(Object.keys(schema.properties ?? {}));
  for (const f of jsonFields) if (!avroFields.has(f)) throw new SchemaError(`${name}: JSON property ${path}${f} has no Avro field`);
  for (const f of avroFields) if (!jsonFields.has(f)) throw new SchemaError(`${name}: Avro field ${path}${f} is not in the JSON Schema`);
  for (const field of type.fields) {
    let fieldType = field.type;
    if (fieldType instanceof avro.types.UnwrappedUnionType || fieldType instanceof avro.types.WrappedUnionType) {
      fieldType = (fieldType as unknown as { types: avro.Type[] }).types.find((t) => !(t instanceof avro.types.NullType)) ?? fieldType;
    }
    const sub = schema.properties![field.name]!;
    if (fieldType instanceof avro.types.ArrayType && sub.items) checkAvroMatchesJson(name, fieldType.itemsType, sub.items, `${path}${field.name}[].`);
    else checkAvroMatchesJson(name, fieldType, sub, `${path}${field.name}.`);
  }
}
