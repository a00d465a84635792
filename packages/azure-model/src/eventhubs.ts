// Loads config/eventhubs.yaml: the hubs, their partition counts, retention and consumer groups.
import { builtInSchemaCompiler } from './built-in-schema';
import { loadYamlFile } from './yaml-file';

export interface HubDefinition {
  name: string;
  partitionCount: number;
  messageRetentionInDays: number;
  /** Besides $Default, which every hub has. */
  consumerGroups: string[];
}

export interface EventHubsDefinition {
  eventHubs: { hubs: HubDefinition[] };
}

const NAME = '^[A-Za-z0-9][A-Za-z0-9._-]{0,255}$';
const validate = builtInSchemaCompiler({ allErrors: true, useDefaults: true }).compile<EventHubsDefinition>({
  type: 'object',
  required: ['eventHubs'],
  additionalProperties: false,
  properties: {
    eventHubs: {
      type: 'object',
      required: ['hubs'],
      additionalProperties: false,
      properties: {
        hubs: {
          type: 'array',
          items: {
            type: 'object',
            required: ['name', 'partitionCount'],
            additionalProperties: false,
            properties: {
              name: { type: 'string', pattern: NAME },
              partitionCount: { type: 'integer', minimum: 1, maximum: 32 },
              messageRetentionInDays: { type: 'integer', minimum: 1, maximum: 90, default: 1 },
              consumerGroups: { type: 'array', items: { type: 'string', pattern: NAME }, default: [] },
            },
          },
        },
      },
    },
  },
});

export function loadEventHubsDefinition(file: string): EventHubsDefinition {
  return loadYamlFile(file, validate, { what: 'hub', names: (d) => d.eventHubs.hubs.map((h) => h.name) });
}
