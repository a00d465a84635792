// The host's side of a worker process's LocalAzureRuntime: each call the app's embedded adapters
// make in a worker arrives here and runs on the host's own services — the same objects an app in
// the host's process calls — so the broker, the store and the event hubs keep one writer.
import { getLocalAzureRuntime, type LocalAzureRuntime } from '@backbone/azure-model/local-runtime';
import { BrokerError, type OutgoingMessage } from '@backbone/azure-model/service-bus';
import { RUNTIME_METHODS, type RuntimeCall } from '../worker/worker-protocol';

type Callable = Record<string, (...args: unknown[]) => unknown>;

export async function answerRuntimeCall(call: RuntimeCall, runtime: LocalAzureRuntime = getLocalAzureRuntime()): Promise<unknown> {
  const allowed: readonly string[] | undefined = RUNTIME_METHODS[call.service];
  if (!allowed?.includes(call.method)) throw new Error(`${call.service}.${call.method} is not something a worker process can call.`);
  if (call.service === 'cosmos') return (runtime.cosmos.container(String(call.container)) as unknown as Callable)[call.method]!(...call.args);
  if (call.service === 'eventHubs') return (runtime.eventHubs as unknown as Callable)[call.method]!(...call.args);
  if (call.method === 'resubmitBuilt') {
    const [sourcePath, sequenceNumber, targetPath, outgoing] = call.args as [string, number, string | undefined, OutgoingMessage | null];
    return runtime.serviceBus.resubmit(sourcePath, sequenceNumber, targetPath, () => {
      // The worker did not find it to build from; the broker says why when it is really gone.
      if (!outgoing) throw new BrokerError('MessageNotFound', `No message with sequence number ${sequenceNumber} in '${sourcePath}'.`);
      return outgoing;
    });
  }
  return (runtime.serviceBus as unknown as Callable)[call.method]!(...call.args);
}
