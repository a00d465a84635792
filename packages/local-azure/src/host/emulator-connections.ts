// The connection strings this host's wire endpoints answer to — the shape Microsoft's emulators
// document, so a client configured for them connects here unchanged — and SDK mode: the app's
// connection settings that say "UseEmbeddedHost=true" are pointed at those endpoints instead, so
// the app's own Azure SDK clients (its production code path) run against the local Azure while
// the bindings stay with the host.
import type { RegisteredFunction } from '../worker/worker-state';
import { DEVELOPMENT_KEYS } from '../amqp/listener';
import { EMULATOR_KEY } from '../cosmos-rest/auth';

export const EMBEDDED_CONNECTION = 'UseEmbeddedHost=true';

const [SAS_KEY_NAME, SAS_KEY] = Object.entries(DEVELOPMENT_KEYS)[0]!;

/** Service Bus or Event Hubs (one AMQP port serves both, as one namespace). */
export function amqpConnectionString(port: number): string {
  return `Endpoint=sb://localhost:${port};SharedAccessKeyName=${SAS_KEY_NAME};SharedAccessKey=${SAS_KEY};UseDevelopmentEmulator=true;`;
}

export function cosmosConnectionString(port: number): string {
  return `AccountEndpoint=http://localhost:${port}/;AccountKey=${EMULATOR_KEY};`;
}

export type ConnectionService = 'Service Bus' | 'Event Hubs' | 'Cosmos DB';

/** Which service a binding's connection belongs to, by binding type (triggers and outputs alike). */
const SERVICE_OF_BINDING: Record<string, ConnectionService> = {
  serviceBusTrigger: 'Service Bus',
  serviceBus: 'Service Bus',
  eventHubTrigger: 'Event Hubs',
  eventHub: 'Event Hubs',
  cosmosDBTrigger: 'Cosmos DB',
  cosmosDB: 'Cosmos DB',
};

/** The extensions' default connection names, for a binding that names none. */
const DEFAULT_CONNECTION: Record<ConnectionService, string> = {
  'Service Bus': 'AzureWebJobsServiceBus',
  'Event Hubs': 'AzureWebJobsEventHub',
  'Cosmos DB': 'CosmosDB',
};

/** Each connection the app's bindings name, with its service; a name two services share is reported, not guessed. */
export function connectionsOfBindings(functions: RegisteredFunction[]): { services: Map<string, ConnectionService>; conflicts: Map<string, ConnectionService[]> } {
  const seen = new Map<string, Set<ConnectionService>>();
  for (const fn of functions) {
    for (const binding of Object.values(fn.metadata.bindings)) {
      const service = SERVICE_OF_BINDING[binding.type ?? ''];
      if (!service) continue;
      const name = typeof binding.connection === 'string' && binding.connection ? binding.connection : DEFAULT_CONNECTION[service];
      let set = seen.get(name);
      if (!set) seen.set(name, (set = new Set()));
      set.add(service);
    }
  }
  const services = new Map<string, ConnectionService>();
  const conflicts = new Map<string, ConnectionService[]>();
  for (const [name, set] of seen) {
    if (set.size === 1) services.set(name, [...set][0]!);
    else conflicts.set(name, [...set]);
  }
  return { services, conflicts };
}

export interface WireEndpoints {
  /** Service Bus and Event Hubs over AMQP 1.0. */
  amqpPort: number;
  /** Service Bus' administration API (HTTP). */
  serviceBusAdminPort: number;
  /** Cosmos DB's REST API (HTTP). */
  cosmosPort: number;
}

/**
 * SDK mode: every connection a binding names that is set to "UseEmbeddedHost=true" gets the
 * connection string of this host's endpoint for its service — and a Service Bus connection its
 * administration API's as <name>__administrationConnectionString, as the official emulator serves
 * that on a port of its own. Returns what it did (one line each) and how to put the settings back.
 */
export function pointConnectionsAtEndpoints(functions: RegisteredFunction[], env: NodeJS.ProcessEnv, endpoints: WireEndpoints): { lines: string[]; restore: () => void } {
  const { services, conflicts } = connectionsOfBindings(functions);
  const previous = new Map<string, string | undefined>();
  const set = (name: string, value: string) => {
    if (!previous.has(name)) previous.set(name, env[name]);
    env[name] = value;
  };
  const lines: string[] = [];
  for (const [name, service] of services) {
    if (env[name]?.trim() !== EMBEDDED_CONNECTION) continue;
    if (service === 'Cosmos DB') set(name, cosmosConnectionString(endpoints.cosmosPort));
    else set(name, amqpConnectionString(endpoints.amqpPort));
    if (service === 'Service Bus') set(`${name}__administrationConnectionString`, amqpConnectionString(endpoints.serviceBusAdminPort));
    lines.push(`SDK mode: ${name} → ${service} at ${env[name]}`);
  }
  for (const [name, both] of conflicts) lines.push(`SDK mode: ${name} (${both.join(', ')}) is named by bindings of two services; left as it is`);
  const unnamed = Object.keys(env).filter((k) => env[k]?.trim() === EMBEDDED_CONNECTION && !services.has(k) && !conflicts.has(k));
  for (const name of unnamed) lines.push(`SDK mode: ${name} is named by no binding, so its service is unknown; it stays on the in-process path`);
  return {
    lines,
    restore: () => {
      for (const [name, value] of previous) {
        if (value === undefined) delete env[name];
        else env[name] = value;
      }
    },
  };
}
