// The embedded host's @azure/functions-core: the module the real Node.js worker provides at
// run time. @azure/functions calls registerFunction(metadata, handler) here with the exact
// binding metadata it would give Azure, and sets its programming model, which the host then
// uses to build each invocation's real InvocationContext.
import { basename, dirname } from 'node:path';
import type { FunctionCallback, FunctionMetadata, HookCallback, ProgrammingModel, RpcLogCategory, RpcLogLevel } from './rpc';
import { workerState } from './worker-state';

export const version = '3.10.1-embedded';

export class Disposable {
  static from(...disposables: { dispose: () => unknown }[]): Disposable {
    return new Disposable(() => disposables.forEach((d) => d.dispose()));
  }
  #callOnDispose?: () => unknown;
  constructor(callOnDispose: () => unknown) {
    this.#callOnDispose = callOnDispose;
  }
  dispose(): unknown {
    const fn = this.#callOnDispose;
    this.#callOnDispose = undefined;
    return fn?.();
  }
}

export function registerFunction(metadata: FunctionMetadata, callback: FunctionCallback): Disposable {
  if (workerState.indexingLocked) throw new Error('A function can only be registered during app startup.');
  const functionId = metadata.functionId || metadata.name;
  if (workerState.functions.has(functionId)) {
    throw new Error(`A function with id "${functionId}" has already been registered.`);
  }
  const entry = workerState.currentEntryPoint;
  workerState.functions.set(functionId, {
    metadata: {
      name: metadata.name,
      functionId,
      bindings: metadata.bindings,
      retryOptions: metadata.retryOptions,
      // rawBindings is what the real host reads; kept so registrations can be compared with Azure's.
      rawBindings: Object.entries(metadata.bindings).map(([name, b]) => JSON.stringify({ ...b, name })),
      scriptFile: entry ? basename(entry) : 'unknown',
      directory: entry ? dirname(entry) : undefined,
    },
    callback,
  });
  return new Disposable(() => {
    if (workerState.indexingLocked) throw new Error('A function can only be disposed during app startup.');
    workerState.functions.delete(functionId);
  });
}

export function registerHook(hookName: string, callback: HookCallback): Disposable {
  const list = workerState.hooks.get(hookName) ?? [];
  list.push(callback);
  workerState.hooks.set(hookName, list);
  return new Disposable(() => {
    const current = workerState.hooks.get(hookName) ?? [];
    workerState.hooks.set(
      hookName,
      current.filter((c) => c !== callback),
    );
  });
}

export function setProgrammingModel(model: ProgrammingModel): void {
  workerState.programmingModel = model;
}

export function getProgrammingModel(): ProgrammingModel | undefined {
  return workerState.programmingModel;
}

export function log(level: RpcLogLevel, category: RpcLogCategory, message: string): void {
  workerState.log(level, category, message);
}

export const hostVersion = workerState.hostVersion;
