// Order traffic as a shop sends it: per order a CreateOrder and a SubmitOrder message through the
// ESB ingress (POST /api/messages), one trace per order (the client picks the traceparent) and
// deterministic messageIds, so a request retried after a 503 or a dropped connection is the same
// message (duplicate detection on the inbound queue and the idempotent command handler keep it
// once). Used by `npm run load` (in a worker thread, so the client does not share the host's event
// loop) and by `npm run chaos` (against a host process that gets killed).
import { randomBytes } from 'node:crypto';

export interface PlannedOrder {
  orderId: string;
  correlationId: string;
  traceId: string;
  skus: [string, string];
}

export type TrafficMessageType = 'CreateOrder' | 'SubmitOrder' | 'AddOrderItem';

export interface AcceptedMessage {
  index: number;
  messageType: TrafficMessageType;
  /** Epoch ms the request was first sent, and the 202 arrived. */
  sentAt: number;
  acceptedAt: number;
  /** Requests it took (1 = accepted at once). */
  attempts: number;
}

export interface RefusedMessage {
  index: number;
  messageType: string;
  status: number;
  error: string;
}

export interface TrafficOptions {
  /** The host's base URL; a function when it can change (a restarted host on a new port). */
  baseUrl: string | (() => string);
  concurrency: number;
  /** Orders started per second (open loop); unset: as fast as `concurrency` allows. */
  rate?: number;
  /** Give up retrying a message after this long (connection refused while a host restarts, 503s). */
  retryForMs?: number;
  headers?: Record<string, string>;
  onAccepted?: (accepted: AcceptedMessage) => void;
  onRefused?: (refused: RefusedMessage) => void;
  /** Stop starting new orders when this returns true. */
  stopped?: () => boolean;
  /**
   * Every n-th order also gets an AddOrderItem after its SubmitOrder: a late edit the order
   * refuses (dead-lettered BusinessRuleViolated) — unless it overtook the SubmitOrder on the way.
   */
  lateEditEvery?: number;
}

export const epochNow = (): number => performance.timeOrigin + performance.now();

export function planOrders(count: number, skus: readonly string[], run = randomBytes(3).toString('hex')): PlannedOrder[] {
  return Array.from({ length: count }, (_, i) => ({
    orderId: `load-${run}-${i}`,
    correlationId: `load-${run}-${i}`,
    traceId: randomBytes(16).toString('hex'),
    skus: [skus[i % skus.length]!, skus[(i * 7 + 3) % skus.length]!],
  }));
}

export function messageIdOf(order: PlannedOrder, messageType: string): string {
  return `${order.orderId}-${messageType}`;
}

function envelopes(order: PlannedOrder, i: number, lateEditEvery = 0): { messageType: TrafficMessageType; payload: unknown }[] {
  const items = [
    { sku: order.skus[0], quantity: 1 + (i % 3), unitPrice: 12.5 },
    { sku: order.skus[1], quantity: 1, unitPrice: 4.25 },
  ];
  return [
    { messageType: 'CreateOrder', payload: { orderId: order.orderId, customerId: `cust-${i % 97}`, items } },
    { messageType: 'SubmitOrder', payload: { orderId: order.orderId } },
    ...(lateEditEvery > 0 && i % lateEditEvery === 0 ? [{ messageType: 'AddOrderItem' as const, payload: { orderId: order.orderId, sku: order.skus[0], quantity: 1, unitPrice: 1 } }] : []),
  ];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends every order's two messages; resolves when each is accepted, refused (4xx) or given up. */
export async function sendOrders(orders: readonly PlannedOrder[], options: TrafficOptions): Promise<void> {
  const base = typeof options.baseUrl === 'function' ? options.baseUrl : () => options.baseUrl as string;
  const retryForMs = options.retryForMs ?? 60_000;
  const started = epochNow();
  let next = 0;

  const post = async (order: PlannedOrder, index: number, messageType: TrafficMessageType, payload: unknown): Promise<boolean> => {
    const body = JSON.stringify({ messageId: messageIdOf(order, messageType), messageType, correlationId: order.correlationId, payload });
    const traceparent = `00-${order.traceId}-${randomBytes(8).toString('hex')}-01`;
    const sentAt = epochNow();
    for (let attempt = 1; ; attempt++) {
      let status: number;
      let text: string;
      let retryAfterMs = 0;
      try {
        const res = await fetch(`${base()}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json', traceparent, ...options.headers }, body });
        status = res.status;
        text = await res.text();
        retryAfterMs = Number(res.headers.get('retry-after') ?? 0) * 1000;
      } catch (error) {
        // The connection failed (a host being restarted): not accepted, so send it again.
        status = 0;
        text = (error as Error).message;
      }
      if (status === 202) {
        options.onAccepted?.({ index, messageType, sentAt, acceptedAt: epochNow(), attempts: attempt });
        return true;
      }
      const transient = status === 0 || status === 503 || status === 429 || status >= 500;
      if (!transient || epochNow() - sentAt > retryForMs) {
        options.onRefused?.({ index, messageType, status, error: text.slice(0, 300) });
        return false;
      }
      // Retry-After says 5 s for a broker hiccup; a load client retries sooner, with jitter.
      await sleep(Math.min(retryAfterMs || 100, 50 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random() / 2));
    }
  };

  const worker = async () => {
    while (next < orders.length && !options.stopped?.()) {
      const i = next++;
      if (options.rate) {
        const due = started + (i * 1000) / options.rate;
        const wait = due - epochNow();
        if (wait > 0) await sleep(wait);
      }
      const order = orders[i]!;
      for (const { messageType, payload } of envelopes(order, i, options.lateEditEvery)) {
        if (!(await post(order, i, messageType, payload))) break;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, orders.length)) }, worker));
}
