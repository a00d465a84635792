// Sampling keeps one order's trace in N, whole (Application Insights' sampler hashes the trace
// id, so every process keeps or drops the same traces). A failed transaction is the one trace an
// operator must see, and head sampling decides before anything fails. The distro's sampler still
// *records* the spans it samples out (SamplingDecision.RECORD: every span processor sees them end,
// only its exporter skips them), so this keeper holds the spans and log records of sampled-out
// traces for a while; when one of a trace's spans ends in error, or a record at Error or above is
// written in it, it sends what it holds of that trace and everything of it that follows.
//
// "Whole" within this process: a failure in one function instance keeps what that instance
// recorded of the trace in the last `holdMs` and after; hops run by other instances before the
// failure stay sampled out (docs/observability.md says so).
import { SpanStatusCode, TraceFlags } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import type { LogRecordProcessor, SdkLogRecord } from '@opentelemetry/sdk-logs';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';

/** The attribute Application Insights reads as the share of items a sampled item stands for (percent). */
export const SAMPLE_RATE_ATTRIBUTE = 'microsoft.sample_rate';

export interface KeeperSinks {
  /** Spans of kept traces, marked sampled at 100%: hand them to a batching processor of the same exporter. */
  span(span: ReadableSpan): void;
  log(record: SdkLogRecord): void;
  flush?(): Promise<void>;
  shutdown?(): Promise<void>;
}

export interface KeeperOptions {
  /** How long the spans and records of a trace nothing has failed in are held. */
  holdMs?: number;
  /** How long after a failure further spans and records of the trace are sent. */
  keepMs?: number;
  /** Traces held at once; the oldest go first. */
  maxTraces?: number;
  /** Spans and records held per trace. */
  maxItemsPerTrace?: number;
  now?: () => number;
}

interface Held {
  since: number;
  keptUntil?: number;
  spans: ReadableSpan[];
  logs: SdkLogRecord[];
}

export interface KeeperStats {
  /** Traces a failure made this process keep. */
  keptTraces: number;
  spansSent: number;
  logsSent: number;
  /** Held items dropped: their trace aged out, or it held too many. */
  dropped: number;
}

const sampled = (flags: number) => (flags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED;

/** A sampled-out span presented as kept: sampled, and standing for itself alone. */
function asKept(span: ReadableSpan): ReadableSpan {
  const context = { ...span.spanContext(), traceFlags: TraceFlags.SAMPLED };
  return Object.create(span, {
    spanContext: { value: () => context },
    attributes: { value: { ...span.attributes, [SAMPLE_RATE_ATTRIBUTE]: 100 } },
  }) as ReadableSpan;
}

function asKeptLog(record: SdkLogRecord): SdkLogRecord {
  if (!record.spanContext) return record;
  const spanContext = { ...record.spanContext, traceFlags: TraceFlags.SAMPLED };
  return Object.create(record, { spanContext: { value: spanContext } }) as SdkLogRecord;
}

export class FailedTraceKeeper {
  readonly #held = new Map<string, Held>();
  readonly #holdMs: number;
  readonly #keepMs: number;
  readonly #maxTraces: number;
  readonly #maxItems: number;
  readonly #now: () => number;
  readonly stats: KeeperStats = { keptTraces: 0, spansSent: 0, logsSent: 0, dropped: 0 };

  constructor(
    private readonly sinks: KeeperSinks,
    options: KeeperOptions = {},
  ) {
    // A trace's spans in one instance end within its invocations, seconds apart, so a minute is
    // ample; 2,000 traces of ~30 items (about 1 KB each) are ~60 MB at most of a 2 GB instance —
    // at 100 orders/s the oldest go after ~20 s, still longer than an order's hops take.
    this.#holdMs = options.holdMs ?? 60_000;
    this.#keepMs = options.keepMs ?? 600_000;
    this.#maxTraces = options.maxTraces ?? 2_000;
    this.#maxItems = options.maxItemsPerTrace ?? 200;
    this.#now = options.now ?? Date.now;
  }

  readonly spanProcessor: SpanProcessor = {
    onStart: () => undefined,
    onEnd: (span) => {
      const sc = span.spanContext();
      if (sampled(sc.traceFlags)) return;
      this.#add(
        sc.traceId,
        span.status.code === SpanStatusCode.ERROR,
        (held) => held.spans.push(span),
        () => this.#sendSpan(span),
      );
    },
    forceFlush: async () => this.sinks.flush?.(),
    shutdown: async () => this.sinks.shutdown?.(),
  };

  readonly logRecordProcessor: LogRecordProcessor = {
    onEmit: (record) => {
      const sc = record.spanContext;
      if (!sc || sampled(sc.traceFlags)) return;
      const failed = (record.severityNumber ?? SeverityNumber.UNSPECIFIED) >= SeverityNumber.ERROR;
      this.#add(
        sc.traceId,
        failed,
        (held) => held.logs.push(record),
        () => this.#sendLog(record),
      );
    },
    forceFlush: async () => undefined,
    shutdown: async () => undefined,
  };

  /** Traces held now (for tests and diagnostics). */
  heldTraces(): number {
    return this.#held.size;
  }

  #add(traceId: string, failed: boolean, hold: (held: Held) => void, send: () => void): void {
    const now = this.#now();
    this.#evict(now);
    let held = this.#held.get(traceId);
    if (held?.keptUntil !== undefined && held.keptUntil > now) {
      send();
      return;
    }
    if (!held) {
      held = { since: now, spans: [], logs: [] };
      this.#held.set(traceId, held);
    }
    if (failed) {
      this.stats.keptTraces++;
      held.keptUntil = now + this.#keepMs;
      for (const span of held.spans.splice(0)) this.#sendSpan(span);
      for (const record of held.logs.splice(0)) this.#sendLog(record);
      send();
      // Kept traces move to the back: they are evicted by age like the rest, from keptUntil.
      this.#held.delete(traceId);
      this.#held.set(traceId, held);
      return;
    }
    if (held.spans.length + held.logs.length >= this.#maxItems) {
      this.stats.dropped++;
      return;
    }
    hold(held);
  }

  #evict(now: number): void {
    for (const [traceId, held] of this.#held) {
      const expired = held.keptUntil !== undefined ? held.keptUntil <= now : held.since + this.#holdMs <= now;
      if (!expired && this.#held.size <= this.#maxTraces) break;
      this.stats.dropped += held.spans.length + held.logs.length;
      this.#held.delete(traceId);
    }
  }

  #sendSpan(span: ReadableSpan): void {
    this.stats.spansSent++;
    this.sinks.span(asKept(span));
  }

  #sendLog(record: SdkLogRecord): void {
    this.stats.logsSent++;
    this.sinks.log(asKeptLog(record));
  }
}
