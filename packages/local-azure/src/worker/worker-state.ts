// What the worker process holds: the functions the app registered, its hooks and its
// programming model. One per process, as in the real Node.js worker.
import type { FunctionCallback, HookCallback, ProgrammingModel, RpcFunctionMetadata, RpcLogCategory, RpcLogLevel } from './rpc';

export interface RegisteredFunction {
  metadata: RpcFunctionMetadata & { name: string; functionId: string; bindings: NonNullable<RpcFunctionMetadata['bindings']> };
  callback: FunctionCallback;
}

export type WorkerLogSink = (level: RpcLogLevel, category: RpcLogCategory, message: string, invocationId?: string) => void;

export const workerState = {
  functions: new Map<string, RegisteredFunction>(),
  hooks: new Map<string, HookCallback[]>(),
  programmingModel: undefined as ProgrammingModel | undefined,
  appHookData: {} as Record<string, unknown>,
  appLevelOnlyHookData: {} as Record<string, unknown>,
  /** Registration is allowed only while the app's entry points load, as in the real worker. */
  indexingLocked: false,
  currentEntryPoint: undefined as string | undefined,
  hostVersion: '4.1040.0-embedded',
  log: ((level, _category, message) => {
    if (level === 'error' || level === 'critical' || level === 'warning') process.stderr.write(`${message}\n`);
  }) as WorkerLogSink,
};
