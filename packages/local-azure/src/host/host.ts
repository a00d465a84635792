// The embedded Functions host: runs the unchanged app in functions/ on one machine. It plays
// the parts of the Functions host and the Node.js worker — settings, host.json, entry-point
// loading through @azure/functions-core, trigger listeners, output bindings — on top of the
// embedded services (broker, ...) persisted in one SQLite file.
import { randomBytes } from 'node:crypto';
import { UsageMeter } from '../usage';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { loadCosmosDefinition } from '@backbone/azure-model/cosmos';
import { loadTopology, parseTopology } from '@backbone/azure-model/topology';
import { EmbeddedDocumentStore } from '../docstore/store';
import { CosmosDBListener } from './cosmosdb-listener';
import { EventHubListener } from './eventhub-listener';
import { DurableEngine } from '../durable/engine';
import { DurableStore } from '../durable/store';
import { durableApiHandler, durableClientData } from '../durable/http-api';
import { EmbeddedEventHubs } from '../eventhubs/event-log';
import { loadEventHubsDefinition } from '@backbone/azure-model/eventhubs';
import { EmbeddedBroker } from '../broker/broker';
import { EntityTable, subscriptionPath } from '../broker/entities';
import { systemClock, type Clock } from '../clock';
import { setEmbeddedRuntime } from '../runtime';
import { embeddedTelemetry, type EmbeddedTelemetry } from '../telemetry';
import { GroupCommit, openDatabase, type Db } from '../sqlite';
import { installCoreModule } from '../worker/install-core-module';
import { runAppStartHooks, runAppTerminateHooks } from '../worker/invoke';
import type { RpcBindingInfo, RpcInvocationResponse } from '../worker/rpc';
import { workerState, type RegisteredFunction } from '../worker/worker-state';
import { loadEntryPoints } from './app-loader';
import type { LocalAzureHooks } from '@backbone/azure-model/local-runtime';
import { loadHooks } from './hooks';
import { dashboardHandler } from './dashboard';
import { FunctionExecutor } from './executor';
import { loadHostConfig, type HostConfig } from './host-config';
import { HttpListener, requestBodyLimit } from './http-listener';
import { consoleWriter, HostLogger, type LogWriter } from './logger';
import { OutputBindings } from './output-bindings';
import { containersFromBindings, eventHubsFromBindings, topologyFromBindings } from './resources-from-bindings';
import { ServiceBusListener } from './servicebus-listener';
import { SettlementService } from './servicebus-sdk-binding';
import { connectionConfigured, loadLocalSettings, resolveSettingExpression } from './settings';
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

const SUPPORTED_TRIGGERS = new Set(['httpTrigger', 'serviceBusTrigger', 'timerTrigger', 'cosmosDBTrigger', 'eventHubTrigger', 'orchestrationTrigger', 'activityTrigger', 'entityTrigger']);
const SUPPORTED_INPUTS = new Set(['durableClient', 'orchestrationClient']);

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
      usage.call('logs', record.category.split('.').slice(0, 2).join('.'), record.level, [Buffer.byteLength(record.message)]);
      writer(record);
    });
    const clock = options.clock ?? systemClock;

    const databaseFile = options.database ?? join(resolve(appDir, env.DATA_DIR || '.data'), 'embedded.sqlite');
    const configDir = env.CONFIG_DIR ? resolve(env.CONFIG_DIR) : join(appDir, 'config');
    // An app without config/topology.yaml declares no queues or topics (any v4 app can start).
    const topologyFile = options.topologyFile ?? join(configDir, 'topology.yaml');
    const topologyDeclared = Boolean(options.topologyFile) || existsSync(topologyFile);
    const topology = topologyDeclared ? loadTopology(topologyFile) : parseTopology('serviceBus: { queues: [], topics: [] }', '(no config/topology.yaml)');
    phases.end('settings');
    const db = openDatabase(databaseFile);
    const commit = new GroupCommit(db);
    const broker = new EmbeddedBroker(db, new EntityTable(topology), clock, commit, { sweepIntervalMs: options.sweepIntervalMs, usage });
    // An app without config/cosmos.yaml uses no containers.
    const cosmosFile = join(configDir, 'cosmos.yaml');
    const cosmosDeclared = existsSync(cosmosFile);
    const cosmos = cosmosDeclared ? loadCosmosDefinition(cosmosFile).cosmos : { databaseName: 'embedded', containers: [] };
    const documents = new EmbeddedDocumentStore(cosmos.databaseName, cosmos.containers, db, commit, clock, usage);

    const hubsFile = join(configDir, 'eventhubs.yaml');
    const hubsDeclared = existsSync(hubsFile);
    const eventHubs = new EmbeddedEventHubs(hubsDeclared ? loadEventHubsDefinition(hubsFile).eventHubs.hubs : [], db, commit, clock, usage);

    phases.end('database');
    const runtime = { broker, documents, eventHubs, db, commit, clock, baseUrl: '' };
    setEmbeddedRuntime(runtime);
    let settlement: SettlementService | undefined;
    let restoreEnvironment: (() => void) | undefined;
    const cleanupOnFailure = () => {
      restoreEnvironment?.();
      void settlement?.release();
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
      // Before the app loads, as Application Insights is in Azure: the app finds an SDK registered.
      embeddedTelemetry();
      phases.end('telemetry');
      await loadApp(appDir);
      // What the worker reports to the host once the app is loaded: HttpUri when the app streams HTTP.
      const capabilities = (await workerState.programmingModel?.getCapabilities?.({})) ?? {};
      phases.end('app');
      const functions = [...workerState.functions.values()];
      if (functions.length === 0) throw new Error('The app registered no functions.');
      // No topology declared: the queues, topics and subscriptions the bindings name are created,
      // with Service Bus's defaults, one line each (as a developer would create them by hand).
      if (!topologyDeclared) {
        const { topology: derived, created } = topologyFromBindings(functions, env);
        broker.entities.add(derived);
        for (const line of created) logger.log('information', 'Host.Startup', line);
      }
      if (!cosmosDeclared) {
        const derived = containersFromBindings(functions, env);
        if (derived.databaseName) documents.useDatabase(derived.databaseName);
        for (const c of derived.containers) documents.addContainer(c);
        for (const line of derived.created) logger.log('information', 'Host.Startup', line);
      }
      if (!hubsDeclared) {
        const derived = eventHubsFromBindings(functions, env);
        for (const h of derived.hubs) eventHubs.add(h);
        for (const line of derived.created) logger.log('information', 'Host.Startup', line);
      }

      const taskHub = resolveSettingExpression(config.durableTask.hubName, env);
      // The Durable webhooks' system key: with the app's HTTP auth on, the API that can start,
      // approve or terminate sagas is not left open beside the role checks (the app's hooks).
      const durableSystemKey = prepared.httpAuth ? randomBytes(32).toString('base64url') : undefined;
      const executor = new FunctionExecutor(logger, {
        functionTimeoutMs: config.functionTimeoutMs,
        defaultRetry: config.retry,
        usage,
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
      if (settlement) {
        // The extension reads the host's gRPC address from the worker's command line.
        process.argv = [process.argv[0]!, process.argv[1] ?? 'embedded-host', ...settlement.workerArguments()];
      }
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
      for (const fn of functions) {
        const [triggerName, trigger] = Object.entries(fn.metadata.bindings).find(([, b]) => b.direction === 'in' && b.type?.endsWith('Trigger'))!;
        const type = trigger.type!;
        const where = `function '${fn.metadata.name}'`;
        // As Azure does with a function it cannot index, one the embedded host cannot run is left
        // out, with a warning naming it and the binding; the rest of the app runs. An HTTP one
        // answers 501 with the reason, so a caller is not left with a 404.
        const unsupported = unsupportedBinding(fn, type);
        if (unsupported) {
          logger.log('warning', 'Host.Startup', `${where} is not loaded: ${unsupported}. The other functions run.`);
          if (type === 'httpTrigger') http.add(fn, triggerName, `${where} is not run by the embedded host: ${unsupported}`);
          infos.push({ name: fn.metadata.name, trigger: type, bindings: fn.metadata.bindings, unavailable: unsupported });
          continue;
        }
        for (const [, b] of Object.entries(fn.metadata.bindings)) {
          if (b.type?.startsWith('serviceBus')) {
            const connection = typeof b.connection === 'string' && b.connection ? b.connection : 'AzureWebJobsServiceBus';
            if (!connectionConfigured(connection, env)) {
              throw new Error(`${where}: Service Bus account connection string '${connection}' does not exist. Make sure that it is a defined App Setting.`);
            }
          }
          if (b.type === 'eventHub' && b.direction === 'out') {
            const connection = typeof b.connection === 'string' ? b.connection : '';
            if (!connection || (!env[connection] && !env[`${connection}__fullyQualifiedNamespace`])) {
              throw new Error(`${where}: Event Hubs connection '${connection || '(none)'}' does not exist. Make sure that it is a defined App Setting.`);
            }
            eventHubs.hub(resolveSettingExpression(String(b.eventHubName ?? ''), env));
          }
          if (b.type === 'serviceBus' && b.direction === 'out') {
            broker.entities.sending(resolveSettingExpression(String(b.queueName ?? b.topicName ?? ''), env));
          }
        }
        const info: FunctionInfo = { name: fn.metadata.name, trigger: type, bindings: fn.metadata.bindings };
        infos.push(info);
        if (type === 'httpTrigger') {
          http.add(fn, triggerName);
        } else if (type === 'serviceBusTrigger') {
          starters.push(() => serviceBus.start(serviceBusSpec(fn, triggerName, trigger, config, env, broker, logger)));
        } else if (type === 'orchestrationTrigger') {
          durable.addOrchestrator(fn, triggerName);
        } else if (type === 'activityTrigger') {
          durable.addActivity(fn, triggerName);
        } else if (type === 'entityTrigger') {
          durable.addEntity(fn, triggerName);
        } else if (type === 'eventHubTrigger') {
          eventHubListener.add(eventHubListener.spec(fn, triggerName, trigger));
        } else if (type === 'cosmosDBTrigger') {
          // As Azure's host does when a listener cannot start (a lease container that does not
          // exist, a database the store does not hold): an error naming it, and the rest runs.
          let spec: ReturnType<CosmosDBListener['spec']>;
          try {
            spec = cosmosListener.spec(fn, triggerName, trigger);
          } catch (error) {
            logger.log('error', 'Host.Startup', `The listener for function '${fn.metadata.name}' was unable to start. ${(error as Error).message}`);
            continue;
          }
          cosmosListener.add(spec);
        } else if (type === 'timerTrigger') {
          timers.add(fn, triggerName);
          starters.push(() => undefined);
        }
      }

      phases.end('bindings');
      await runAppStartHooks(appDir);
      const port = options.port ?? Number(env.PORT || local.host.LocalHttpPort || 7071);
      const baseUrl = await http.listen(port, options.hostname);
      runtime.baseUrl = baseUrl;
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
      for (const info of infos) {
        const fn = workerState.functions.get(info.name)!;
        if (info.trigger === 'httpTrigger') {
          info.url = http.urlOf(fn);
          info.methods = http.methodsOf(fn);
        }
      }
      host.functions.push(...infos);
      logger.log(
        'information',
        'Host.Startup',
        `Embedded host started in ${Math.round(performance.now() - started)} ms (${phases.summary()}; data: ${databaseFile})\n\nFunctions:\n\n${infos
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
    await runAppTerminateHooks().catch((e: Error) => this.logger.log('error', 'Host.Shutdown', `appTerminate hook failed: ${e.message}`));
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

function usesSdkBinding(binding: RpcBindingInfo): boolean {
  const properties = binding.properties as Record<string, unknown> | undefined;
  return binding.type === 'serviceBusTrigger' && (binding.sdkBinding === true || properties?.supportsDeferredBinding === 'true');
}

let loadedApp: string | undefined;

/**
 * Loads the app once per process (like a worker process); a second host in the same process
 * (tests) reuses the registrations of the first.
 */
async function loadApp(appDir: string): Promise<void> {
  installCoreModule();
  if (loadedApp !== undefined) {
    if (loadedApp !== appDir) throw new Error(`This process already loaded the app in ${loadedApp}; one app per process.`);
    return;
  }
  workerState.indexingLocked = false;
  try {
    // Entry points require @azure/functions, whose setup() the real worker calls first.
    (require('@azure/functions') as { setup?: (o: object) => void }).setup?.({});
  } catch {
    // setup() throws if the app called it already; harmless here.
  }
  await loadEntryPoints(appDir);
  workerState.indexingLocked = true;
  loadedApp = appDir;
}

function serviceBusSpec(fn: RegisteredFunction, triggerName: string, trigger: RpcBindingInfo, config: HostConfig, env: NodeJS.ProcessEnv, broker: EmbeddedBroker, logger: HostLogger) {
  const where = `function '${fn.metadata.name}'`;
  const path =
    typeof trigger.queueName === 'string'
      ? resolveSettingExpression(trigger.queueName, env)
      : subscriptionPath(resolveSettingExpression(String(trigger.topicName), env), resolveSettingExpression(String(trigger.subscriptionName), env));
  const { entity } = broker.entities.receiving(path);
  const sessions = trigger.isSessionsEnabled === true;
  if (sessions !== entity.receiver.requiresSession) {
    throw new Error(`${where}: isSessionsEnabled is ${sessions} but '${path}' ${entity.receiver.requiresSession ? 'requires' : 'does not support'} sessions`);
  }
  if (fn.metadata.retryOptions) {
    logger.log('warning', 'Host.Startup', `Soon retries will not be supported for function 'Functions.${fn.metadata.name}'. For more information, please visit http://aka.ms/func-retry-policies.`);
  }
  return {
    fn,
    sdkBinding: usesSdkBinding(trigger),
    triggerName,
    entityPath: path,
    sessions,
    many: trigger.cardinality === 'many',
    dataType: typeof trigger.dataType === 'string' ? trigger.dataType : undefined,
    autoComplete: typeof trigger.autoCompleteMessages === 'boolean' ? trigger.autoCompleteMessages : config.serviceBus.autoCompleteMessages,
    maxBatchSize: typeof trigger.maxMessageBatchSize === 'number' ? trigger.maxMessageBatchSize : config.serviceBus.maxMessageBatchSize,
  };
}

/** Why the embedded host cannot run a function (a trigger or binding type it does not serve), if it cannot. */
function unsupportedBinding(fn: RegisteredFunction, triggerType: string): string | undefined {
  if (!SUPPORTED_TRIGGERS.has(triggerType)) return `its trigger type ${triggerType} is not one the embedded host runs`;
  for (const [name, b] of Object.entries(fn.metadata.bindings)) {
    if (b.direction === 'in' && !b.type?.endsWith('Trigger') && !SUPPORTED_INPUTS.has(b.type ?? '')) return `its input binding '${name}' of type ${b.type} is not supported by the embedded host`;
    if (b.direction === 'out' && !OutputBindings.supported(b)) return `its output binding '${name}' of type ${b.type} is not supported by the embedded host`;
  }
  return undefined;
}
