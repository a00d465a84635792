// Reads a YAML configuration file and checks it against its JSON Schema, naming the file and
// the first offending path; names in `unique` lists must not repeat.
import { readFileSync } from 'node:fs';
import type { ValidateFunction } from 'ajv';
import { parse as parseYaml } from 'yaml';

export function loadYamlFile<T>(file: string, validate: ValidateFunction<T>, unique?: { what: string; names: (doc: T) => string[] }): T {
  const doc: unknown = parseYaml(readFileSync(file, 'utf8'));
  if (!validate(doc)) {
    const e = validate.errors![0]!;
    throw new Error(`${file}: ${e.instancePath || '(root)'} ${e.message}`);
  }
  if (unique) {
    const seen = new Set<string>();
    for (const name of unique.names(doc)) {
      if (seen.has(name)) throw new Error(`${file}: ${unique.what} ${name} is declared twice`);
      seen.add(name);
    }
  }
  return doc;
}
