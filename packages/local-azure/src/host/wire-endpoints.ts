// The host's wire endpoints: Service Bus and Event Hubs over AMQP 1.0 (one port, as one
// namespace), Service Bus' administration API, Cosmos DB's REST API — on the ports Microsoft's
// emulators use unless told otherwise. A port another process holds leaves that endpoint out with
// a warning (the rest of the host runs), unless the endpoints are required (SDK mode: the app's
// own clients need them).
import type { Db } from '../sqlite';
import type { EmbeddedBroker } from '../broker/broker';
import type { EmbeddedDocumentStore } from '../docstore/store';
import type { EmbeddedEventHubs } from '../eventhubs/event-log';
import { AmqpListener } from '../amqp/listener';
import { EventHubsAmqp } from '../amqp/event-hubs-amqp';
import { ServiceBusAmqp } from '../amqp/service-bus-amqp';
import { CosmosRestServer } from '../cosmos-rest/server';
import { ServiceBusAdminServer } from '../servicebus-admin/atom-api';
import { amqpConnectionString, cosmosConnectionString } from './emulator-connections';
import type { HostLogger } from './logger';

export interface WirePorts {
  /** undefined: no AMQP (and, unless given, no admin API or Cosmos REST either). */
  amqpPort?: number;
  /** Default: 5300 when AMQP is served, a free port when AMQP's is. */
  serviceBusAdminPort?: number;
  /** Default: 8081 when AMQP is served, a free port when AMQP's is. */
  cosmosPort?: number;
}

export interface WireEndpointsServed {
  amqp?: AmqpListener;
  serviceBusAdmin?: ServiceBusAdminServer;
  cosmosRest?: CosmosRestServer;
  /** The ports bound, by endpoint. */
  bound: { amqp?: number; serviceBusAdmin?: number; cosmos?: number };
  close(): Promise<void>;
}

export async function serveWireEndpoints(
  services: { broker: EmbeddedBroker; eventHubs: EmbeddedEventHubs; documents: EmbeddedDocumentStore; db: Db; now: () => number; env?: NodeJS.ProcessEnv },
  ports: WirePorts,
  logger: HostLogger,
  required: boolean,
): Promise<WireEndpointsServed> {
  const served: WireEndpointsServed = {
    bound: {},
    close: async () => {
      await served.amqp?.close();
      await served.serviceBusAdmin?.close();
      await served.cosmosRest?.close();
    },
  };
  const bindOrWarn = async (what: string, port: number, listen: () => Promise<number>): Promise<number | undefined> => {
    try {
      return await listen();
    } catch (error) {
      const message = `${what}: port ${port}: ${(error as Error).message}`;
      if (required) throw new Error(`SDK mode needs ${message}`, { cause: error });
      // Another process has the port (a second host, the official emulator): the rest runs.
      logger.log('warning', 'Host.Startup', `${what} is not served: port ${port}: ${(error as Error).message}`);
      return undefined;
    }
  };
  const log = (line: string) => logger.log('information', 'Host.Startup', line);
  try {
    const { amqpPort } = ports;
    if (amqpPort !== undefined) {
      const amqp = new AmqpListener({ logger });
      amqp.serve(new EventHubsAmqp(services.eventHubs, amqp, logger)).serve(new ServiceBusAmqp(services.broker, amqp, logger));
      const bound = await bindOrWarn('Service Bus and Event Hubs over AMQP', amqpPort, () => amqp.listen(amqpPort));
      if (bound !== undefined) {
        served.amqp = amqp;
        served.bound.amqp = bound;
        log(`Service Bus (AMQP 1.0): ${amqpConnectionString(bound)}`);
        log(`Event Hubs (AMQP 1.0): ${amqpConnectionString(bound)}EntityPath=<hub> (EntityPath names the hub, or pass the hub name to the client instead)`);
      }
    }
    const beside = (emulatorPort: number) => (amqpPort === undefined ? undefined : amqpPort === 0 ? 0 : emulatorPort);
    const adminPort = ports.serviceBusAdminPort ?? beside(5300);
    if (adminPort !== undefined) {
      const admin = new ServiceBusAdminServer({ broker: services.broker, logger });
      const bound = await bindOrWarn('Service Bus administration', adminPort, () => admin.listen(adminPort));
      if (bound !== undefined) {
        served.serviceBusAdmin = admin;
        served.bound.serviceBusAdmin = bound;
        log(`Service Bus administration (HTTP): ${amqpConnectionString(bound)}`);
      }
    }
    const cosmosPort = ports.cosmosPort ?? beside(8081);
    if (cosmosPort !== undefined) {
      const env = services.env;
      const cosmos = new CosmosRestServer({ documents: services.documents, db: services.db, logger, now: services.now, ...(env ? { faultInjection: () => env.FAULT_INJECTION } : {}) });
      const bound = await bindOrWarn("Cosmos DB's REST API", cosmosPort, () => cosmos.listen(cosmosPort));
      if (bound !== undefined) {
        served.cosmosRest = cosmos;
        served.bound.cosmos = bound;
        log(`Cosmos DB (REST, plain HTTP): ${cosmosConnectionString(bound)}`);
      }
    }
    return served;
  } catch (error) {
    await served.close();
    throw error;
  }
}
