// What the embedded host and a worker process say to each other over the child process's IPC
// channel (structured clone, so Buffers and Errors cross intact) when functions run in worker
// processes (FUNCTIONS_WORKER_PROCESS_COUNT > 1). The same conversation as the Functions host's
// gRPC with a language worker, reduced to what the embedded host needs: load the app and report
// its functions, start it, invoke, stream logs and spans back, stop — and the app's calls on the
// local Azure's services (LocalAzureRuntime), which stay in the host's process.
import type { LogEntry, SpanRecord } from '../telemetry';
import type { RpcInvocationRequest, RpcInvocationResponse, RpcLogCategory, RpcLogLevel } from './rpc';
import type { RegisteredFunction } from './worker-state';

export type HostToWorker =
  | { type: 'load'; appDir: string }
  | { type: 'start'; env: Record<string, string>; argv: string[]; baseUrl: string }
  | { type: 'reply'; id: number; value: unknown }
  | { type: 'replyError'; id: number; error: SerializedError }
  | { type: 'invoke'; id: number; functionId: string; request: RpcInvocationRequest & { invocationId: string }; buildResponse: boolean }
  | { type: 'stop' };

export interface SerializedError {
  name?: string;
  message: string;
  stack?: string;
  /** What a caller tells errors apart by: DocumentStoreError's HTTP status, BrokerError's reason. */
  code?: string | number;
}

/** The services of the LocalAzureRuntime a worker process calls, and the methods it may call on each. */
export const RUNTIME_METHODS = {
  serviceBus: [
    'send',
    'schedule',
    'cancelScheduled',
    'receive',
    'peek',
    'complete',
    'abandon',
    'deadLetter',
    'defer',
    'receiveDeferred',
    'renewLock',
    'acceptSession',
    'receiveFromSession',
    'renewSessionLock',
    'getSessionState',
    'setSessionState',
    'releaseSession',
    'listEntities',
    'runtimeProperties',
    'remove',
    // resubmit with the message already built (its `build` callback ran in the worker).
    'resubmitBuilt',
  ],
  cosmos: ['read', 'create', 'upsert', 'replace', 'delete', 'batch', 'query', 'distinct'],
  eventHubs: ['publish'],
} as const;
export type RuntimeService = keyof typeof RUNTIME_METHODS;

export interface RuntimeCall {
  type: 'call';
  id: number;
  service: RuntimeService;
  /** The container, for cosmos. */
  container?: string;
  method: string;
  args: unknown[];
}

export type WorkerToHost =
  | { type: 'loaded'; functions: RegisteredFunction['metadata'][]; capabilities: Record<string, string> }
  | { type: 'started' }
  | { type: 'failed'; stage: 'load' | 'start'; error: SerializedError }
  | { type: 'result'; id: number; response: RpcInvocationResponse; result: unknown }
  | { type: 'error'; id: number; error: SerializedError }
  | { type: 'log'; id?: number; level: RpcLogLevel; category: RpcLogCategory; message: string }
  | { type: 'span'; span: SpanRecord }
  | { type: 'otelLog'; entry: LogEntry }
  | RuntimeCall
  | { type: 'stopped' };

export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}), ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}) };
  }
  return { message: typeof error === 'string' ? error : (JSON.stringify(error) ?? String(error)) };
}

export function deserializeError(e: SerializedError): Error {
  const error = new Error(e.message);
  if (e.name) error.name = e.name;
  if (e.stack) error.stack = e.stack;
  if (e.code !== undefined) Object.assign(error, { code: e.code });
  return error;
}

/**
 * Messages sent in one turn of the event loop go together, as one array: one serialization and
 * one pipe write for all of them. Measured under load, writing each message on its own cost the
 * host more than its SQLite commits.
 */
export class Batcher<T> {
  #queue: T[] = [];
  #scheduled = false;
  constructor(private readonly write: (batch: T[]) => void) {}

  send(message: T): void {
    this.#queue.push(message);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.flush());
  }

  flush(): void {
    this.#scheduled = false;
    const batch = this.#queue;
    this.#queue = [];
    if (batch.length) this.write(batch);
  }
}

/** The Functions host's name for the failure of an invocation whose worker process exited under it. */
export const WORKER_PROCESS_EXIT = 'WorkerProcessExitException';

export function isWorkerProcessExit(error: unknown): boolean {
  return error instanceof Error && error.name === WORKER_PROCESS_EXIT;
}
