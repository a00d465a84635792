// The embedded host's OpenTelemetry SDK — what Application Insights is in Azure: a tracer, a
// meter and a logger provider registered process-wide before the app loads, keeping the last
// spans, metrics and log records in memory (for tests, the dashboard's trace view and flow
// figures) and exporting them over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set.
import { context, metrics, propagation, trace, type Attributes, type HrTime } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { hrTimeToMilliseconds, W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider, type LogRecordProcessor, type SdkLogRecord } from '@opentelemetry/sdk-logs';
import { AggregationTemporality, DataPointType, MeterProvider, MetricReader, PeriodicExportingMetricReader, type IMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace-base';

export interface SpanRecord {
  /** The instrumentation scope: the app's tracer, or the host's (its request spans). */
  scope: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: 'internal' | 'server' | 'client' | 'producer' | 'consumer';
  /** Epoch milliseconds. */
  start: number;
  durationMs: number;
  status: 'unset' | 'ok' | 'error';
  statusMessage?: string;
  attributes: Attributes;
  links: { traceId: string; spanId: string }[];
}

export interface LogEntry {
  time: number;
  severity: string;
  body: string;
  traceId?: string;
  spanId?: string;
  attributes: Attributes;
}

export interface MetricPoint {
  name: string;
  kind: 'counter' | 'histogram' | 'gauge';
  attributes: Attributes;
  /** Counter: the sum. Histogram: count, sum, min, max. */
  value?: number;
  count?: number;
  sum?: number;
  min?: number;
  max?: number;
}

const KINDS = ['internal', 'server', 'client', 'producer', 'consumer'] as const;
const ms = (t: HrTime) => hrTimeToMilliseconds(t);

/** A bounded buffer: the newest `capacity` items (a circular array: a push costs the same when full). */
class Ring<T> {
  readonly #items: T[] = [];
  #next = 0;
  constructor(private readonly capacity: number) {}
  push(item: T): void {
    if (this.#items.length < this.capacity) this.#items.push(item);
    else {
      this.#items[this.#next] = item;
      this.#next = (this.#next + 1) % this.capacity;
    }
  }
  /** Oldest first. */
  all(): T[] {
    return this.#next === 0 ? [...this.#items] : [...this.#items.slice(this.#next), ...this.#items.slice(0, this.#next)];
  }
}

class SpanStore implements SpanProcessor {
  readonly #spans: Ring<SpanRecord>;
  /** Spans ended per scope since the process started, and their attribute bytes (what the cost model prices). */
  readonly totals = new Map<string, { spans: number; attributeBytes: number }>();
  readonly listeners = new Set<(span: SpanRecord) => void>();
  constructor(capacity: number) {
    this.#spans = new Ring(capacity);
  }
  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    const sc = span.spanContext();
    this.add({
      scope: span.instrumentationScope.name,
      traceId: sc.traceId,
      spanId: sc.spanId,
      ...(span.parentSpanContext ? { parentSpanId: span.parentSpanContext.spanId } : {}),
      name: span.name,
      kind: KINDS[span.kind] ?? 'internal',
      start: ms(span.startTime),
      durationMs: ms(span.duration),
      status: span.status.code === 2 ? 'error' : span.status.code === 1 ? 'ok' : 'unset',
      ...(span.status.message ? { statusMessage: span.status.message } : {}),
      attributes: { ...span.attributes },
      links: span.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId })),
    });
  }
  add(record: SpanRecord): void {
    const total = this.totals.get(record.scope) ?? { spans: 0, attributeBytes: 0 };
    total.spans++;
    for (const [k, v] of Object.entries(record.attributes)) total.attributeBytes += k.length + String(v).length;
    this.totals.set(record.scope, total);
    this.#spans.push(record);
    for (const listener of this.listeners) listener(record);
  }
  all(): SpanRecord[] {
    return this.#spans.all();
  }
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

class LogStore implements LogRecordProcessor {
  readonly #logs: Ring<LogEntry>;
  readonly listeners = new Set<(entry: LogEntry) => void>();
  constructor(capacity: number) {
    this.#logs = new Ring(capacity);
  }
  onEmit(record: SdkLogRecord): void {
    this.add({
      time: ms(record.hrTime),
      severity: record.severityText ?? String(record.severityNumber ?? ''),
      body: typeof record.body === 'string' ? record.body : JSON.stringify(record.body),
      ...(record.spanContext ? { traceId: record.spanContext.traceId, spanId: record.spanContext.spanId } : {}),
      attributes: { ...(record.attributes as Attributes) },
    });
  }
  add(entry: LogEntry): void {
    this.#logs.push(entry);
    for (const listener of this.listeners) listener(entry);
  }
  all(): LogEntry[] {
    return this.#logs.all();
  }
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

/** A reader the host pulls from on demand (tests, the dashboard): cumulative sums since start. */
class PullReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

export class EmbeddedTelemetry {
  readonly #spans: SpanStore;
  readonly #logs: LogStore;
  readonly #reader = new PullReader();
  readonly tracerProvider: BasicTracerProvider;
  readonly meterProvider: MeterProvider;
  readonly loggerProvider: LoggerProvider;
  /** Where OTLP goes, when configured. */
  readonly otlpEndpoint: string | undefined;

  constructor(env: NodeJS.ProcessEnv = process.env, capacity = { spans: 50_000, logs: 20_000 }) {
    this.#spans = new SpanStore(capacity.spans);
    this.#logs = new LogStore(capacity.logs);
    const resource = resourceFromAttributes({
      'service.name': env.OTEL_SERVICE_NAME || 'azure-integration-backbone',
      'cloud.provider': 'embedded',
    });
    this.otlpEndpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined;
    const spanProcessors: SpanProcessor[] = [this.#spans];
    const logProcessors: LogRecordProcessor[] = [this.#logs];
    const readers: IMetricReader[] = [this.#reader];
    if (this.otlpEndpoint) {
      // Required only when asked for: the exporters pull in protobuf and HTTP agents.
      const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
      const { OTLPMetricExporter } = require('@opentelemetry/exporter-metrics-otlp-http') as typeof import('@opentelemetry/exporter-metrics-otlp-http');
      const { OTLPLogExporter } = require('@opentelemetry/exporter-logs-otlp-http') as typeof import('@opentelemetry/exporter-logs-otlp-http');
      spanProcessors.push(new BatchSpanProcessor(new OTLPTraceExporter()));
      logProcessors.push(new BatchLogRecordProcessor({ exporter: new OTLPLogExporter() }));
      readers.push(new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter(), exportIntervalMillis: 10_000 }));
    }
    this.tracerProvider = new BasicTracerProvider({ resource, spanProcessors });
    this.meterProvider = new MeterProvider({ resource, readers });
    this.loggerProvider = new LoggerProvider({ resource, processors: logProcessors });
  }

  /** Makes this SDK the process's OpenTelemetry implementation. */
  register(): void {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(this.tracerProvider);
    metrics.setGlobalMeterProvider(this.meterProvider);
    logs.setGlobalLoggerProvider(this.loggerProvider);
  }

  spans(): SpanRecord[] {
    return this.#spans.all();
  }

  /** Calls `listener` with every span that ends from now on (the load benchmark times stages by them); returns the unsubscribe. */
  onSpanEnd(listener: (span: SpanRecord) => void): () => void {
    this.#spans.listeners.add(listener);
    return () => this.#spans.listeners.delete(listener);
  }

  /** Every OpenTelemetry log record emitted from now on; returns the unsubscribe. */
  onLogEmit(listener: (entry: LogEntry) => void): () => void {
    this.#logs.listeners.add(listener);
    return () => this.#logs.listeners.delete(listener);
  }

  /** A span or log record that ended in a worker process, kept as if it had ended here. */
  ingest(item: { span: SpanRecord } | { entry: LogEntry }): void {
    if ('span' in item) this.#spans.add(item.span);
    else this.#logs.add(item.entry);
  }

  /** How many spans each instrumentation scope has ended since the process started. */
  spanTotals(): Record<string, { spans: number; attributeBytes: number }> {
    return Object.fromEntries([...this.#spans.totals].map(([k, v]) => [k, { ...v }]));
  }

  /** Every span of the traces one of whose spans carries the correlationId (the trace view). */
  spansOfCorrelation(correlationId: string): SpanRecord[] {
    const all = this.#spans.all();
    const traces = new Set(all.filter((s) => s.attributes.correlationId === correlationId).map((s) => s.traceId));
    return all.filter((s) => traces.has(s.traceId));
  }

  logs(): LogEntry[] {
    return this.#logs.all();
  }

  /** The current value of every metric stream (cumulative since the process started). */
  async metrics(): Promise<MetricPoint[]> {
    const { resourceMetrics } = await this.#reader.collect();
    const points: MetricPoint[] = [];
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const metric of scope.metrics) {
        for (const p of metric.dataPoints as { attributes: Attributes; value: unknown }[]) {
          if (metric.dataPointType === DataPointType.HISTOGRAM) {
            const h = p.value as { count: number; sum?: number; min?: number; max?: number };
            points.push({ name: metric.descriptor.name, kind: 'histogram', attributes: p.attributes, count: h.count, sum: h.sum ?? 0, min: h.min ?? 0, max: h.max ?? 0 });
          } else {
            points.push({ name: metric.descriptor.name, kind: metric.dataPointType === DataPointType.SUM ? 'counter' : 'gauge', attributes: p.attributes, value: Number(p.value) });
          }
        }
      }
    }
    return points;
  }

  async flush(): Promise<void> {
    await Promise.allSettled([this.tracerProvider.forceFlush(), this.meterProvider.forceFlush(), this.loggerProvider.forceFlush()]);
  }
}

let shared: EmbeddedTelemetry | undefined;

/**
 * The process's telemetry, registered on first use. One per process, as OpenTelemetry's globals
 * are: hosts started one after another in a process (tests) share it.
 */
export function embeddedTelemetry(capacity?: { spans: number; logs: number }): EmbeddedTelemetry {
  if (!shared) {
    // A worker process keeps next to nothing: it hands each span to the host as it ends.
    shared = new EmbeddedTelemetry(process.env, capacity);
    shared.register();
  }
  return shared;
}
