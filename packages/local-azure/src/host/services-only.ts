// `npm start -- --services-only`: the local Azure's Service Bus, Event Hubs and Cosmos DB on the
// emulators' ports, and no app — for Azure Functions Core Tools (`func start`) to run the app
// against them instead of Microsoft's Docker emulators. Running the app here as well would make
// two hosts compete for every trigger (each change feed read twice, each saga started twice), so
// nothing of the app is loaded: the entities are what config/ declares, or what clients create
// through the administration API.
import { dirname, join, resolve } from 'node:path';
import { systemClock } from '../clock';
import { UsageMeter } from '../usage';
import { consoleWriter, HostLogger, type LogWriter } from './logger';
import { openServices } from './services';
import { loadLocalSettings } from './settings';
import { serveWireEndpoints, type WireEndpointsServed, type WirePorts } from './wire-endpoints';

export interface ServicesOnlyOptions {
  /** The app's folder: its config/ declares the entities, its .data/ keeps them (as npm start's). */
  appDir: string;
  /** SQLite file, or ':memory:'. Default: $DATA_DIR/embedded.sqlite, DATA_DIR defaulting to <appDir>/.data. */
  database?: string;
  /** Default: AMQP on 5672, the administration API on 5300, Cosmos DB on 8081 (the emulators' ports). */
  ports?: WirePorts;
  env?: NodeJS.ProcessEnv;
  logWriter?: LogWriter;
  /** Sweep interval for expired items and events past retention; 0 turns it off. */
  sweepIntervalMs?: number;
}

export interface ServicesOnly {
  wire: WireEndpointsServed;
  databaseFile: string;
  stop(): Promise<void>;
}

export async function startServicesOnly(options: ServicesOnlyOptions): Promise<ServicesOnly> {
  const appDir = resolve(options.appDir);
  const env = options.env ?? process.env;
  const logger = new HostLogger({}, options.logWriter ?? consoleWriter);
  // DATA_DIR and CONFIG_DIR may come from local.settings.json, as for the full host.
  loadLocalSettings(appDir, env, (m) => logger.log('warning', 'Host.Startup', m));
  const databaseFile = options.database ?? join(resolve(appDir, env.DATA_DIR || '.data'), 'embedded.sqlite');
  const configDir = env.CONFIG_DIR ? resolve(env.CONFIG_DIR) : join(appDir, 'config');
  const services = openServices({ databaseFile, configDir, clock: systemClock, usage: new UsageMeter(), sweepIntervalMs: options.sweepIntervalMs });
  const { db, commit, broker, documents, eventHubs } = services;
  let wire: WireEndpointsServed;
  try {
    wire = await serveWireEndpoints({ broker, eventHubs, documents, db, now: () => systemClock.now(), env }, options.ports ?? { amqpPort: 5672 }, logger, true);
  } catch (error) {
    broker.close();
    commit.close();
    db.close();
    throw error;
  }
  const sweepMs = options.sweepIntervalMs ?? 60_000;
  const sweeper =
    sweepMs > 0
      ? setInterval(() => {
          for (const c of documents.containers) c.sweepExpired();
          eventHubs.sweep();
        }, sweepMs)
      : undefined;
  sweeper?.unref();
  logger.log('information', 'Host.Startup', `Services only (no functions run here; data: ${databaseFile === ':memory:' ? databaseFile : dirname(databaseFile)})`);
  let stopped = false;
  return {
    wire,
    databaseFile,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(sweeper);
      await wire.close();
      broker.close();
      commit.close();
      db.close();
    },
  };
}
