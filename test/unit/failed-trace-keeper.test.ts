// The keeper alone, with the OpenTelemetry SDK's own tracer provider and a sampler that records
// what it samples out, as Application Insights' does (SamplingDecision.RECORD); the end-to-end
// check through the real distro is test/e2e/app-insights-export.e2e.test.ts.
import { context, SpanStatusCode, trace, TraceFlags, type Context } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { LoggerProvider, type SdkLogRecord } from '@opentelemetry/sdk-logs';
import { BasicTracerProvider, SamplingDecision, type ReadableSpan, type Sampler } from '@opentelemetry/sdk-trace-base';
import { FailedTraceKeeper, SAMPLE_RATE_ATTRIBUTE } from '../../src/observability/failed-trace-keeper';
import { samplingRatio } from '../../src/observability/azure-monitor';

const recordOnly: Sampler = { shouldSample: () => ({ decision: SamplingDecision.RECORD }), toString: () => 'record only' };
const sampleAll: Sampler = { shouldSample: () => ({ decision: SamplingDecision.RECORD_AND_SAMPLED }), toString: () => 'all' };

function setup(sampler: Sampler, options: ConstructorParameters<typeof FailedTraceKeeper>[1] = {}) {
  const spans: ReadableSpan[] = [];
  const logs: SdkLogRecord[] = [];
  const keeper = new FailedTraceKeeper({ span: (s) => spans.push(s), log: (r) => logs.push(r) }, options);
  const tracer = new BasicTracerProvider({ sampler, spanProcessors: [keeper.spanProcessor] }).getTracer('t');
  const logger = new LoggerProvider({ processors: [keeper.logRecordProcessor] }).getLogger('t');
  const transaction = (fail: boolean) => {
    const root = tracer.startSpan('routeMessage');
    const ctx: Context = trace.setSpan(context.active(), root);
    const child = tracer.startSpan('esb.route', {}, ctx);
    tracer.startSpan('send', {}, trace.setSpan(ctx, child)).end();
    logger.emit({ body: 'routed', severityNumber: SeverityNumber.INFO, context: trace.setSpan(ctx, child) });
    if (fail) child.setStatus({ code: SpanStatusCode.ERROR, message: 'NoRouteMatched' });
    child.end();
    root.end();
    return root.spanContext().traceId;
  };
  return { keeper, spans, logs, transaction, tracer, logger };
}

describe('the failed-trace keeper', () => {
  test('given a sampled-out trace that succeeds, nothing of it is sent', () => {
    const { spans, logs, transaction, keeper } = setup(recordOnly);
    transaction(false);
    expect(spans).toHaveLength(0);
    expect(logs).toHaveLength(0);
    expect(keeper.heldTraces()).toBe(1);
  });

  test('given a sampled-out trace, when a span of it ends in error, every span and record it held is sent, marked sampled at 100%', () => {
    const { spans, logs, transaction } = setup(recordOnly);
    transaction(false);
    const failed = transaction(true);
    expect(spans.map((s) => s.name).sort()).toEqual(['esb.route', 'routeMessage', 'send']);
    expect(spans.every((s) => s.spanContext().traceId === failed && s.spanContext().traceFlags === TraceFlags.SAMPLED)).toBe(true);
    expect(spans.every((s) => s.attributes[SAMPLE_RATE_ATTRIBUTE] === 100)).toBe(true);
    expect(spans.find((s) => s.name === 'esb.route')!.status.code).toBe(SpanStatusCode.ERROR);
    expect(logs.map((r) => [r.body, r.spanContext?.traceId, r.spanContext?.traceFlags])).toEqual([['routed', failed, TraceFlags.SAMPLED]]);
  });

  test('after a failure, later spans and records of the same trace are sent as they end', () => {
    const { spans, logs, transaction, tracer, logger } = setup(recordOnly);
    const traceId = transaction(true);
    const parent = trace.setSpanContext(context.active(), { traceId, spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.NONE, isRemote: true });
    tracer.startSpan('triage dead letter', {}, parent).end();
    logger.emit({ body: 'triaged', severityNumber: SeverityNumber.WARN, context: parent });
    expect(spans.map((s) => s.name)).toContain('triage dead letter');
    expect(logs.map((r) => r.body)).toEqual(['routed', 'triaged']);
  });

  test('a record at Error severity keeps its trace too', () => {
    const { spans, logs, tracer, logger } = setup(recordOnly);
    const span = tracer.startSpan('work');
    span.end();
    logger.emit({ body: 'store unavailable', severityNumber: SeverityNumber.ERROR, context: trace.setSpan(context.active(), span) });
    expect(spans.map((s) => s.name)).toEqual(['work']);
    expect(logs.map((r) => r.body)).toEqual(['store unavailable']);
  });

  test('sampled traces are left to the distro: the keeper neither holds nor sends them', () => {
    const { spans, logs, transaction, keeper } = setup(sampleAll);
    transaction(true);
    expect(spans).toHaveLength(0);
    expect(logs).toHaveLength(0);
    expect(keeper.heldTraces()).toBe(0);
  });

  test('memory is bounded: held traces age out, and at most maxTraces are held', () => {
    let now = 0;
    const { transaction, keeper, spans } = setup(recordOnly, { holdMs: 1_000, maxTraces: 3, now: () => now });
    for (let i = 0; i < 5; i++) transaction(false);
    expect(keeper.heldTraces()).toBe(3);
    now = 2_000;
    transaction(false);
    expect(keeper.heldTraces()).toBe(1);
    expect(keeper.stats.dropped).toBeGreaterThan(0);
    expect(spans).toHaveLength(0);
  });

  test('TELEMETRY_SAMPLING_RATIO: 1 when unset, a ratio in (0, 1], anything else refused at start', () => {
    expect(samplingRatio({})).toBe(1);
    expect(samplingRatio({ TELEMETRY_SAMPLING_RATIO: '0.1' })).toBe(0.1);
    for (const bad of ['0', '1.5', 'ten', '-0.1']) expect(() => samplingRatio({ TELEMETRY_SAMPLING_RATIO: bad })).toThrow(/TELEMETRY_SAMPLING_RATIO/);
  });
});
