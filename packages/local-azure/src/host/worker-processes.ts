// Language worker processes (FUNCTIONS_WORKER_PROCESS_COUNT > 1), as the Functions host runs
// them: each loads the app, the host sends every invocation to the next ready process in turn
// (round robin, as its RpcFunctionInvocationDispatcherLoadBalancer), and a process that exits
// fails what it was running (the trigger's retry or redelivery takes over) and is started again.
// Unlike Azure, all start at once rather than 10 s apart (a developer waits for them), and a
// process that keeps dying is restarted indefinitely rather than recycling the host. The host keeps the broker, the store and the engines: only function
// code moves, so there is still one writer of every SQLite file.
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { embeddedTelemetry } from '../telemetry';
import type { InvocationLog, InvocationOutcome } from '../worker/invoke';
import type { RpcInvocationRequest } from '../worker/rpc';
import { Batcher, deserializeError, serializeError, WORKER_PROCESS_EXIT, type HostToWorker, type WorkerToHost } from '../worker/worker-protocol';
import { answerRuntimeCall } from './runtime-calls';
import type { RegisteredFunction } from '../worker/worker-state';
import type { HostLogger } from './logger';

/** Azure's limit for FUNCTIONS_WORKER_PROCESS_COUNT (learn.microsoft.com, "App settings reference for Azure Functions"). */
export const MAX_WORKER_PROCESSES = 10;
/** Before a process that exited is started again: keeps an app that dies on load from spinning a core. */
const RESTART_DELAY_MS = 1_000;
const STOP_TIMEOUT_MS = 10_000;

/** FUNCTIONS_WORKER_PROCESS_COUNT read as the host reads it: 1 when unset. */
export function workerProcessCount(env: NodeJS.ProcessEnv): number {
  const raw = env.FUNCTIONS_WORKER_PROCESS_COUNT?.trim();
  if (!raw) return 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_WORKER_PROCESSES) {
    throw new Error(`FUNCTIONS_WORKER_PROCESS_COUNT is "${raw}": it must be a whole number from 1 to ${MAX_WORKER_PROCESSES}.`);
  }
  return n;
}

interface Pending {
  resolve: (outcome: InvocationOutcome) => void;
  reject: (error: Error) => void;
  log: InvocationLog;
}

interface Worker {
  index: number;
  child: ChildProcess;
  out: Batcher<HostToWorker>;
  ready: boolean;
  pending: Map<number, Pending>;
  /** Who waits for the next loaded/started/failed answer. */
  control?: (message: WorkerToHost) => void;
}

type Loaded = Extract<WorkerToHost, { type: 'loaded' }>;

const WORKER_MAIN = join(__dirname, '..', 'worker', 'worker-main.js');

export class WorkerProcesses {
  readonly #workers: (Worker | undefined)[];
  #next = 0;
  #nextId = 1;
  #stopping = false;
  #start?: { env: Record<string, string>; argv: string[]; baseUrl: string };
  /** Invocations waiting for a process to be ready (all of them restarting). */
  readonly #waiting: (() => void)[] = [];

  private constructor(
    readonly count: number,
    private readonly appDir: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly logger: HostLogger,
  ) {
    this.#workers = new Array<Worker | undefined>(count).fill(undefined);
  }

  /**
   * Starts `count` processes and loads the app in each; answers with the functions the first one
   * registered (every process must register the same).
   */
  static async load(options: {
    count: number;
    appDir: string;
    env: NodeJS.ProcessEnv;
    logger: HostLogger;
  }): Promise<{ pool: WorkerProcesses; functions: RegisteredFunction[]; capabilities: Record<string, string> }> {
    const pool = new WorkerProcesses(options.count, options.appDir, options.env, options.logger);
    try {
      const loaded = await Promise.all(Array.from({ length: options.count }, (_, i) => pool.#spawn(i)));
      const first = loaded[0]!;
      const names = (l: Loaded) => l.functions.map((f) => f.functionId).join(',');
      for (const other of loaded.slice(1)) {
        if (names(other) !== names(first)) throw new Error('The worker processes registered different functions: the app must register the same on every load.');
      }
      const functions = first.functions.map((metadata) => ({
        metadata,
        callback: () => {
          throw new Error(`${metadata.name} runs in a worker process, not in the host's.`);
        },
      }));
      return { pool, functions, capabilities: first.capabilities };
    } catch (error) {
      await pool.stop();
      throw error;
    }
  }

  /** Hands every process the settings the host resolved and runs the app's start hooks in each. */
  async start(env: NodeJS.ProcessEnv, argv: string[], baseUrl: string): Promise<void> {
    this.#start = { env: Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined)), argv, baseUrl };
    await Promise.all(this.#workers.filter((w): w is Worker => w !== undefined).map((w) => this.#startApp(w)));
  }

  /** Runs one invocation in the next process in turn. */
  async invoke(fn: RegisteredFunction, request: RpcInvocationRequest & { invocationId: string }, log: InvocationLog, buildResponse = true): Promise<InvocationOutcome> {
    const worker = await this.#pick();
    const id = this.#nextId++;
    return new Promise<InvocationOutcome>((resolve, reject) => {
      worker.pending.set(id, { resolve, reject, log });
      this.#send(worker, { type: 'invoke', id, functionId: fn.metadata.functionId, request, buildResponse });
    });
  }

  /** Process ids, in slot order (tests, the start-up line). */
  pids(): (number | undefined)[] {
    return this.#workers.map((w) => w?.child.pid);
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all(
      this.#workers.map(async (w) => {
        if (!w || w.child.exitCode !== null || w.child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => w.child.once('exit', () => resolve()));
        this.#send(w, { type: 'stop' });
        const timer = setTimeout(() => w.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }),
    );
    for (const resume of this.#waiting.splice(0)) resume();
  }

  async #pick(): Promise<Worker> {
    for (;;) {
      if (this.#stopping) throw new Error('The host is stopping: no worker process takes new invocations.');
      for (let i = 0; i < this.count; i++) {
        const w = this.#workers[(this.#next + i) % this.count];
        if (w?.ready) {
          this.#next = (w.index + 1) % this.count;
          return w;
        }
      }
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
  }

  #send(worker: Worker, message: HostToWorker): void {
    worker.out.send(message);
  }

  #spawn(index: number): Promise<Loaded> {
    const child = fork(WORKER_MAIN, [], { env: this.env, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const worker: Worker = { index, child, ready: false, pending: new Map(), out: new Batcher((batch) => child.connected && child.send(batch)) };
    this.#workers[index] = worker;
    this.logger.log('information', 'Host.Startup', `Starting worker process ${index + 1} of ${this.count} (pid ${child.pid ?? '?'}).`);
    return new Promise<Loaded>((resolve, reject) => {
      let loaded = false;
      worker.control = (message) => {
        if (message.type === 'loaded') {
          loaded = true;
          resolve(message);
        } else if (message.type === 'failed' && message.stage === 'load') reject(deserializeError(message.error));
      };
      // A message the channel could not take (the process is going): its exit fails what it ran.
      child.on('error', (error) => this.logger.log('warning', 'Host.Worker', `Worker process ${index + 1} (pid ${child.pid}): ${error.message}`));
      child.on('message', (batch: WorkerToHost[]) => {
        for (const message of batch) this.#receive(worker, message);
      });
      child.once('exit', (code, signal) => {
        if (!loaded) reject(new Error(`Worker process ${index + 1} exited (${signal ?? `code ${code}`}) before the app loaded.`));
        this.#exited(worker, code, signal);
      });
      this.#send(worker, { type: 'load', appDir: this.appDir });
    });
  }

  #startApp(worker: Worker): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      worker.control = (message) => {
        if (message.type === 'started') {
          worker.ready = true;
          for (const resume of this.#waiting.splice(0)) resume();
          resolve();
        } else if (message.type === 'failed' && message.stage === 'start') reject(deserializeError(message.error));
      };
      this.#send(worker, { type: 'start', ...this.#start! });
    });
  }

  #receive(worker: Worker, message: WorkerToHost): void {
    switch (message.type) {
      case 'result': {
        const p = worker.pending.get(message.id);
        worker.pending.delete(message.id);
        p?.resolve({ response: message.response, context: undefined, result: message.result });
        return;
      }
      case 'error': {
        const p = worker.pending.get(message.id);
        worker.pending.delete(message.id);
        p?.reject(deserializeError(message.error));
        return;
      }
      case 'log': {
        const p = message.id === undefined ? undefined : worker.pending.get(message.id);
        if (p) p.log(message.level, message.category, message.message);
        else this.logger.log(message.level, 'Host.Worker', message.message);
        return;
      }
      case 'call':
        answerRuntimeCall(message).then(
          (value) => this.#send(worker, { type: 'reply', id: message.id, value }),
          (error: unknown) => this.#send(worker, { type: 'replyError', id: message.id, error: serializeError(error) }),
        );
        return;
      case 'span':
        embeddedTelemetry().ingest({ span: message.span });
        return;
      case 'otelLog':
        embeddedTelemetry().ingest({ entry: message.entry });
        return;
      default:
        worker.control?.(message);
        return;
    }
  }

  #exited(worker: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    worker.ready = false;
    if (this.#workers[worker.index] === worker) this.#workers[worker.index] = undefined;
    // What the Functions host says: its WorkerProcessExitException fails every invocation the process
    // was running, and it logs the exit (azure-functions-host, WorkerProcess.OnProcessExited, RpcWorkerProcess).
    const exit = signal ? `node exited with signal ${signal}` : `node exited with code ${code} (0x${(code ?? 0).toString(16)})`;
    for (const [, p] of worker.pending) p.reject(Object.assign(new Error(exit), { name: WORKER_PROCESS_EXIT }));
    worker.pending.clear();
    if (this.#stopping) return;
    this.logger.log(
      'error',
      'Host.Worker',
      `Language Worker Process exited. Pid=${worker.child.pid}. (${exit}; worker process ${worker.index + 1} of ${this.count} starts again in ${RESTART_DELAY_MS} ms)`,
    );
    const timer = setTimeout(() => void this.#restart(worker.index), RESTART_DELAY_MS);
    timer.unref();
  }

  async #restart(index: number): Promise<void> {
    if (this.#stopping) return;
    try {
      await this.#spawn(index);
      if (this.#start) await this.#startApp(this.#workers[index]!);
    } catch (error) {
      // A process that cannot load or start the app again exits, and #exited schedules the next try.
      this.logger.log('error', 'Host.Worker', `Worker process ${index + 1} did not start again: ${(error as Error).message}`);
      this.#workers[index]?.child.kill('SIGKILL');
    }
  }
}
