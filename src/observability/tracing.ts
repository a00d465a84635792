// Spans and correlation through the OpenTelemetry API only: whoever hosts the app registers the
// SDK (Application Insights in Azure, the embedded host's in-memory one locally). With no SDK
// registered (but a context manager, functions/telemetry.ts) spans are not recorded, yet each
// carries its parent's context, so W3C traceparent values flow through messages and events either way.
import { context, createContextKey, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Attributes, type Context, type Link, type Span, type SpanContext } from '@opentelemetry/api';

export { SpanKind };

/** The instrumentation scope of every span the app creates. */
export const TRACER_NAME = 'azure-integration-backbone';

// Symbol.for underneath: the host and the app see the same key even from two copies of the API.
const CORRELATION_KEY = createContextKey('azure-integration-backbone.correlationId');

export const tracer = () => trace.getTracer(TRACER_NAME);

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The span context a W3C traceparent names; undefined for a malformed or all-zero one. */
export function parseTraceparent(traceparent: string | undefined | null): SpanContext | undefined {
  const m = TRACEPARENT.exec(traceparent?.trim().toLowerCase() ?? '');
  if (!m || m[1] === 'ff' || /^0+$/.test(m[2]!) || /^0+$/.test(m[3]!)) return undefined;
  return { traceId: m[2]!, spanId: m[3]!, traceFlags: parseInt(m[4]!, 16) & TraceFlags.SAMPLED, isRemote: true };
}

export function formatTraceparent(sc: SpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & TraceFlags.SAMPLED ? 1 : 0).toString(16).padStart(2, '0')}`;
}

/** A context whose parent span is the remote one the traceparent names (the active context if none). */
export function contextFromTraceparent(traceparent: string | undefined | null, base: Context = context.active()): Context {
  const sc = parseTraceparent(traceparent);
  return sc ? trace.setSpanContext(base, sc) : base;
}

/** The traceparent of the active span — what goes into a message or an event now. */
export function currentTraceparent(active: Context = context.active()): string | undefined {
  const sc = trace.getSpanContext(active);
  return sc && trace.isSpanContextValid(sc) ? formatTraceparent(sc) : undefined;
}

/** The correlationId of the business transaction the current code runs for. */
export function currentCorrelationId(active: Context = context.active()): string | undefined {
  const v = active.getValue(CORRELATION_KEY);
  return typeof v === 'string' ? v : undefined;
}

/** The context with a correlationId set (for binding a handler before it runs). */
export function contextWithCorrelation(base: Context, correlationId: string | undefined): Context {
  return correlationId ? base.setValue(CORRELATION_KEY, correlationId) : base;
}

export function withCorrelation<T>(correlationId: string | undefined, fn: () => T): T {
  if (!correlationId) return fn();
  return context.with(context.active().setValue(CORRELATION_KEY, correlationId), fn);
}

export interface SpanOptions {
  kind?: SpanKind;
  /** A W3C traceparent to parent the span on instead of the active span (a message's, an event's). */
  parent?: string | null;
  /** Start a new trace whatever is active (a batch that serves many transactions links to them instead). */
  root?: boolean;
  correlationId?: string;
  attributes?: Attributes;
  links?: Link[];
}

/**
 * Runs fn inside a span: ended when fn settles, marked as an error when it throws. The
 * correlationId becomes a span attribute and the correlation of everything fn logs.
 */
export async function inSpan<T>(name: string, options: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  let parent = options.root ? ROOT_CONTEXT : context.active();
  if (options.parent) parent = contextFromTraceparent(options.parent, parent);
  const correlationId = options.correlationId ?? currentCorrelationId();
  const attributes: Attributes = { ...options.attributes, ...(correlationId ? { correlationId } : {}) };
  const span = tracer().startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes, ...(options.links ? { links: options.links } : {}) }, parent);
  let ctx = trace.setSpan(parent, span);
  if (correlationId) ctx = ctx.setValue(CORRELATION_KEY, correlationId);
  try {
    return await context.with(ctx, () => fn(span));
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message ?? String(error) });
    throw error;
  } finally {
    span.end();
  }
}

/** Marks the active span as failed without throwing (a dead-lettered message, a declined step). */
export function markActiveSpan(status: 'ok' | 'error', message?: string, attributes?: Attributes): void {
  const span = trace.getActiveSpan();
  if (!span) return;
  if (attributes) span.setAttributes(attributes);
  span.setStatus(status === 'ok' ? { code: SpanStatusCode.OK } : { code: SpanStatusCode.ERROR, ...(message ? { message } : {}) });
}

export interface TracedItem {
  traceparent?: string;
  correlationId?: string;
}

/**
 * A batch (a change-feed page) serves many transactions at once. Runs fn once, inside one span
 * per distinct transaction of the batch, each a child of that transaction's traceparent — so
 * every transaction's trace shows the batch's work — and linked from the active (batch) span.
 */
export async function inSpansPerTransaction<T>(
  name: string,
  items: TracedItem[],
  attributes: Attributes,
  fn: (childOf: (traceparent: string | undefined) => string | undefined) => Promise<T>,
  kind: SpanKind = SpanKind.CONSUMER,
): Promise<T> {
  const groups = new Map<string, { correlationId?: string; count: number }>();
  for (const item of items) {
    if (!parseTraceparent(item.traceparent)) continue;
    const g = groups.get(item.traceparent!) ?? { count: 0, ...(item.correlationId ? { correlationId: item.correlationId } : {}) };
    g.count++;
    groups.set(item.traceparent!, g);
  }
  const batch = trace.getActiveSpan();
  const byParent = new Map<string, Span>();
  const spans = [...groups].map(([traceparent, g]) => {
    const span = tracer().startSpan(
      name,
      {
        kind,
        attributes: { ...attributes, 'messaging.batch.message_count': g.count, ...(g.correlationId ? { correlationId: g.correlationId } : {}) },
        ...(batch ? { links: [{ context: batch.spanContext() }] } : {}),
      },
      contextFromTraceparent(traceparent, ROOT_CONTEXT),
    );
    byParent.set(traceparent, span);
    return span;
  });
  for (const s of spans) batch?.addLink({ context: s.spanContext() });
  // The traceparent of the span standing for an item's transaction (what the item's next hop carries).
  const childOf = (traceparent: string | undefined) => {
    const span = traceparent ? byParent.get(traceparent) : undefined;
    return span ? formatTraceparent(span.spanContext()) : traceparent;
  };
  try {
    return await fn(childOf);
  } catch (error) {
    for (const s of spans) s.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message ?? String(error) });
    throw error;
  } finally {
    for (const s of spans) s.end();
  }
}

/** The correlation of a line about a whole batch: its transactions' ids, comma-separated (at most 50). */
export function batchCorrelation(ids: (string | undefined)[]): string | undefined {
  const unique = [...new Set(ids.filter((id): id is string => !!id))];
  if (unique.length === 0) return undefined;
  return unique.length > 50 ? `${unique.slice(0, 50).join(',')},…` : unique.join(',');
}
