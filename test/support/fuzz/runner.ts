// What a fuzz target is and how one is run: the same property for `npm run fuzz` (10,000 runs and
// more, a table, the counterexample and seed on failure) and for the jest suites (a few dozen runs
// within npm test's time).
import fc from 'fast-check';
import type { EmbeddedHost } from '@backbone/local-azure/host/host';
import type { LogRecord } from '@backbone/local-azure/host/logger';
import { AppError } from '../../../src/shared/errors';

/** The embedded host the HTTP targets talk to. */
export interface FuzzHost {
  host: EmbeddedHost;
  logs: LogRecord[];
  url(path: string): string;
}

export interface FuzzContext {
  /**
   * Called at the start of every run (shrinking runs included) with its input: the progress
   * indication, and the clock that finds the slowest input (a hang is a finding too).
   */
  tick(input?: unknown): void;
  /** HTTP targets only. */
  host?: FuzzHost;
  /** How many host log records there were when the target started (its own come after). */
  logsBefore: number;
}

export interface FuzzTarget {
  name: string;
  /** unit: called in-process; http: through the embedded host; amqp: raw sockets to an AMQP listener the target starts; cosmos: HTTP to a Cosmos DB REST endpoint the target starts. */
  level: 'unit' | 'http' | 'amqp' | 'cosmos';
  /** What is fed to what, in a line. */
  what: string;
  property(ctx: FuzzContext): fc.IRawProperty<unknown[]> | fc.IRawProperty<[unknown]>;
  /**
   * The time one input may take before `npm run fuzz` calls it a hang (default: --slow-ms). Only
   * for targets whose work is bounded by design but large, and saying why.
   */
  slowMs?: number;
  /** After the runs (HTTP): the host must still serve and nothing may have failed in the background. */
  after?(ctx: FuzzContext): Promise<void>;
  /** How the runs' inputs ended, by class (a target that tells its outcomes apart), counted over the runs. */
  outcomes?(): Record<string, number>;
}

export interface TargetResult {
  name: string;
  level: FuzzTarget['level'];
  runs: number;
  failures: number;
  seed: number;
  path?: string;
  counterexample?: string;
  error?: string;
  durationMs: number;
  /** The slowest run and its input: time between one run's start and the next's. */
  slowestMs: number;
  slowestInput?: string;
  outcomes?: Record<string, number>;
}

export interface RunOptions {
  runs: number;
  seed?: number;
  path?: string;
  host?: FuzzHost;
  onTick?: () => void;
}

/** A readable form of a counterexample: long strings shortened, bytes as hex. */
export function describe(value: unknown, max = 2000): string {
  let text: string;
  try {
    text = fc.stringify(value);
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text;
}

export async function runTarget(target: FuzzTarget, options: RunOptions): Promise<TargetResult> {
  const started = performance.now();
  let current: { at: number; input: unknown } | undefined;
  let slowest = { ms: 0, input: undefined as unknown };
  const lap = () => {
    if (!current) return;
    const ms = performance.now() - current.at;
    if (ms > slowest.ms) slowest = { ms, input: current.input };
  };
  const ctx: FuzzContext = {
    tick: (input) => {
      lap();
      current = { at: performance.now(), input };
      options.onTick?.();
    },
    host: options.host,
    logsBefore: options.host?.logs.length ?? 0,
  };
  const details = await fc.check(target.property(ctx) as fc.IRawProperty<unknown[]>, {
    numRuns: options.runs,
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.path !== undefined ? { path: options.path } : {}),
  });
  lap();
  const result: TargetResult = {
    name: target.name,
    level: target.level,
    runs: details.numRuns,
    failures: details.failed ? 1 : 0,
    seed: details.seed,
    durationMs: 0,
    slowestMs: Math.round(slowest.ms),
    slowestInput: slowest.input === undefined ? undefined : describe(slowest.input, 500),
  };
  if (details.failed) {
    result.path = details.counterexamplePath ?? undefined;
    result.counterexample = describe(details.counterexample);
    const error = details.errorInstance as Error | undefined;
    result.error = error?.message ?? String(details.errorInstance);
  }
  if (target.outcomes) result.outcomes = { ...target.outcomes() };
  if (target.after) {
    try {
      await target.after(ctx);
    } catch (error) {
      result.failures++;
      result.error = [result.error, `after the runs: ${(error as Error).message}`].filter(Boolean).join('\n');
    }
  }
  result.durationMs = Math.round(performance.now() - started);
  return result;
}

// ----------------------------------------------------------------------- assertions for targets

const PRISTINE = {
  object: Object.getOwnPropertyNames(Object.prototype).sort().join(),
  array: Object.getOwnPropertyNames(Array.prototype).sort().join(),
};

/** Fails when anything added a property to Object.prototype or Array.prototype (prototype pollution). */
export function assertNoPollution(): void {
  if (Object.getOwnPropertyNames(Object.prototype).sort().join() !== PRISTINE.object) {
    const extra = Object.getOwnPropertyNames(Object.prototype).filter((k) => !PRISTINE.object.split(',').includes(k));
    for (const k of extra) delete (Object.prototype as Record<string, unknown>)[k];
    throw new Error(`Object.prototype was polluted with ${extra.join(', ')}`);
  }
  if (Object.getOwnPropertyNames(Array.prototype).sort().join() !== PRISTINE.array) throw new Error('Array.prototype was polluted');
}

type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * Runs a decoder: it may return anything or throw one of the allowed errors (the app's typed
 * errors by default); any other exception — TypeError, RangeError, a stack overflow — fails.
 */
export function returnsOrThrowsTyped<T>(fn: () => T, allowed: ErrorClass[] = [AppError]): T | undefined {
  try {
    return fn();
  } catch (error) {
    if (allowed.some((c) => error instanceof c)) return undefined;
    const e = error as Error;
    throw new Error(`threw ${e?.constructor?.name ?? typeof error} rather than a typed error: ${e?.message ?? String(error)}`, { cause: error });
  } finally {
    assertNoPollution();
  }
}
