// Compiles JSON Schemas into validators, keeping each one's generated code (Ajv's standalone
// output) in a cache folder, keyed by the schema, Ajv's version and options: the next start loads
// the code instead of generating it again. Generating is most of what compiling costs — about
// 5 ms a schema; the message catalog's 16 and the code's own 9 were ~190 ms of every start of the
// host. A schema is in the cache only after it compiled under the same key, so a broken or
// changed schema is compiled (and refused) as before. The cache is a convenience: no Ajv
// installed as files (a bundle), a folder that cannot be written or a file that does not load
// means compiling, nothing else.
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import Ajv, { _, type AnySchema, type Format, type Options, type ValidateFunction } from 'ajv';
import standaloneCode from 'ajv/dist/standalone';

/** Bumped when what this module writes changes shape. */
const CACHE_FORMAT = 1;
const nodeRequire = createRequire(__filename);

/** node_modules/.cache/backbone-schemas beside the installed Ajv; undefined when Ajv is not installed as files (bundled). */
export function defaultSchemaCacheDir(): string | undefined {
  try {
    return join(dirname(dirname(nodeRequire.resolve('ajv/package.json'))), '.cache', 'backbone-schemas');
  } catch {
    return undefined;
  }
}

let ajvVersion: string | undefined;

export interface SchemaCompilerOptions {
  /** JSON-serialisable options (they are part of the key). */
  ajvOptions: Options;
  formats?: Record<string, Format>;
  /** The module exporting `formats` as `exportName`, for generated code to require; with formats and without it nothing is cached. */
  formatsModule?: { path: string; exportName: string };
  /** Where generated validators are kept; false keeps none. Default: defaultSchemaCacheDir(). */
  cacheDir?: string | false;
}

export class CachedSchemaCompiler {
  readonly #options: SchemaCompilerOptions;
  readonly #dir: string | undefined;
  readonly #versions: string;
  #ajv: Ajv | undefined;
  /** Schemas whose validators came from the cache: added to the Ajv instance when there is one, so $refs to them resolve. */
  readonly #loadedSchemas: AnySchema[] = [];

  constructor(options: SchemaCompilerOptions) {
    this.#options = options;
    const dir = options.cacheDir ?? defaultSchemaCacheDir();
    const formatsReachable = !options.formats || Object.keys(options.formats).length === 0 || options.formatsModule !== undefined;
    this.#dir = dir && formatsReachable ? dir : undefined;
    this.#versions = this.#dir ? (ajvVersion ??= (nodeRequire('ajv/package.json') as { version: string }).version) : '';
  }

  /** The Ajv instance behind the compiler (created on first need), for schemas that are not cached. */
  ajv(): Ajv {
    if (!this.#ajv) {
      const formatsModule = this.#options.formatsModule;
      const ajv = new Ajv({
        ...this.#options.ajvOptions,
        ...(this.#dir ? { code: { source: true, ...(formatsModule ? { formats: _`require(${formatsModule.path})[${formatsModule.exportName}]` } : {}) } } : {}),
      });
      for (const [name, format] of Object.entries(this.#options.formats ?? {})) ajv.addFormat(name, format);
      for (const schema of this.#loadedSchemas) ajv.addSchema(schema);
      this.#ajv = ajv;
    }
    return this.#ajv;
  }

  /** A validator for the schema: from the cache when it holds this very schema, else compiled (and then kept). Throws what Ajv throws. */
  compile(schema: AnySchema): ValidateFunction {
    const file = this.#dir && join(this.#dir, `${this.#key(schema)}.cjs`);
    if (file) {
      const loaded = this.#load(file);
      if (loaded) {
        this.#loadedSchemas.push(schema);
        this.#ajv?.addSchema(schema);
        return loaded;
      }
    }
    const validate = this.ajv().compile(schema);
    if (file) this.#store(file, validate);
    return validate;
  }

  #key(schema: AnySchema): string {
    const { ajvOptions, formatsModule } = this.#options;
    return createHash('sha256')
      .update(JSON.stringify({ CACHE_FORMAT, ajv: this.#versions, ajvOptions, formatsModule, formats: Object.keys(this.#options.formats ?? {}).sort(), schema }))
      .digest('hex')
      .slice(0, 32);
  }

  #load(file: string): ValidateFunction | undefined {
    try {
      // The generated code is a CommonJS module requiring Ajv's runtime and the formats module.
      const validate = nodeRequire(file) as unknown;
      return typeof validate === 'function' ? (validate as ValidateFunction) : undefined;
    } catch {
      return undefined;
    }
  }

  #store(file: string, validate: ValidateFunction): void {
    const tmp = `${file}.${randomUUID()}.tmp`;
    try {
      mkdirSync(this.#dir!, { recursive: true });
      writeFileSync(tmp, standaloneCode(this.ajv(), validate));
      // Another process may store the same key at the same time: the rename makes either whole.
      renameSync(tmp, file);
    } catch {
      try {
        rmSync(tmp, { force: true });
      } catch {
        // The folder could not be made: there is nothing to remove.
      }
    }
  }
}
