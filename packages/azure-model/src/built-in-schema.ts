// Ajv for the JSON Schemas written into this code (config files' shapes, the envelope, key
// settings) — not the message catalog's schemas under config/, which users edit.
//
// Ajv checks every schema it compiles against the draft-07 meta-schema, and the first check
// compiles that meta-schema, about 20 ms per Ajv instance. Nine such instances made up 165 ms of
// the host's start (`npm run bench:startup`). These schemas are fixed when the code is built:
// strict mode still rejects unknown keywords at compile, and test/unit/built-in-schemas.test.ts
// checks every schema compiled here against the meta-schema, so the check moves to the tests.
import Ajv, { type AnySchema, type Options } from 'ajv';

const compiled: AnySchema[] = [];

export function builtInSchemaAjv(options: Omit<Options, 'validateSchema'> = {}): Ajv {
  const ajv = new Ajv({ ...options, validateSchema: false });
  if (options.schemas) for (const schema of Array.isArray(options.schemas) ? options.schemas : Object.values(options.schemas)) if (schema) compiled.push(schema);
  const compile = ajv.compile.bind(ajv);
  ajv.compile = ((schema: AnySchema, meta?: boolean) => {
    compiled.push(schema);
    return compile(schema, meta);
  }) as Ajv['compile'];
  return ajv;
}

/** Every schema compiled through builtInSchemaAjv so far in this process: what the test checks. */
export function builtInSchemas(): readonly AnySchema[] {
  return compiled;
}
