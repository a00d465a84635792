// Loads config/cosmos.yaml: the database and containers (partition key, TTL, indexed paths).
import { builtInSchemaCompiler } from './built-in-schema';
import { loadYamlFile } from './yaml-file';

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

const validate = builtInSchemaCompiler({ allErrors: true }).compile<CosmosDefinition>({
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
  return loadYamlFile(file, validate, { what: 'container', names: (d) => d.cosmos.containers.map((c) => c.name) });
}
