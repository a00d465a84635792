// The tracing facade without an SDK (as in Azure with no Application Insights, or a unit test):
// W3C traceparents parse, format and still flow; correlation follows the async context. With an
// SDK: spans nest, record failures, and batches get one span per transaction.
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { batchCorrelation, currentCorrelationId, currentTraceparent, formatTraceparent, inSpan, inSpansPerTransaction, parseTraceparent, withCorrelation } from '../../src/observability/tracing';

const PARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('traceparent', () => {
  test('a valid one parses and formats back; malformed, all-zero and version ff do not parse', () => {
    expect(formatTraceparent(parseTraceparent(PARENT)!)).toBe(PARENT);
    expect(parseTraceparent(PARENT.toUpperCase())?.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    for (const bad of [
      '',
      'garbage',
      '00-00000000000000000000000000000000-b7ad6b7169203331-01',
      '00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01',
      'ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      undefined,
      null,
    ]) {
      expect(parseTraceparent(bad)).toBeUndefined();
    }
  });

  test('without an SDK (a context manager only), a span parented on a traceparent still hands that context on', async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    await inSpan('no-sdk', { parent: PARENT }, async () => expect(currentTraceparent()).toBe(PARENT));
  });
});

describe('correlation', () => {
  test('follows the code it wraps, across awaits', async () => {
    expect(currentCorrelationId()).toBeUndefined();
    await withCorrelation('corr-1', async () => {
      await new Promise((r) => setTimeout(r, 1));
      expect(currentCorrelationId()).toBe('corr-1');
    });
    expect(batchCorrelation(['a', undefined, 'b', 'a'])).toBe('a,b');
    expect(batchCorrelation([undefined])).toBeUndefined();
    expect(batchCorrelation(Array.from({ length: 60 }, (_, i) => `c${i}`))!.split(',')).toHaveLength(51);
  });
});

describe('with an SDK', () => {
  const exporter = new InMemorySpanExporter();
  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  });
  beforeEach(() => exporter.reset());

  test('spans nest, carry the correlationId, and a failure marks the span and rethrows', async () => {
    await expect(inSpan('outer', { parent: PARENT, correlationId: 'corr-2' }, () => inSpan('inner', {}, async () => Promise.reject(new Error('boom'))))).rejects.toThrow('boom');
    const [inner, outer] = exporter.getFinishedSpans();
    expect(outer!.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(inner!.parentSpanContext?.spanId).toBe(outer!.spanContext().spanId);
    expect(inner!.attributes.correlationId).toBe('corr-2');
    expect(inner!.status).toMatchObject({ code: 2, message: 'boom' });
    expect(inner!.events.map((e) => e.name)).toEqual(['exception']);
  });

  test('a batch gets one span per transaction, each a child of its traceparent, and says which span stands for which', async () => {
    const other = '00-1af7651916cd43dd8448eb211c80319c-c7ad6b7169203331-01';
    const seen: (string | undefined)[] = [];
    await inSpan('batch', {}, () =>
      inSpansPerTransaction('project events', [{ traceparent: PARENT, correlationId: 'a' }, { traceparent: PARENT }, { traceparent: other, correlationId: 'b' }, {}], {}, async (childOf) => {
        seen.push(childOf(PARENT), childOf(other), childOf(undefined));
      }),
    );
    const spans = exporter.getFinishedSpans().filter((s) => s.name === 'project events');
    expect(spans.map((s) => s.spanContext().traceId).sort()).toEqual(['0af7651916cd43dd8448eb211c80319c', '1af7651916cd43dd8448eb211c80319c']);
    expect(spans.map((s) => s.attributes['messaging.batch.message_count']).sort()).toEqual([1, 2]);
    const batch = exporter.getFinishedSpans().find((s) => s.name === 'batch')!;
    expect(batch.links).toHaveLength(2);
    expect(seen[0]).toBe(formatTraceparent(spans.find((s) => s.attributes.correlationId === 'a')!.spanContext()));
    expect(seen[2]).toBeUndefined();
  });
});
