// A worker process (FUNCTIONS_WORKER_PROCESS_COUNT > 1): what the Node.js language worker is to
// the Functions host. It loads the app through the embedded @azure/functions-core, reports the
// functions the app registered, runs invocations the host sends and answers each with the
// response the app's programming model built; logs and the app's spans go back to the host as
// they happen. The host's broker, store and engines stay in the host's process, single writers:
// the app's UseEmbeddedHost adapters reach them through a LocalAzureRuntime whose calls cross the
// channel (remote-runtime.ts), or, in SDK mode, its Azure SDK clients over the wire endpoints.
import { setLocalAzureRuntime } from '@backbone/azure-model/local-runtime';
import { loadApp } from '../host/app-loader';
import { embeddedTelemetry } from '../telemetry';
import { invoke, runAppStartHooks, runAppTerminateHooks } from './invoke';
import { remoteRuntime, runtimeError } from './remote-runtime';
import { Batcher, serializeError, type HostToWorker, type RuntimeService, type SerializedError, type WorkerToHost } from './worker-protocol';
import { workerState } from './worker-state';

const out = new Batcher<WorkerToHost>((batch) => {
  if (!process.connected) return;
  try {
    process.send!(batch);
  } catch {
    // A value structured clone cannot carry (a function in a handler's result): that message's JSON goes instead.
    for (const message of batch) {
      try {
        process.send!([message]);
      } catch {
        process.send!([JSON.parse(JSON.stringify(message)) as WorkerToHost]);
      }
    }
  }
});
const send = (message: WorkerToHost) => out.send(message);

let appDir = '';
let baseUrl = '';
let nextCall = 1;
const calls = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

function callHost(service: RuntimeService, method: string, args: unknown[], container?: string): Promise<unknown> {
  const id = nextCall++;
  return new Promise((resolve, reject) => {
    calls.set(id, { resolve, reject });
    send({ type: 'call', id, service, method, args, ...(container === undefined ? {} : { container }) });
  });
}

function settle(id: number, outcome: { value: unknown } | { error: SerializedError }): void {
  const call = calls.get(id);
  calls.delete(id);
  if (!call) return;
  if ('error' in outcome) call.reject(runtimeError(outcome.error));
  else call.resolve(outcome.value);
}

async function handle(message: HostToWorker): Promise<void> {
  switch (message.type) {
    case 'load': {
      appDir = message.appDir;
      try {
        // Before the app loads, as in the host process: the app's spans find a tracer provider.
        const telemetry = embeddedTelemetry({ spans: 1, logs: 1 });
        telemetry.onSpanEnd((span) => send({ type: 'span', span }));
        telemetry.onLogEmit((entry) => send({ type: 'otelLog', entry }));
        workerState.log = (level, category, text) => send({ type: 'log', level, category, message: text });
        await loadApp(appDir);
        const capabilities = (await workerState.programmingModel?.getCapabilities?.({})) ?? {};
        send({ type: 'loaded', functions: [...workerState.functions.values()].map((f) => f.metadata), capabilities });
      } catch (error) {
        send({ type: 'failed', stage: 'load', error: serializeError(error) });
      }
      return;
    }
    case 'start': {
      try {
        // The settings the host resolved (SDK mode's connection strings), and the command line the
        // Service Bus extension reads the host's gRPC address from.
        for (const [name, value] of Object.entries(message.env)) process.env[name] = value;
        process.argv = message.argv;
        baseUrl = message.baseUrl;
        // The app's "UseEmbeddedHost=true" connections reach the host's services through this process's channel.
        setLocalAzureRuntime(remoteRuntime(callHost, () => baseUrl));
        await runAppStartHooks(appDir);
        send({ type: 'started' });
      } catch (error) {
        send({ type: 'failed', stage: 'start', error: serializeError(error) });
      }
      return;
    }
    case 'invoke': {
      const { id } = message;
      const fn = workerState.functions.get(message.functionId);
      if (!fn) {
        send({ type: 'error', id, error: { message: `Function id "${message.functionId}" is not registered in this worker process.` } });
        return;
      }
      try {
        const outcome = await invoke(fn, message.request, (level, category, text) => send({ type: 'log', id, level, category, message: text }), message.buildResponse);
        send({ type: 'result', id, response: outcome.response, result: message.buildResponse ? undefined : outcome.result });
      } catch (error) {
        send({ type: 'error', id, error: serializeError(error) });
      }
      return;
    }
    case 'reply':
      settle(message.id, { value: message.value });
      return;
    case 'replyError':
      settle(message.id, { error: message.error });
      return;
    case 'stop': {
      await runAppTerminateHooks().catch((error: unknown) => send({ type: 'log', level: 'error', category: 'system', message: `appTerminate hook failed: ${serializeError(error).message}` }));
      await embeddedTelemetry().flush();
      send({ type: 'stopped' });
      out.flush();
      process.disconnect();
      return;
    }
  }
}

// Ctrl-C reaches the whole process group: the host stops its worker processes itself, after their
// last invocations and with their appTerminate hooks.
process.on('SIGINT', () => undefined);
// The host is gone (stopped, or killed without a word): nothing is left to serve.
process.on('disconnect', () => process.exit(0));
process.on('message', (batch: HostToWorker[]) => {
  for (const message of batch) void handle(message);
});
