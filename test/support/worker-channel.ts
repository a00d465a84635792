// The path an app's embedded adapters take in a worker process (FUNCTIONS_WORKER_PROCESS_COUNT > 1):
// the worker's LocalAzureRuntime → the call and its answer copied by structured clone, as the
// child process channel carries them → the host's own services. The contract suites run their
// embedded backends through it, so what holds in the host's process is shown to hold there too.
import { deserialize, serialize } from 'node:v8';
import type { LocalAzureRuntime } from '@backbone/azure-model/local-runtime';
import { answerRuntimeCall } from '@backbone/local-azure/host/runtime-calls';
import { remoteRuntime, runtimeError } from '@backbone/local-azure/worker/remote-runtime';
import { serializeError, type RuntimeCall } from '@backbone/local-azure/worker/worker-protocol';

const cloned = <T>(value: T): T => deserialize(serialize(value)) as T;

export function throughWorkerChannel(host: LocalAzureRuntime): LocalAzureRuntime {
  return remoteRuntime(
    async (service, method, args, container) => {
      const call: RuntimeCall = { type: 'call', id: 0, service, method, args, ...(container === undefined ? {} : { container }) };
      let value: unknown;
      try {
        value = await answerRuntimeCall(cloned(call), host);
      } catch (error) {
        throw runtimeError(cloned(serializeError(error)));
      }
      return cloned(value);
    },
    () => host.baseUrl,
  );
}
