// The local Azure as a worker process sees it: the same LocalAzureRuntime the host registers for
// an app in its own process, with every call carried to the host's broker, store and event hubs
// over the IPC channel. The app's embedded adapters cannot tell the difference — the errors they
// tell apart (DocumentStoreError by status, BrokerError by reason) arrive as those classes.
import { DocumentStoreError, type DocumentContainer } from '@backbone/azure-model/documents';
import type { LocalAzureRuntime, LocalServiceBus } from '@backbone/azure-model/local-runtime';
import { BrokerError, type BrokerErrorCode, type OutgoingMessage, type ReceivedMessage } from '@backbone/azure-model/service-bus';
import { deserializeError, RUNTIME_METHODS, type RuntimeService, type SerializedError } from './worker-protocol';

export type RuntimeCaller = (service: RuntimeService, method: string, args: unknown[], container?: string) => Promise<unknown>;

/** The error the host's service threw, as the class the app's code checks for. */
export function runtimeError(e: SerializedError): Error {
  let error: Error;
  if (e.name === 'DocumentStoreError' && typeof e.code === 'number') error = new DocumentStoreError(e.code, e.message);
  else if (e.name === 'ServiceBusError' && typeof e.code === 'string') error = new BrokerError(e.code as BrokerErrorCode, e.message);
  else return deserializeError(e);
  if (e.stack) error.stack = e.stack;
  return error;
}

function methods<T>(call: RuntimeCaller, service: RuntimeService, container?: string): T {
  return Object.fromEntries(RUNTIME_METHODS[service].map((method) => [method, (...args: unknown[]) => call(service, method, args, container)])) as T;
}

export function remoteRuntime(call: RuntimeCaller, baseUrl: () => string): LocalAzureRuntime {
  const serviceBus = methods<LocalServiceBus & { resubmitBuilt: (...args: unknown[]) => Promise<{ sequenceNumber: number; messageId: string }> }>(call, 'serviceBus');
  // `build` is the caller's code, so it runs here on the message as it sits; the host then moves
  // that message (by sequence number, in one transaction) with what `build` made of it.
  serviceBus.resubmit = async (sourcePath: string, sequenceNumber: number, targetPath: string | undefined, build: (original: ReceivedMessage) => OutgoingMessage) => {
    const [original] = await serviceBus.peek(sourcePath, { fromSequenceNumber: sequenceNumber, maxMessageCount: 1 });
    const outgoing = original?.sequenceNumber === sequenceNumber ? build(original) : null;
    return serviceBus.resubmitBuilt(sourcePath, sequenceNumber, targetPath, outgoing);
  };
  const containers = new Map<string, DocumentContainer>();
  return {
    serviceBus,
    cosmos: {
      container(name: string): DocumentContainer {
        let c = containers.get(name);
        if (!c) containers.set(name, (c = methods<DocumentContainer>(call, 'cosmos', name)));
        return c;
      },
    },
    eventHubs: methods(call, 'eventHubs'),
    get baseUrl() {
      return baseUrl();
    },
  };
}
