// The embedded Functions host: runs the unchanged app in functions/ on one machine. It plays
// the parts of the Functions host and the Node.js worker — settings, host.json, entry-point
// loading through @azure/functions-core, trigger listeners, output bindings — on top of the
// embedded services (broker, ...) persisted in one SQLite file.
import { randomBytes } from 'node:crypto';
import { UsageMeter } from '../usage';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { EmbeddedDocumentStore } from '../docstore/store';
import { CosmosDBListener } from './cosmosdb-listener';
import { EventHubListener } from './eventhub-listener';
import { DurableEngine } from '../durable/engine';
import { DurableStore } from '../durable/store';
import { durableApiHandler, durableClientData } from '../durable/http-api';
import { EmbeddedEventHubs } from '../eventhubs/event-log';
import { EmbeddedBroker } from '../broker/broker';
import { systemClock, type Clock } from '../clock';
import { setEmbeddedRuntime } from '../runtime';
import { embeddedTelemetry, type EmbeddedTelemetry } from '../telemetry';
import type { GroupCommit, Db } from '../sqlite';
import { runAppStartHooks, runAppTerminateHooks } from '../worker/invoke';
import type { RpcBindingInfo, RpcInvocationResponse } from '../worker/rpc';
import { workerState, type RegisteredFunction } from '../worker/worker-state';
import { loadApp } from './app-loader';
import { WorkerProcesses, workerProcessCount } from './worker-processes';
import type { LocalAzureHooks } from '@backbone/azure-model/local-runtime';
import { loadHooks } from './hooks';
import { dashboardHandler } from './dashboard';
import { FunctionExecutor } from './executor';
import { loadHostConfig, type HostConfig } from './host-config';
import { HttpListener, requestBodyLimit } from './http-listener';
import { consoleWriter, HostLogger, type LogWriter } from './logger';
import { OutputBindings } from './output-bindings';
import { openServices } from './services';
import type { AmqpListener } from '../amqp/listener';
import type { ServiceBusAdminServer } from '../servicebus-admin/atom-api';
import type { CosmosRestServer } from '../cosmos-rest/server';
import { pointConnectionsAtEndpoints } from './emulator-connections';
import { serveWireEndpoints, type WireEndpointsServed } from './wire-endpoints';
import { bindFunction, SUPPORTED_INPUTS, usesSdkBinding, type FunctionBinder } from './function-bindings';
import { ServiceBusListener } from './servicebus-listener';
import { SettlementService } from './servicebus-sdk-binding';
import { loadLocalSettings, resolveSettingExpression } from './settings';
import { TimerListener } from './timer-listener';

export interface EmbeddedHostOptions {
  /** Folder with package.json, host.json, local.settings.json and config/. */
  appDir: string;
  /** SQLite file, or ':memory:'. Default: $DATA_DIR/embedded.sqlite, DATA_DIR defaulting to <appDir>/.data. */
  database?: string;
  /** 0 picks a free port. Default: $PORT, then local.settings.json Host.LocalHttpPort, then 7071. */
  port?: number;
  hostname?: string;
  clock?: Clock;
  logWriter?: LogWriter;
  env?: NodeJS.ProcessEnv;
  /** Default: $CONFIG_DIR/topology.yaml, CONFIG_DIR defaulting to <appDir>/config */
  topologyFile?: string;
  /** Sweep interval for expired messages; 0 turns the background sweep off (tests with a manual clock). */
  sweepIntervalMs?: number;
  /** What the app hands the host (default: the module its package.json names in "localAzure": { "hooks" }). */
  hooks?: LocalAzureHooks;
  /**
   * Service Bus over AMQP 1.0 on this port (0: a free one), for any Service Bus client with the
   * emulator's connection string; default: $LOCAL_AZURE_AMQP_PORT, else none.
   */
  amqpPort?: number;
  /**
   * Service Bus' administration API (HTTP, ATOM) on this port, as the official emulator serves it
   * on 5300; default: $LOCAL_AZURE_SB_ADMIN_PORT, else 5300 when AMQP is served (a free port when AMQP's is).
   */
  serviceBusAdminPort?: number;
  /**
   * Cosmos DB's REST API (plain HTTP, the emulator's key) on this port, as the emulator serves it on
   * 8081; default: $LOCAL_AZURE_COSMOS_PORT, else 8081 when AMQP is served (a free port when AMQP's is).
   */
  cosmosPort?: number;
  /**
   * SDK mode: the wire endpoints are served (on free ports unless given) before the app runs, and
   * each connection setting a binding names that says "UseEmbeddedHost=true" is pointed at them as
   * an emulator connection string, so the app's own Azure SDK clients do its work; the bindings
   * stay with the host. Default: $LOCAL_AZURE_SDK_MODE is "true".
   */
  sdkMode?: boolean;
}

export interface FunctionInfo {
  name: string;
  trigger: string;
  bindings: Record<string, RpcBindingInfo>;
  url?: string;
  methods?: string[];
  /** Why the host does not run it (a binding it does not serve); unset when it runs. */
  unavailable?: string;
}

export class EmbeddedHost {
  readonly functions: FunctionInfo[] = [];
  #stopped = false;
  stopSweeping: () => void = () => undefined;
  /** Development keys this host put into the environment (taken out again on stop). */
  /** Undoes what the app's prepare hook did to the environment (taken out again on stop). */
  restoreEnvironment?: () => void;

  private constructor(
    readonly config: HostConfig,
    readonly logger: HostLogger,
    readonly db: Db,
    readonly commit: GroupCommit,
    readonly broker: EmbeddedBroker,
    readonly http: HttpListener,
    readonly serviceBus: ServiceBusListener,
    readonly timers: TimerListener,
    readonly cosmos: CosmosDBListener,
    readonly documents: EmbeddedDocumentStore,
    readonly eventHubs: EmbeddedEventHubs,
    readonly eventHubListener: EventHubListener,
    readonly durable: DurableEngine,
    readonly baseUrl: string,
    readonly databaseFile: string,
    /** What the app asked of each service so far (npm run cost). */
    readonly usage: UsageMeter,
    private readonly settlement: SettlementService | undefined,
  ) {}

  wire?: WireEndpointsServed;
  /** The language worker processes, when functions run outside the host's process (FUNCTIONS_WORKER_PROCESS_COUNT > 1). */
  workers?: WorkerProcesses;
  /** The AMQP 1.0 listener (Service Bus and Event Hubs), when the host runs one. */
  get amqp(): AmqpListener | undefined {
    return this.wire?.amqp;
  }
  /** Service Bus' administration API, when the host serves it. */
  get serviceBusAdmin(): ServiceBusAdminServer | undefined {
    return this.wire?.serviceBusAdmin;
  }
  /** Cosmos DB's REST API, when the host serves it. */
  get cosmosRest(): CosmosRestServer | undefined {
    return this.wire?.cosmosRest;
  }

  /** Spans, metrics and logs of this process (OpenTelemetry; in Azure they go to Application Insights). */
  get telemetry(): EmbeddedTelemetry {
    return embeddedTelemetry();
  }

  static async start(options: EmbeddedHostOptions): Promise<EmbeddedHost> {
    const started = performance.now();
    const phases = startupPhases(started);
    const appDir = resolve(options.appDir);
    const env = options.env ?? process.env;
    const writer = options.logWriter ?? consoleWriter;
    const bootLogger = new HostLogger({}, writer);
    const local = loadLocalSettings(appDir, env, (m) => bootLogger.log('warning', 'Host.Startup', m));
    if (env.FUNCTIONS_WORKER_RUNTIME && env.FUNCTIONS_WORKER_RUNTIME !== 'node') {
      throw new Error(`FUNCTIONS_WORKER_RUNTIME is "${env.FUNCTIONS_WORKER_RUNTIME}"; this host runs Node.js apps ("node").`);
    }
    const config = loadHostConfig(appDir, env, cpus().length);
    const usage = new UsageMeter();
    // Every record the host writes would be a trace in Application Insights: counted, by category.
    const logger = new HostLogger(config.logLevels, (record) => {
      // Function.<name> (the host's own records) and Function.<name>.User (the app's) are billed apart.
      const resource = record.category.split('.').slice(0, 2).join('.') + (record.category.endsWith('.User') ? '.User' : '');
      usage.call('logs', resource, record.level, [Buffer.byteLength(record.message)]);
      writer(record);
    });
    const clock = options.clock ?? systemClock;

    const databaseFile = options.database ?? join(resolve(appDir, env.DATA_DIR || '.data'), 'embedded.sqlite');
    const configDir = env.CONFIG_DIR ? resolve(env.CONFIG_DIR) : join(appDir, 'config');
    phases.end('settings');
    const services = openServices({ databaseFile, configDir, topologyFile: options.topologyFile, clock, usage, sweepIntervalMs: options.sweepIntervalMs });
    const { db, commit, broker, documents, eventHubs } = services;
    phases.end('database');
    const runtime = { broker, documents, eventHubs, db, commit, clock, baseUrl: '' };
    setEmbeddedRuntime(runtime);
    let settlement: SettlementService | undefined;
    let workers: WorkerProcesses | undefined;
    let restoreEnvironment: (() => void) | undefined;
    let wire: WireEndpointsServed | undefined;
    const cleanupOnFailure = () => {
      restoreEnvironment?.();
      void wire?.close();
      void settlement?.release();
      void workers?.stop();
      setEmbeddedRuntime(undefined);
      broker.close();
      commit.close();
      db.close();
    };

    try {
      // The keys Key Vault provides in Azure: kept beside the database, or for this run only in memory.
      const hooks = options.hooks ?? loadHooks(appDir);
      const prepared = hooks.prepare?.({ dataDir: databaseFile === ':memory:' ? undefined : dirname(resolve(databaseFile)), env }) ?? {};
      restoreEnvironment = prepared.restore;
      for (const line of prepared.log ?? []) bootLogger.log(line.level, 'Host.Startup', line.message);
      // Before the app loads: a client (the app's own, in SDK mode) finds them up from its first call.
      const workerCount = workerProcessCount(env);
      const sdkMode = options.sdkMode ?? env.LOCAL_AZURE_SDK_MODE === 'true';
      const portSetting = (name: string) => (env[name] ? Number(env[name]) : undefined);
      const amqpPort = options.amqpPort ?? portSetting('LOCAL_AZURE_AMQP_PORT') ?? (sdkMode ? 0 : undefined);
      wire = await serveWireEndpoints(
        { broker, eventHubs, documents, db, now: () => clock.now(), env },
        { amqpPort, serviceBusAdminPort: options.serviceBusAdminPort ?? portSetting('LOCAL_AZURE_SB_ADMIN_PORT'), cosmosPort: options.cosmosPort ?? portSetting('LOCAL_AZURE_COSMOS_PORT') },
        logger,
        sdkMode,
      );
      phases.end('endpoints');
      // Before the app loads, as Application Insights is in Azure: the app finds an SDK registered.
      embeddedTelemetry();
      phases.end('telemetry');
      let functions: RegisteredFunction[];
      // What the worker reports to the host once the app is loaded: HttpUri when the app streams HTTP.
      let capabilities: Record<string, string>;
      if (workerCount > 1) {
        const loaded = await WorkerProcesses.load({ count: workerCount, appDir, env, logger });
        workers = loaded.pool;
        ({ functions, capabilities } = loaded);
        if (capabilities.HttpUri) throw new Error('HTTP streams (app.setup({ enableHttpStream: true })) are not supported with FUNCTIONS_WORKER_PROCESS_COUNT above 1 yet.');
      } else {
        await loadApp(appDir);
        capabilities = (await workerState.programmingModel?.getCapabilities?.({})) ?? {};
        functions = [...workerState.functions.values()];
      }
      phases.end('app');
      if (functions.length === 0) throw new Error('The app registered no functions.');
      // What the app's bindings name and no config/ declares is created, one line each (as a developer would create it by hand).
      for (const line of services.declareFromBindings(functions, env)) logger.log('information', 'Host.Startup', line);
      if (sdkMode) {
        const { amqp: amqpBound, serviceBusAdmin: adminBound, cosmos: cosmosBound } = wire.bound;
        const pointed = pointConnectionsAtEndpoints(functions, env, { amqpPort: amqpBound!, serviceBusAdminPort: adminBound!, cosmosPort: cosmosBound! });
        const restorePrepared = restoreEnvironment;
        restoreEnvironment = () => {
          pointed.restore();
          restorePrepared?.();
        };
        for (const line of pointed.lines) logger.log('information', 'Host.Startup', line);
      }

      const taskHub = resolveSettingExpression(config.durableTask.hubName, env);
      // The Durable webhooks' system key: with the app's HTTP auth on, the API that can start,
      // approve or terminate sagas is not left open beside the role checks (the app's hooks).
      const durableSystemKey = prepared.httpAuth ? randomBytes(32).toString('base64url') : undefined;
      const executor = new FunctionExecutor(logger, {
        functionTimeoutMs: config.functionTimeoutMs,
        defaultRetry: config.retry,
        usage,
        ...(workers ? { invoke: workers.invoke.bind(workers) } : {}),
        inputBindings: (fn) =>
          Object.entries(fn.metadata.bindings)
            .filter(([, b]) => b.direction === 'in' && SUPPORTED_INPUTS.has(b.type ?? ''))
            .map(([name]) => ({ name, data: { json: JSON.stringify(durableClientData(runtime.baseUrl, taskHub, durableSystemKey)) } })),
      });
      const outputs = new OutputBindings(broker, env, eventHubs, documents);
      const afterInvocation = (fn: RegisteredFunction, response: RpcInvocationResponse, invocationId: string) => outputs.apply(fn, response, invocationId);
      const http = new HttpListener({
        routePrefix: config.routePrefix,
        executor,
        logger,
        afterInvocation,
        cors: local.host.CORS,
        corsCredentials: local.host.CORSCredentials,
        maxRequestBodyBytes: requestBodyLimit(env),
        ...(hooks.refuseBeforeBody ? { refusesCredentials: (headers) => hooks.refuseBeforeBody!(headers, env) } : {}),
        streamProxyUri: capabilities.HttpUri,
      });
      const sbNamespace = (connection: string) => env[`${connection}__fullyQualifiedNamespace`] || 'embedded.servicebus.localhost';
      settlement = functions.some((f) => Object.values(f.metadata.bindings).some(usesSdkBinding)) ? await SettlementService.start() : undefined;
      // The extension reads the host's gRPC address from the worker's command line.
      const workerArgv = [process.argv[0]!, process.argv[1] ?? 'embedded-host', ...(settlement?.workerArguments() ?? [])];
      if (settlement && !workers) process.argv = workerArgv;
      const serviceBus = new ServiceBusListener({
        settlement,
        broker,
        executor,
        logger,
        hostOptions: config.serviceBus,
        namespace: sbNamespace('ServiceBusConnection'),
        afterInvocation,
      });
      const timers = new TimerListener({ db, clock, executor, logger, env, afterInvocation });
      const cosmosListener = new CosmosDBListener({ documents, clock, executor, logger, env, afterInvocation });
      const eventHubListener = new EventHubListener({ eventHubs, executor, logger, env, hostOptions: config.eventHubs, afterInvocation });
      const durable = new DurableEngine({
        store: new DurableStore(db, usage),
        commit,
        clock,
        executor,
        logger,
        maxConcurrentOrchestrators: config.durableTask.maxConcurrentOrchestratorFunctions,
        maxConcurrentActivities: config.durableTask.maxConcurrentActivityFunctions,
        versioning: config.durableTask.versioning,
        afterInvocation,
      });
      http.mount(durableApiHandler({ engine: durable, taskHub, baseUrl: () => runtime.baseUrl, ...(durableSystemKey ? { systemKey: durableSystemKey } : {}) }));
      http.mount(
        dashboardHandler({
          appDir,
          broker,
          usage,
          spansOfCorrelation: (id) => embeddedTelemetry().spansOfCorrelation(id),
          // The app's own rules (the app's hooks): open with nothing configured, the ops role otherwise.
          ...(hooks.authorizeDashboard ? { authorize: (headers) => hooks.authorizeDashboard!(headers, env) } : {}),
        }),
      );

      const infos: FunctionInfo[] = [];
      const starters: (() => void)[] = [];
      const binder: FunctionBinder = { logger, env, config, http, serviceBus, durable, eventHubListener, cosmosListener, timers, broker, eventHubs, infos, starters };
      for (const fn of functions) bindFunction(fn, binder);

      phases.end('bindings');
      if (!workers) await runAppStartHooks(appDir);
      const port = options.port ?? Number(env.PORT || local.host.LocalHttpPort || 7071);
      const baseUrl = await http.listen(port, options.hostname);
      runtime.baseUrl = baseUrl;
      // Worker processes are handed the base URL (the runtime's baseUrl), so they start the app once the host listens.
      if (workers) await workers.start(env, workerArgv, baseUrl);
      phases.end('listen');
      for (const start of starters) start();
      timers.start();
      cosmosListener.start();
      eventHubListener.start();
      durable.start();
      // Expired items (TTL) and events past retention go in the background, as the services do it.
      let stopSweeping = () => undefined as void;
      const sweepMs = options.sweepIntervalMs ?? 60_000;
      if (sweepMs > 0) {
        const sweeper = setInterval(() => {
          for (const c of documents.containers) c.sweepExpired();
          eventHubs.sweep();
        }, sweepMs);
        sweeper.unref();
        stopSweeping = () => clearInterval(sweeper);
      }

      phases.end('triggers');
      const host = new EmbeddedHost(
        config,
        logger,
        db,
        commit,
        broker,
        http,
        serviceBus,
        timers,
        cosmosListener,
        documents,
        eventHubs,
        eventHubListener,
        durable,
        baseUrl,
        databaseFile,
        usage,
        settlement,
      );
      host.stopSweeping = stopSweeping;
      host.restoreEnvironment = restoreEnvironment;
      host.wire = wire;
      host.workers = workers;
      const byName = new Map(functions.map((f) => [f.metadata.name, f]));
      for (const info of infos) {
        const fn = byName.get(info.name)!;
        if (info.trigger === 'httpTrigger') {
          info.url = http.urlOf(fn);
          info.methods = http.methodsOf(fn);
        }
      }
      host.functions.push(...infos);
      logger.log(
        'information',
        'Host.Startup',
        `Embedded host started in ${Math.round(performance.now() - started)} ms (${phases.summary()}; data: ${databaseFile}${workers ? `; ${workers.count} worker processes, pids ${workers.pids().join(', ')}` : ''})\n\nFunctions:\n\n${infos
          .map((f) => `${f.url ? `\t${f.name}: [${f.methods!.join(',')}] ${f.url}` : `\t${f.name}: ${f.trigger}`}${f.unavailable ? ` (not run: ${f.unavailable})` : ''}`)
          .join('\n\n')}\n`,
      );
      return host;
    } catch (error) {
      cleanupOnFailure();
      throw error;
    }
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    // Every listener hears of the stop at once (the host cancels one token): a change feed batch
    // still running is then not checkpointed.
    const cosmosStopped = this.cosmos.stop();
    const eventHubsStopped = this.eventHubListener.stop();
    const durableStopped = this.durable.stop();
    await this.http.close();
    await this.serviceBus.stop();
    await this.timers.stop();
    await cosmosStopped;
    await eventHubsStopped;
    await durableStopped;
    this.stopSweeping();
    // Before the wire endpoints close: the app's own clients (SDK mode) end their connections cleanly.
    if (this.workers) await this.workers.stop();
    else await runAppTerminateHooks().catch((e: Error) => this.logger.log('error', 'Host.Shutdown', `appTerminate hook failed: ${e.message}`));
    await this.wire?.close();
    await this.settlement?.release();
    this.broker.close();
    this.commit.close();
    this.db.close();
    setEmbeddedRuntime(undefined);
    this.restoreEnvironment?.();
  }
}

/** Where start-up time goes, in the order of the phases, for the start-up line (and npm run bench:startup). */
function startupPhases(started: number) {
  const done: [string, number][] = [];
  let last = started;
  return {
    end(name: string): void {
      const now = performance.now();
      done.push([name, now - last]);
      last = now;
    },
    summary: (): string => done.map(([name, ms]) => `${name} ${Math.round(ms)}`).join(', ') + ' ms',
  };
}

/** Why the embedded host cannot run a function (a trigger or binding type it does not serve), if it cannot. */
