// `npm start`: runs the app (package.json main) on the embedded host.
//   --port <n>         HTTP port (default $PORT, local.settings.json Host.LocalHttpPort, 7071)
//   --data-dir <dir>   where the SQLite file lives (default $DATA_DIR or .data)
//   --app <dir>        the function app folder (default: the current directory)
//   --amqp-port <n|off> Service Bus over AMQP 1.0 (default $LOCAL_AZURE_AMQP_PORT or 5672, the emulator's port)
//   --sdk              SDK mode (also $LOCAL_AZURE_SDK_MODE=true): the app's connection settings that say
//                      UseEmbeddedHost=true are pointed at the wire endpoints, so its Azure SDK clients run
//   --services-only    Service Bus, Event Hubs and Cosmos DB on the emulators' ports and no app, for `func start`
//                      (Core Tools) with local.settings.local-azure.json (npm run emulators:config)
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { EmbeddedHost } from './host/host';
import { startServicesOnly } from './host/services-only';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      app: { type: 'string' },
      'amqp-port': { type: 'string' },
      sdk: { type: 'boolean' },
      'services-only': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write('Usage: npm start -- [--port 7071] [--data-dir .data] [--app .] [--amqp-port 5672|off] [--sdk | --services-only]\n');
    return;
  }
  if (values['data-dir']) process.env.DATA_DIR = resolve(values['data-dir']);
  const port = values.port !== undefined ? Number(values.port) : undefined;
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) throw new Error(`--port must be 0..65535, not ${values.port}`);

  const amqpSetting = values['amqp-port'] ?? process.env.LOCAL_AZURE_AMQP_PORT ?? '5672';
  const amqpPort = amqpSetting === 'off' ? undefined : Number(amqpSetting);
  if (amqpPort !== undefined && (!Number.isInteger(amqpPort) || amqpPort < 0 || amqpPort > 65535)) throw new Error(`--amqp-port must be 0..65535 or off, not ${amqpSetting}`);
  if (values['services-only']) {
    if (amqpPort === undefined) throw new Error('--services-only serves Service Bus and Event Hubs over AMQP: give --amqp-port a port, not off');
    const services = await startServicesOnly({
      appDir: values.app ?? process.cwd(),
      ports: { amqpPort, serviceBusAdminPort: portSetting('LOCAL_AZURE_SB_ADMIN_PORT'), cosmosPort: portSetting('LOCAL_AZURE_COSMOS_PORT') },
    });
    onStopSignal(() => services.stop());
    return;
  }
  const sdkMode = values.sdk === true || process.env.LOCAL_AZURE_SDK_MODE === 'true';
  if (sdkMode && amqpPort === undefined) throw new Error('SDK mode runs the app through the AMQP endpoint: give --amqp-port a port, not off');

  const host = await EmbeddedHost.start({ appDir: values.app ?? process.cwd(), port, ...(amqpPort !== undefined ? { amqpPort } : {}), sdkMode });
  onStopSignal(() => host.stop());
  process.stdout.write(`Operations dashboard: ${host.baseUrl}/\nFor the ops API: ${host.baseUrl}/api/ops/entities\n`);
}

function portSetting(name: string): number | undefined {
  const value = process.env[name];
  if (!value) return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${name} must be 0..65535, not ${value}`);
  return port;
}

/** Ctrl+C or SIGTERM stops gracefully; a second one forces the exit. */
function onStopSignal(stop: () => Promise<void>): void {
  let stopping = false;
  const handle = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    process.stdout.write(`\n${signal}: stopping the embedded host (draining in-flight invocations)...\n`);
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => handle('SIGINT'));
  process.on('SIGTERM', () => handle('SIGTERM'));
}

main().catch((error: unknown) => {
  process.stderr.write(`The embedded host failed to start: ${(error as Error).message}\n`);
  if (process.env.DEBUG) process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
