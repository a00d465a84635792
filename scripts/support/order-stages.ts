// Per-order stage times, read off the spans the app emits for the order's trace (the same spans
// Application Insights gets in Azure): each hop names its parent, so the SubmitOrder message is
// followed from the ingress through the inbound queue, the router, the order-commands queue, the
// append, the change feed into the views and the saga's start, to the saga's outcome.
import type { SpanRecord } from '@backbone/local-azure/telemetry';

const end = (s: SpanRecord) => s.start + s.durationMs;

/** Spans worth keeping for the stage table (the rest of a trace is dropped on arrival). */
const KEPT = new Set(['send inbound', 'routeMessage', 'esb.route', 'send order-commands', 'handleOrderCommand', 'append order', 'project events', 'start orderFulfilmentSaga']);

export interface OrderTrace {
  spans: Map<string, SpanRecord>;
  submitAppend?: SpanRecord;
  projected?: SpanRecord;
  sagaStart?: SpanRecord;
  outcome?: SpanRecord;
}

export class StageCollector {
  readonly #traces = new Map<string, OrderTrace>();
  readonly #onDone: (traceId: string, trace: OrderTrace) => void;
  readonly #sagas: boolean;

  /** `traceIds`: the orders' traces; `sagas`: an order is done at its saga's outcome (else once the view shows it submitted). */
  constructor(traceIds: Iterable<string>, sagas: boolean, onDone: (traceId: string, trace: OrderTrace) => void) {
    for (const id of traceIds) this.#traces.set(id, { spans: new Map() });
    this.#sagas = sagas;
    this.#onDone = onDone;
  }

  get(traceId: string): OrderTrace | undefined {
    return this.#traces.get(traceId);
  }

  readonly onSpan = (span: SpanRecord): void => {
    const t = this.#traces.get(span.traceId);
    if (!t) return;
    if (span.name.startsWith('saga outcome ')) {
      if (!t.outcome) {
        t.outcome = span;
        if (this.#sagas) this.#onDone(span.traceId, t);
      }
      return;
    }
    if (!KEPT.has(span.name)) return;
    t.spans.set(span.spanId, span);
    if (span.name === 'append order' && String(span.attributes['eventstore.event_types'] ?? '').includes('OrderSubmitted')) t.submitAppend = span;
    if (span.name === 'start orderFulfilmentSaga') t.sagaStart = span;
    if (!t.projected && t.submitAppend) {
      // The projection of the OrderSubmitted event is a child of its append (the event carries the append's traceparent).
      const projected = [...t.spans.values()].find((s) => s.name === 'project events' && s.parentSpanId === t.submitAppend!.spanId);
      if (projected) {
        t.projected = projected;
        if (!this.#sagas) this.#onDone(span.traceId, t);
      }
    }
  };
}

export interface OrderStages {
  /** The ingress request, client side: sent → 202. */
  ingress?: number;
  inboundWait?: number;
  route?: number;
  commandsWait?: number;
  /** handleOrderCommand start → the append committed. */
  commandAppend?: number;
  /** Append committed → the view written. */
  changeFeedToView?: number;
  changeFeedToSagaStart?: number;
  saga?: number;
  acceptedToView?: number;
  acceptedToSagaEnd?: number;
}

export const STAGE_LABELS: Record<keyof OrderStages, string> = {
  ingress: 'ingress (HTTP, client side)',
  inboundWait: 'inbound queue wait',
  route: 'route (esb.route)',
  commandsWait: 'order-commands queue wait',
  commandAppend: 'command → append committed',
  changeFeedToView: 'change feed → view written',
  changeFeedToSagaStart: 'change feed → saga started',
  saga: 'saga: start → outcome',
  acceptedToView: 'accepted → view updated',
  acceptedToSagaEnd: 'accepted → saga ended',
};

/** The SubmitOrder message's hops; `submit` is the client's view of its request. */
export function stagesOf(t: OrderTrace, submitMessageId: string, submit?: { sentAt: number; acceptedAt: number }): OrderStages {
  const spans = [...t.spans.values()];
  const stages: OrderStages = {};
  if (submit) stages.ingress = submit.acceptedAt - submit.sentAt;
  const sent = spans.find((s) => s.name === 'send inbound' && s.attributes['messaging.message.id'] === submitMessageId);
  const route = spans.find((s) => s.name === 'esb.route' && s.attributes['messaging.message.id'] === submitMessageId);
  const invocation = route && spans.find((s) => s.spanId === route.parentSpanId);
  if (sent && invocation) stages.inboundWait = invocation.start - end(sent);
  if (route) stages.route = route.durationMs;
  const toCommands = route && spans.find((s) => s.name === 'send order-commands' && s.parentSpanId === route.spanId);
  const handler = toCommands && spans.find((s) => s.name === 'handleOrderCommand' && s.parentSpanId === toCommands.spanId);
  if (toCommands && handler) stages.commandsWait = handler.start - end(toCommands);
  if (handler && t.submitAppend) stages.commandAppend = end(t.submitAppend) - handler.start;
  if (t.submitAppend && t.projected) stages.changeFeedToView = end(t.projected) - end(t.submitAppend);
  if (t.submitAppend && t.sagaStart) stages.changeFeedToSagaStart = end(t.sagaStart) - end(t.submitAppend);
  if (t.sagaStart && t.outcome) stages.saga = end(t.outcome) - end(t.sagaStart);
  if (submit && t.projected) stages.acceptedToView = end(t.projected) - submit.acceptedAt;
  if (submit && t.outcome) stages.acceptedToSagaEnd = end(t.outcome) - submit.acceptedAt;
  return stages;
}
