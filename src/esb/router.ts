// The content-based router: what happens to one message from the inbound queue.
//   1. It must be within the input limits (InputLimitExceeded) and a valid envelope whose payload
//      fits its schema — else dead-letter (InvalidEnvelope / UnknownMessageType / SchemaValidationFailed).
//   2. Idempotent receiver: a message already routed (same envelope messageId) is skipped.
//   3. The route table picks the routes; none → dead-letter NoRouteMatched.
//   4. Every destination's document is built first (transform chain, target schema); a failure
//      dead-letters TransformationFailed and nothing is sent. Never retried.
//   5. Sends carry deterministic messageIds (inbound id + route + destination), correlation and
//      causation ids and trace context, so a repeat is dropped by duplicate detection.
//   6. A transient send failure schedules a copy of the message back on the inbound queue with
//      exponential backoff and jitter, up to the route's deadLetterAfterRetries, then
//      dead-letters RetriesExhausted. Other send failures dead-letter at once.
// The router decides; the function applies the decision (complete or dead-letter).
import { createHash } from 'node:crypto';
import type { MessageSender } from '../ports/messaging';
import type { OutgoingMessage, PropertyValue } from '@backbone/azure-model/service-bus';
import { InputLimitError, isAppError } from '../shared/errors';
import { CATEGORY_PROPERTY, categorise, type DeadLetterCategory, type DeadLetterReason } from './dead-letter-categories';
import { parseEnvelope, type Envelope } from './envelope';
import { IDEMPOTENCY_TTL_SECONDS, type IdempotencyStore } from '../ports/idempotency';
import { checkJsonText, checkValueLimits, inputLimits, type InputLimits } from './input-limits';
import { RETRY_PROPERTIES, retryDelayMs, type BackoffPolicy } from './retry';
import type { Destination, Route, RouteTable } from './routing/routes';
import { modelName, type SchemaRegistry } from './schemas';
import { docFromEnvelope, encodeDoc, splitModel, type Doc } from './transforms/document';
import { TransformationError, type TransformGraph } from './transforms/graph';

export interface InboundMessage {
  /** The Service Bus messageId (a retry copy's differs from the envelope's). */
  messageId: string;
  body: unknown;
  contentType?: string;
  applicationProperties: Record<string, unknown>;
}

export interface SentMessage {
  route: string;
  entity: string;
  messageId: string;
  model: string;
  format: string;
}

export type RouterDecision =
  | { action: 'complete'; result: 'routed'; envelope: Envelope; routes: string[]; sent: SentMessage[] }
  | { action: 'complete'; result: 'duplicate'; envelope: Envelope }
  | { action: 'complete'; result: 'retry-scheduled'; envelope: Envelope; attempt: number; delayMs: number; error: string }
  | { action: 'deadLetter'; reason: DeadLetterReason; description: string; category: DeadLetterCategory; properties: Record<string, PropertyValue>; envelope?: Envelope };

export interface RouterDeps {
  routes: () => RouteTable;
  registry: SchemaRegistry;
  graph: TransformGraph;
  sender: MessageSender;
  idempotency: IdempotencyStore;
  inboundQueue: string;
  now?: () => Date;
  random?: () => number;
}

const TRANSIENT_CODES = new Set(['ServiceBusy', 'ServiceTimeout', 'ServiceCommunicationProblem', 'ECONNRESET', 'ETIMEDOUT', 'ECONNREFUSED', 'EAI_AGAIN']);
const MAX_DESCRIPTION = 4000;

export function isTransient(error: unknown): boolean {
  const e = error as { code?: unknown; retryable?: unknown; name?: unknown };
  return (typeof e?.code === 'string' && TRANSIENT_CODES.has(e.code)) || e?.retryable === true || e?.name === 'TransientFault';
}

/** The messageId of what a route sends to one destination: the same every time this message is routed. */
export function outgoingMessageId(inboundMessageId: string, route: string, destination: number): string {
  const hex = createHash('sha256').update(`${inboundMessageId}\u0000${route}\u0000${destination}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The body as a value, within the input limits: raw text is scanned before JSON.parse, a body the
 * Service Bus extension already parsed (application/json) is measured as it is. Another producer
 * than the ingress may put anything on the queue.
 */
function bodyValue(body: unknown, limits: InputLimits): unknown {
  const text = Buffer.isBuffer(body) ? body.toString('utf8') : body;
  if (typeof text !== 'string') {
    checkValueLimits(text, limits);
    return text;
  }
  checkJsonText(text, limits);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > MAX_DESCRIPTION ? `${message.slice(0, MAX_DESCRIPTION)}…` : message;
}

export class Router {
  readonly #now: () => Date;
  readonly #random: () => number;

  constructor(private readonly deps: RouterDeps) {
    this.#now = deps.now ?? (() => new Date());
    this.#random = deps.random ?? Math.random;
  }

  #deadLetter(reason: DeadLetterReason, description: string, envelope?: Envelope, extra: Record<string, PropertyValue> = {}): RouterDecision {
    const category = categorise(reason);
    return { action: 'deadLetter', reason, description: describe(description), category, properties: { [CATEGORY_PROPERTY]: category, ...extra }, envelope };
  }

  async handle(message: InboundMessage): Promise<RouterDecision> {
    let envelope: Envelope;
    try {
      envelope = parseEnvelope(bodyValue(message.body, inputLimits()));
    } catch (error) {
      if (!isAppError(error)) throw error;
      const reason = error instanceof InputLimitError ? 'InputLimitExceeded' : 'InvalidEnvelope';
      return this.#deadLetter(reason, `${error.target ? `${error.target}: ` : ''}${error.message}`);
    }
    const model = this.deps.registry.find(modelName(envelope.messageType, envelope.schemaVersion));
    if (!model) {
      return this.#deadLetter('UnknownMessageType', `No schema for ${envelope.messageType} v${envelope.schemaVersion} in the message catalog`, envelope);
    }
    try {
      this.deps.registry.validatePayload(model, envelope.payload);
    } catch (error) {
      if (!isAppError(error)) throw error;
      return this.#deadLetter('SchemaValidationFailed', error.message, envelope);
    }

    const key = `route:${envelope.messageId}`;
    if (await this.deps.idempotency.has(key)) return { action: 'complete', result: 'duplicate', envelope };

    const routes = this.deps.routes().match(envelope);
    if (routes.length === 0) {
      return this.#deadLetter('NoRouteMatched', `No route matches ${envelope.messageType} v${envelope.schemaVersion} (messageId ${envelope.messageId})`, envelope);
    }

    let outgoing: { route: Route; destination: Destination; message: OutgoingMessage; doc: Doc }[];
    try {
      outgoing = routes.flatMap((route) => route.destinations.map((destination) => ({ route, destination, ...this.#build(envelope, route, destination, message) })));
    } catch (error) {
      if (error instanceof TransformationError) return this.#deadLetter('TransformationFailed', error.message, envelope);
      throw error;
    }

    const results = await Promise.allSettled(outgoing.map((o) => this.deps.sender.send(o.destination.entity, [o.message])));
    const failures = results.flatMap((r, i) => (r.status === 'rejected' ? [{ error: r.reason as unknown, out: outgoing[i]! }] : []));
    if (failures.length > 0) {
      const permanent = failures.find((f) => !isTransient(f.error));
      if (permanent) return this.#permanentSendFailure(permanent.error, permanent.out.destination.entity, envelope);
      // The strictest of the failing routes decides how often and how soon.
      const route = failures.map((f) => f.out.route).sort((a, b) => a.deadLetterAfterRetries - b.deadLetterAfterRetries)[0]!;
      return this.#retry(message, envelope, failures[0]!.error, route.deadLetterAfterRetries, route.retryBackoff);
    }

    await this.deps.idempotency.record(key, IDEMPOTENCY_TTL_SECONDS);
    return {
      action: 'complete',
      result: 'routed',
      envelope,
      routes: routes.map((r) => r.name),
      sent: outgoing.map((o) => ({ route: o.route.name, entity: o.destination.entity, messageId: o.message.messageId!, model: o.doc.model, format: o.doc.format })),
    };
  }

  /** The document and Service Bus message a route sends to one destination. */
  #build(envelope: Envelope, route: Route, destination: Destination, inbound: InboundMessage): { message: OutgoingMessage; doc: Doc } {
    const messageId = outgoingMessageId(envelope.messageId, route.name, destination.index);
    const start = docFromEnvelope(envelope);
    const source: Doc = { ...start, meta: { ...start.meta, messageId, causationId: envelope.messageId, timestamp: this.#now().toISOString() } };
    const steps = this.deps.graph.plan({ model: source.model, format: 'json' }, destination.target);
    let doc = source;
    for (const step of steps) {
      doc = this.deps.graph.run(doc, [step]);
      // A model mapping's output must fit the target model's schema before any format encodes it.
      if (step.from.model !== step.to.model && doc.format === 'json') {
        try {
          this.deps.registry.validatePayload(this.deps.registry.get(doc.model), doc.content);
        } catch (error) {
          throw new TransformationError(`${step.name} produced an invalid ${doc.model}: ${(error as Error).message}`, step.name);
        }
      }
    }
    const { body, contentType } = encodeDoc(doc);
    const { messageType, schemaVersion } = splitModel(doc.model);
    const properties: Record<string, PropertyValue> = {
      messageType,
      schemaVersion,
      schema: doc.model,
      route: route.name,
      priority: envelope.headers.priority ?? 'normal',
      causationId: envelope.messageId,
    };
    if (envelope.headers.source) properties.source = envelope.headers.source;
    for (const name of ['traceparent', 'tracestate', 'Diagnostic-Id']) {
      const v = inbound.applicationProperties[name];
      if (typeof v === 'string') properties[name] = v;
    }
    try {
      for (const [name, template] of destination.properties) properties[name] = template(envelope);
      const sessionId = destination.sessionId?.(envelope);
      return {
        doc,
        message: {
          body,
          contentType,
          messageId,
          correlationId: envelope.correlationId,
          subject: messageType,
          ...(sessionId !== undefined ? { sessionId } : {}),
          ...(envelope.headers.ttl !== undefined ? { timeToLiveMs: envelope.headers.ttl * 1000 } : {}),
          applicationProperties: properties,
        },
      };
    } catch (error) {
      throw new TransformationError(`route ${route.name} → ${destination.entity}: ${(error as Error).message}`);
    }
  }

  #permanentSendFailure(error: unknown, entity: string, envelope: Envelope): RouterDecision {
    const code = (error as { code?: string })?.code;
    const description = `Sending to ${entity} failed: ${describe(error)}`;
    if (code === 'MessageSizeExceeded') return this.#deadLetter('MessageTooLarge', description, envelope);
    if (code === 'MessagingEntityNotFound' || code === 'UnauthorizedAccess') return this.#deadLetter('DestinationUnavailable', description, envelope);
    return this.#deadLetter('InvalidDestinationMessage', description, envelope);
  }

  async #retry(message: InboundMessage, envelope: Envelope, error: unknown, maxRetries: number, backoff: BackoffPolicy): Promise<RouterDecision> {
    const props = message.applicationProperties;
    const previous = Number(props[RETRY_PROPERTIES.attempt] ?? 0);
    const attempt = (Number.isFinite(previous) ? previous : 0) + 1;
    const firstFailure = typeof props[RETRY_PROPERTIES.firstFailure] === 'string' ? (props[RETRY_PROPERTIES.firstFailure] as string) : this.#now().toISOString();
    if (attempt > maxRetries) {
      return this.#deadLetter('RetriesExhausted', `Gave up after ${maxRetries} retries since ${firstFailure}: ${describe(error)}`, envelope, {
        [RETRY_PROPERTIES.attempt]: previous,
        [RETRY_PROPERTIES.firstFailure]: firstFailure,
      });
    }
    const delayMs = retryDelayMs(attempt, backoff, this.#random);
    const baseId = message.messageId.replace(/#a\d+$/, '');
    const copy: OutgoingMessage = {
      body: Buffer.from(JSON.stringify(envelope)),
      contentType: 'application/json',
      // A new Service Bus messageId, or duplicate detection on the inbound queue would drop it;
      // the envelope keeps its own id, which is what the idempotent receiver goes by.
      messageId: `${baseId}#a${attempt}`,
      correlationId: envelope.correlationId,
      subject: envelope.messageType,
      applicationProperties: {
        ...(props as Record<string, PropertyValue>),
        [RETRY_PROPERTIES.attempt]: attempt,
        [RETRY_PROPERTIES.firstFailure]: firstFailure,
        [RETRY_PROPERTIES.lastError]: describe(error).slice(0, 512),
      },
    };
    await this.deps.sender.schedule(this.deps.inboundQueue, [copy], new Date(this.#now().getTime() + delayMs));
    return { action: 'complete', result: 'retry-scheduled', envelope, attempt, delayMs, error: describe(error) };
  }
}
