// Runs an invocation the way the Functions host's executor does: logs Executing/Executed lines,
// applies the function's retry policy (a new invocation id per attempt, retryContext on each),
// and enforces functionTimeout.
import type { UsageMeter } from '../usage';
import { randomUUID } from 'node:crypto';
import { defaultTextMapGetter, defaultTextMapSetter, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { invoke, type InvocationOutcome } from '../worker/invoke';
import type { RpcDuration, RpcInvocationRequest, RpcParameterBinding, RpcRetryContext, RpcRetryOptions } from '../worker/rpc';
import type { RegisteredFunction } from '../worker/worker-state';
import type { HostLogger, LogLevel } from './logger';

export interface ExecuteOptions {
  /** Builds the request for one attempt; the executor adds ids and the retry context. */
  request: (attempt: { invocationId: string; retryContext?: RpcRetryContext }) => RpcInvocationRequest;
  reason?: string;
  triggerDetails?: Record<string, string | number | undefined>;
  /** The listener is stopping: no further retry attempts (the host's "exit from retry loop"). */
  signal?: AbortSignal;
  /**
   * The invocation's span, as the host's request/dependency telemetry: its parent is the
   * trigger's remote context (an HTTP traceparent header, a message's Diagnostic-Id), and the
   * worker gets the span's own context as InvocationContext.traceContext.
   */
  trace?: { parent?: string; kind?: 'server' | 'consumer' | 'internal'; attributes?: Attributes };
  /** The caller reads the handler's result itself (an orchestrator's state): no response is serialized. */
  resultOnly?: boolean;
}

const W3C = new W3CTraceContextPropagator();

/** The W3C traceparent of a span, as the host hands it to the worker. */
function traceparentOf(span: Span): string {
  const carrier: Record<string, string> = {};
  W3C.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, defaultTextMapSetter);
  return carrier.traceparent ?? '';
}

const SPAN_KINDS = { server: SpanKind.SERVER, consumer: SpanKind.CONSUMER, internal: SpanKind.INTERNAL } as const;
const hostTracer = () => trace.getTracer('embedded-functions-host');

function durationMs(d: RpcDuration | null | undefined): number {
  return d ? Number(d.seconds ?? 0) * 1000 + Math.round(Number(d.nanos ?? 0) / 1e6) : 0;
}

/**
 * The host's retry delays: fixedDelay waits delayInterval each time; exponentialBackoff waits
 * minimumInterval first, then min + rand(0.8..1.2)·2^(k-1)·min, capped at maximumInterval.
 */
export function retryDelayMs(options: RpcRetryOptions, retryCount: number, random: () => number = Math.random): number {
  if (options.retryStrategy === 'fixedDelay') return durationMs(options.delayInterval);
  const min = durationMs(options.minimumInterval);
  const max = durationMs(options.maximumInterval);
  if (retryCount <= 1) return Math.min(min, max);
  const factor = 0.8 + random() * 0.4;
  return Math.min(max, min + factor * 2 ** (retryCount - 1) * min);
}

/** Sleeps, waking early when the signal aborts. */
export function abortableDelay(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

function formatValue(v: string | number | undefined): string {
  return v === undefined || v === '' ? '(null)' : String(v);
}

export class FunctionExecutor {
  constructor(
    private readonly logger: HostLogger,
    private readonly options: {
      functionTimeoutMs?: number;
      defaultRetry?: RpcRetryOptions;
      /** Data of the function's input bindings other than its trigger (e.g. durableClient). */
      inputBindings?: (fn: RegisteredFunction) => RpcParameterBinding[];
      /** Counts executions and their durations. */
      usage?: UsageMeter;
      /** Where invocations run: worker processes; default this process. */
      invoke?: typeof invoke;
    } = {},
  ) {}

  retryOptionsFor(fn: RegisteredFunction): RpcRetryOptions | undefined {
    return fn.metadata.retryOptions ?? this.options.defaultRetry;
  }

  async execute(fn: RegisteredFunction, opts: ExecuteOptions): Promise<InvocationOutcome> {
    const retry = this.retryOptionsFor(fn);
    const max = retry ? Number(retry.maxRetryCount ?? 0) : 0;
    let retryContext: RpcRetryContext | undefined = retry ? { retryCount: 0, maxRetryCount: max } : undefined;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#once(fn, opts, retryContext);
      } catch (error) {
        if (!retry || (max !== -1 && attempt >= max)) {
          if (retry) this.#log(fn, 'error', `Function execution failed after '${attempt}' retries.`);
          throw error;
        }
        if (opts.signal?.aborted) {
          this.#log(fn, 'debug', 'Cancellation requested. Exiting retry loop.');
          throw error;
        }
        const next = attempt + 1;
        const delay = retryDelayMs(retry, next);
        this.#log(fn, 'debug', `Waiting for \`${new Date(delay).toISOString().slice(11, 23)}\` before retrying function execution. Next attempt: '${next}'. Max retry count: '${max}'.`);
        await abortableDelay(delay, opts.signal);
        if (opts.signal?.aborted) {
          this.#log(fn, 'debug', 'Cancellation requested. Exiting retry loop.');
          throw error;
        }
        const e = error as Error;
        retryContext = {
          retryCount: next,
          maxRetryCount: max,
          exception: { message: e?.message ?? String(error), source: e?.name, stackTrace: e?.stack },
        };
      }
    }
  }

  #log(fn: RegisteredFunction, level: LogLevel, message: string, invocationId?: string): void {
    this.logger.log(level, `Function.${fn.metadata.name}`, message, invocationId);
  }

  async #once(fn: RegisteredFunction, opts: ExecuteOptions, retryContext: RpcRetryContext | undefined): Promise<InvocationOutcome> {
    const invocationId = randomUUID();
    const name = `Functions.${fn.metadata.name}`;
    const started = performance.now();
    const usage = this.options.usage;
    usage?.executionStarted();
    this.#log(fn, 'information', `Executing '${name}' (Reason='${opts.reason ?? '(null)'}', Id=${invocationId})`, invocationId);
    if (opts.triggerDetails) {
      const details = Object.entries(opts.triggerDetails)
        .map(([k, v]) => `${k}: ${formatValue(v)}`)
        .join(', ');
      this.#log(fn, 'information', `Trigger Details: ${details}`, invocationId);
    }
    const userCategory = `Function.${fn.metadata.name}.User`;
    const log = (level: LogLevel, category: string, message: string) => this.logger.log(level, category === 'user' ? userCategory : `Function.${fn.metadata.name}`, message, invocationId);
    let timer: NodeJS.Timeout | undefined;
    const trigger = Object.values(fn.metadata.bindings).find((b) => b.direction === 'in' && /Trigger$/.test(b.type ?? ''))?.type ?? 'unknown';
    const span = hostTracer().startSpan(
      fn.metadata.name,
      {
        kind: SPAN_KINDS[opts.trace?.kind ?? 'internal'],
        attributes: { 'faas.name': fn.metadata.name, 'faas.invocation_id': invocationId, 'faas.trigger': trigger, ...opts.trace?.attributes },
      },
      opts.trace?.parent ? W3C.extract(ROOT_CONTEXT, { traceparent: opts.trace.parent }, defaultTextMapGetter) : ROOT_CONTEXT,
    );
    try {
      // Building the request binds the trigger data; a binding failure fails the invocation.
      const request = { ...opts.request({ invocationId, retryContext }), invocationId, functionId: fn.metadata.functionId };
      request.traceContext = { traceParent: traceparentOf(span), traceState: request.traceContext?.traceState ?? '', attributes: {} };
      if (retryContext) request.retryContext = retryContext;
      const extra = this.options.inputBindings?.(fn) ?? [];
      if (extra.length) request.inputData = [...(request.inputData ?? []), ...extra];
      const run = (this.options.invoke ?? invoke)(fn, request as RpcInvocationRequest & { invocationId: string }, log, !opts.resultOnly);
      const outcome = this.options.functionTimeoutMs
        ? await Promise.race([
            run,
            new Promise<never>((_, reject) => {
              timer = setTimeout(() => reject(new Error(`Timeout value of ${this.options.functionTimeoutMs}ms was exceeded by function: ${name}`)), this.options.functionTimeoutMs);
            }),
          ])
        : await run;
      this.#log(fn, 'information', `Executed '${name}' (Succeeded, Id=${invocationId}, Duration=${Math.round(performance.now() - started)}ms)`, invocationId);
      return outcome;
    } catch (error) {
      const e = error as Error;
      span.recordException(e);
      span.setStatus({ code: SpanStatusCode.ERROR, message: e?.message ?? String(error) });
      this.#log(fn, 'error', `Executed '${name}' (Failed, Id=${invocationId}, Duration=${Math.round(performance.now() - started)}ms)\n${e?.stack ?? String(error)}`, invocationId);
      throw error;
    } finally {
      span.end();
      if (timer) clearTimeout(timer);
      usage?.executionEnded();
      usage?.call('functions', fn.metadata.name, 'execution', [], performance.now() - started);
    }
  }
}
