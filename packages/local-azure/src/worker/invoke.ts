// One invocation, carried out the way the Node.js worker's InvocationHandler does it: the app's
// programming model turns the RPC request into (context, inputs), preInvocation hooks run, the
// handler runs, postInvocation hooks run, and the model turns the result into the RPC response
// whose output bindings and return value the host then acts on.
import type { RpcFunctionMetadata, RpcInvocationRequest, RpcInvocationResponse, RpcLogCategory, RpcLogLevel } from './rpc';
import { workerState, type RegisteredFunction } from './worker-state';

export type InvocationLog = (level: RpcLogLevel, category: RpcLogCategory, message: string) => void;

function readonlyProp<T>(name: string, get: () => T) {
  return {
    get,
    set() {
      throw new Error(`Cannot assign to read only property '${name}'`);
    },
    enumerable: true,
  };
}

async function executeHooks(name: string, context: Record<string, unknown>): Promise<void> {
  for (const callback of workerState.hooks.get(name) ?? []) await callback(context);
}

/**
 * Log hooks (app.hook.log) run synchronously for every log line of an invocation, as in the
 * Node.js worker: they see level, category and message, and may change the level and message of
 * user logs (system lines pass unchanged). A hook that throws does not lose the line.
 */
function runLogHooks(
  line: { level: RpcLogLevel; category: RpcLogCategory; message: string },
  hookData: Record<string, unknown>,
  invocationContext: () => unknown,
  log: InvocationLog,
): { level: RpcLogLevel; message: string } {
  const hooks = workerState.hooks.get('log');
  if (!hooks?.length) return line;
  const ctx: Record<string, unknown> = Object.defineProperties(
    { level: line.level, category: line.category, message: line.message },
    {
      hookData: readonlyProp('hookData', () => hookData),
      appHookData: readonlyProp('appHookData', () => workerState.appHookData),
      invocationContext: readonlyProp('invocationContext', invocationContext),
    },
  );
  for (const callback of hooks) {
    try {
      void callback(ctx);
    } catch (error) {
      log('error', 'system', `Error in log hook: ${(error as Error)?.message ?? String(error)}`);
    }
  }
  return line.category === 'user' ? { level: ctx.level as RpcLogLevel, message: String(ctx.message) } : line;
}

export interface InvocationOutcome {
  response: RpcInvocationResponse;
  /** The InvocationContext the library built, for hosts that need trigger details. */
  context: unknown;
  /**
   * What the handler returned, before the library serialized it into the response: the Durable
   * engine reads an orchestrator's state from it rather than parsing the JSON of every action again.
   */
  result: unknown;
}

export async function invoke(
  fn: RegisteredFunction,
  request: RpcInvocationRequest & { invocationId: string },
  log: InvocationLog,
  /** false when the caller reads `result` and nothing else: the library does not serialize a response then. */
  buildResponse = true,
): Promise<InvocationOutcome> {
  const model = workerState.programmingModel;
  if (!model) throw new Error('No programming model was registered: the app did not load @azure/functions.');
  const hookData: Record<string, unknown> = {};
  let context: unknown;
  const coreCtx = {
    invocationId: request.invocationId,
    request,
    metadata: fn.metadata as RpcFunctionMetadata,
    state: undefined as 'preInvocationHooks' | 'postInvocationHooks' | 'invocation' | undefined,
    log: (level: RpcLogLevel, category: RpcLogCategory, message: string) => {
      const hooked = runLogHooks({ level, category, message }, hookData, () => context, log);
      log(hooked.level, category, hooked.message);
    },
  };
  const invocationModel = await model.getInvocationModel(coreCtx);
  const args = await invocationModel.getArguments();
  context = args.context;
  let inputs = args.inputs;
  let callback = fn.callback;

  const pre: Record<string, unknown> = Object.defineProperties(
    { inputs, functionCallback: callback },
    {
      hookData: readonlyProp('hookData', () => hookData),
      appHookData: readonlyProp('appHookData', () => workerState.appHookData),
      invocationContext: readonlyProp('invocationContext', () => context),
    },
  );
  coreCtx.state = 'preInvocationHooks';
  try {
    await executeHooks('preInvocation', pre);
  } finally {
    coreCtx.state = undefined;
  }
  inputs = pre.inputs as unknown[];
  callback = pre.functionCallback as typeof callback;

  const post: Record<string, unknown> = Object.defineProperties(
    { inputs, result: null, error: null },
    {
      hookData: readonlyProp('hookData', () => hookData),
      appHookData: readonlyProp('appHookData', () => workerState.appHookData),
      invocationContext: readonlyProp('invocationContext', () => context),
    },
  );
  coreCtx.state = 'invocation';
  try {
    post.result = await invocationModel.invokeFunction(context, inputs, callback);
  } catch (error) {
    post.error = error;
  } finally {
    coreCtx.state = undefined;
  }
  coreCtx.state = 'postInvocationHooks';
  try {
    await executeHooks('postInvocation', post);
  } finally {
    coreCtx.state = undefined;
  }
  // Whatever the function threw, as it threw it (the worker reports a thrown non-Error the same way).
  // eslint-disable-next-line @typescript-eslint/only-throw-error
  if (post.error) throw post.error;
  const response = buildResponse ? await invocationModel.getResponse(context, post.result) : { invocationId: request.invocationId, outputData: [] };
  return { response, context, result: post.result };
}

/** Runs appStart hooks once the app's entry points have loaded. */
export async function runAppStartHooks(functionAppDirectory: string): Promise<void> {
  const ctx = Object.defineProperties(
    { functionAppDirectory },
    {
      hookData: readonlyProp('hookData', () => workerState.appLevelOnlyHookData),
      appHookData: readonlyProp('appHookData', () => workerState.appHookData),
    },
  );
  await executeHooks('appStart', ctx);
}

export async function runAppTerminateHooks(): Promise<void> {
  const ctx = Object.defineProperties(
    {},
    {
      hookData: readonlyProp('hookData', () => workerState.appLevelOnlyHookData),
      appHookData: readonlyProp('appHookData', () => workerState.appHookData),
    },
  );
  await executeHooks('appTerminate', ctx);
}
