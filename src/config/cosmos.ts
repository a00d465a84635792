// Loads config/cosmos.yaml: the database and containers (partition key, TTL, indexed paths).
import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import { parse as parseYaml } from 'yaml';

export interface ContainerDefinition {
  name: string;
  partitionKey: string;
  /** -1: TTL on with no default (items expire by their own `ttl`); a number: default seconds. */
  defaultTtl?: number;
  indexingPolicy?: { includedPaths?: string[]; excludedPaths?: string[] };
}

export interface CosmosDefinition {
  cosmos: { databaseName: string; containers: ContainerDefinition[] };
}

const validate = new Ajv({ allErrors: true }).compile<CosmosDefinition>({
  type: 'object',
  required: ['cosmos'],
  additionalProperties: false,
  properties: {
    cosmos: {
      type: 'object',
      required: ['databaseName', 'containers'],
      additionalProperties: false,
      properties: {
        databaseName: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$' },
        containers: {
          type: 'array',
          items: {
            type: 'object',
            required: ['name', 'partitionKey'],
            additionalProperties: false,
            properties: {
              name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$' },
              partitionKey: { type: 'string', pattern: '^(/[A-Za-z0-9_]+)+$' },
              defaultTtl: { type: 'integer', minimum: -1 },
              indexingPolicy: {
                type: 'object',
                additionalProperties: false,
                properties: { includedPaths: { type: 'array', items: { type: 'string' } }, excludedPaths: { type: 'array', items: { type: 'string' } } },
              },
            },
          },
        },
      },
    },
  },
});

export function loadCosmosDefinition(file: string): CosmosDefinition {
  const doc: unknown = parseYaml(readFileSync(file, 'utf8'));
  if (!validate(doc)) {
    const e = validate.errors![0]!;
    throw new Error(`${file}: ${e.instancePath || '(root)'} ${e.message}`);
  }
  const names = new Set<string>();
  for (const c of doc.cosmos.containers) {
    if (names.has(c.name)) throw new Error(`${file}: container ${c.name} is declared twice`);
    names.add(c.name);
  }
  return doc;
}
