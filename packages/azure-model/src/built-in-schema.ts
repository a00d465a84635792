// Validators for the JSON Schemas written into this code (config files' shapes, the envelope, key
// settings) — not the message catalog's schemas under config/, which users edit.
//
// Ajv checks every schema it compiles against the draft-07 meta-schema, and the first check
// compiles that meta-schema, about 20 ms per Ajv instance. These schemas are fixed when the code
// is built: strict mode still rejects unknown keywords at compile, and
// test/unit/built-in-schemas.test.ts checks every schema compiled here against the meta-schema,
// so the check moves to the tests. The generated validators are kept between starts
// (./schema-compiler): compiling the nine cost the host ~100 ms of every start.
import type { AnySchema, Format, Options, ValidateFunction } from 'ajv';
import { CachedSchemaCompiler } from './schema-compiler';

const compiled: AnySchema[] = [];

export interface BuiltInSchemaOptions extends Omit<Options, 'validateSchema' | 'code' | 'formats'> {
  /** String formats the schema uses, and the module that exports them (generated code requires it). */
  formats?: { formats: Record<string, Format>; module?: { path: string; exportName: string } };
  /** Where generated validators are kept (false: nowhere); default beside the installed Ajv. */
  cacheDir?: string | false;
}

export interface BuiltInSchemaCompiler {
  compile<T = unknown>(schema: AnySchema): ValidateFunction<T>;
}

export function builtInSchemaCompiler(options: BuiltInSchemaOptions = {}): BuiltInSchemaCompiler {
  const { formats, cacheDir, ...ajvOptions } = options;
  for (const s of Array.isArray(ajvOptions.schemas) ? ajvOptions.schemas : Object.values(ajvOptions.schemas ?? {})) if (s) compiled.push(s);
  const compiler = new CachedSchemaCompiler({
    ajvOptions: { ...ajvOptions, validateSchema: false },
    ...(formats ? { formats: formats.formats, ...(formats.module ? { formatsModule: formats.module } : {}) } : {}),
    ...(cacheDir !== undefined ? { cacheDir } : {}),
  });
  return {
    compile<T>(schema: AnySchema): ValidateFunction<T> {
      compiled.push(schema);
      return compiler.compile(schema) as ValidateFunction<T>;
    },
  };
}

/** Every schema compiled through builtInSchemaCompiler so far in this process: what the test checks. */
export function builtInSchemas(): readonly AnySchema[] {
  return compiled;
}
