// The local Azure's AMQP 1.0 endpoint: one listener (plain TCP, as the official emulators with
// UseDevelopmentEmulator=true) for the messaging services that speak AMQP — Service Bus and Event
// Hubs, both reached with `Endpoint=sb://localhost;…` — as one namespace serves them in Azure. rhea
// does the framing; this file is what both services share: SASL ANONYMOUS (the SDKs authenticate
// with claims-based security, not SASL), CBS put-token with SharedAccessSignature tokens verified
// against the host's keys, and handing each link to the service whose entity it names.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { create_container, type Connection, type EventContext, type Message, type Sender } from 'rhea';
import type { HostLogger } from '../host/logger';

/** The official emulator's key: what `Endpoint=sb://localhost;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;` signs with. */
export const DEVELOPMENT_KEYS: Record<string, string> = { RootManageSharedAccessKey: 'SAS_KEY_VALUE' };

export interface Claim {
  audience: string;
  expiresAt: number;
}

export type Outcome = 'accepted' | 'rejected' | 'released' | 'modified';

/** One service's AMQP dialect: the links and messages on the entities it owns. */
export interface AmqpService {
  /** Whether a link address names one of this service's nodes. */
  owns(address: string): boolean;
  /** The client attached a receiver: this side sends (messages, events, replies). */
  senderOpened(context: EventContext, address: string): void;
  /** The client attached a sender: this side receives (sends, management requests). */
  receiverOpened(context: EventContext, address: string): void;
  message(context: EventContext, address: string): Promise<void>;
  /** The client settled a delivery this side sent. */
  settled?(context: EventContext, outcome: Outcome): Promise<void>;
  close?(): void;
}

/** What a service asks of the listener: whether a connection may use an entity, and the time. */
export interface AmqpAccess {
  authorized(connection: Connection, entity: string): boolean;
  /** Whether a token a request carries itself (Event Hubs' $management: security_token) grants the entity. */
  tokenGrants(token: string, entity: string): boolean;
  now(): number;
  readonly closing: AbortSignal;
}

/** Verifies a SharedAccessSignature token against the keys; returns what it grants, or why not. */
export function verifySas(token: string, keys: Record<string, string>, now: number): Claim | string {
  if (!token.startsWith('SharedAccessSignature ')) return 'not a SharedAccessSignature';
  const fields = new Map<string, string>();
  for (const part of token.slice('SharedAccessSignature '.length).split('&')) {
    const at = part.indexOf('=');
    if (at > 0) fields.set(part.slice(0, at), part.slice(at + 1));
  }
  const sr = fields.get('sr');
  const sig = fields.get('sig');
  const se = fields.get('se');
  const skn = fields.get('skn');
  if (!sr || !sig || !se || !skn) return 'the token lacks sr, sig, se or skn';
  const key = keys[skn];
  if (key === undefined) return `no key named ${skn}`;
  const expected = createHmac('sha256', key).update(`${sr}\n${se}`).digest();
  const given = Buffer.from(decodeURIComponent(sig), 'base64');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'the signature does not match';
  const expiresAt = Number(se) * 1000;
  if (!(expiresAt > now)) return 'the token has expired';
  return { audience: decodeURIComponent(sr).toLowerCase(), expiresAt };
}

/** The entity path a token's audience grants ('' for the whole namespace). */
export function grantedPath(audience: string): string {
  return audience
    .replace(/^(sb|amqps?|https?):\/\/[^/]+\/?/, '')
    .replace(/\/\$management$/, '')
    .replace(/\/$/, '');
}

const waitingReplies = new WeakMap<Sender, Message[]>();

/**
 * Sends a reply (CBS, $management) pre-settled, once the link has credit and room in the session's
 * window; until then (a client with many requests in flight) replies wait, in order. Nothing
 * follows a reply, and rhea keeps an unsettled delivery in the session's window of 2,048 until
 * both sides settle it: a client renewing locks or tokens all day would fill it and rhea throws.
 */
export function sendSettled(link: Sender, message: Message): void {
  let waiting = waitingReplies.get(link);
  if (!waiting) {
    const queue: Message[] = [];
    waiting = queue;
    waitingReplies.set(link, queue);
    link.on('sendable', () => {
      while (queue.length && link.sendable()) transferSettled(link, queue.shift()!);
    });
  }
  if (!waiting.length && link.sendable()) transferSettled(link, message);
  else waiting.push(message);
}

function transferSettled(link: Sender, message: Message): void {
  // Before rhea writes the transfer (on its next turn): it goes out pre-settled.
  (link.send(message) as unknown as { settled: boolean }).settled = true;
}

type ListeningServer = { close(cb?: () => void): void; address(): AddressInfo | string | null; once(event: string, cb: (...args: unknown[]) => void): void };

export interface AmqpListenerOptions {
  logger: HostLogger;
  /** Shared access key name → key (the development key by default). */
  keys?: Record<string, string>;
  host?: string;
  now?: () => number;
}

export class AmqpListener implements AmqpAccess {
  // Modified stays modified (Service Bus' abandon and defer differ by undeliverable-here);
  // deliveries are settled when the service has done what they ask (on disk), not when rhea's
  // handler returns.
  readonly #container = create_container({ id: 'local-azure', treat_modified_as_released: false, autosettle: false, autoaccept: false } as Parameters<typeof create_container>[0]);
  readonly #claims = new WeakMap<Connection, Claim[]>();
  readonly #services: AmqpService[] = [];
  readonly #closing = new AbortController();
  #server?: ListeningServer;

  constructor(private readonly o: AmqpListenerOptions) {
    this.#container.sasl_server_mechanisms.enable_anonymous();
    this.#container.on('sender_open', (context: EventContext) => this.#route(context.sender?.source?.address, (s, a) => s.senderOpened(context, a)));
    this.#container.on('receiver_open', (context: EventContext) => this.#route(context.receiver?.target?.address, (s, a) => s.receiverOpened(context, a)));
    this.#container.on('message', (context: EventContext) => {
      const address = context.receiver?.target?.address ?? '';
      if (address === '$cbs') return this.#putToken(context);
      this.#route(address, (s, a) => void s.message(context, a));
    });
    for (const outcome of ['accepted', 'rejected', 'released', 'modified'] as const) {
      this.#container.on(outcome, (context: EventContext) => this.#route(context.sender?.source?.address, (s) => void s.settled?.(context, outcome)));
    }
    this.#container.on('error', (context: EventContext) => this.o.logger.log('debug', 'Host.AMQP', `AMQP: ${String(context.error ?? '')}`));
  }

  /** Adds a service; the last added is asked last, so the catch-all (Service Bus) goes last. */
  serve(service: AmqpService): this {
    this.#services.push(service);
    return this;
  }

  get closing(): AbortSignal {
    return this.#closing.signal;
  }

  now(): number {
    return this.o.now?.() ?? Date.now();
  }

  /** Listens (5672, the AMQP port, unless told otherwise; 0 for a free one); resolves with the port. */
  async listen(port = 5672): Promise<number> {
    const server = this.#container.listen({ port, host: this.o.host ?? '127.0.0.1' }) as unknown as ListeningServer;
    await new Promise<void>((resolve, reject) => {
      server.once('listening', () => resolve());
      server.once('error', (e) => reject(e as Error));
    });
    this.#server = server;
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.#closing.abort();
    for (const service of this.#services) service.close?.();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }

  /** Whether the connection holds an unexpired token for the entity (a namespace-wide one, or the entity's own or a parent's). */
  authorized(connection: Connection, entity: string): boolean {
    return (this.#claims.get(connection) ?? []).some((c) => this.#grants(c, entity));
  }

  tokenGrants(token: string, entity: string): boolean {
    const claim = verifySas(token, this.o.keys ?? DEVELOPMENT_KEYS, this.now());
    return typeof claim !== 'string' && this.#grants(claim, entity);
  }

  #grants(claim: Claim, entity: string): boolean {
    if (!(claim.expiresAt > this.now())) return false;
    const path = entity.toLowerCase();
    const granted = grantedPath(claim.audience);
    return granted === '' || path === granted || path.startsWith(`${granted}/`);
  }

  #route(address: string | undefined, to: (service: AmqpService, address: string) => void): void {
    if (address === undefined || address === '$cbs') return;
    const service = this.#services.find((s) => s.owns(address)) ?? this.#services.at(-1);
    if (service) to(service, address);
  }

  /** CBS put-token: the reply goes to the client's reply-to link, correlated with its message id. */
  #putToken(context: EventContext): void {
    const request = context.message!;
    const props = (request.application_properties ?? {}) as Record<string, unknown>;
    const token = String(request.body ?? '');
    const verdict = props.operation === 'put-token' ? verifySas(token, this.o.keys ?? DEVELOPMENT_KEYS, this.now()) : 'the operation is not put-token';
    context.delivery!.accept();
    const ok = typeof verdict !== 'string';
    if (ok) {
      const claims = (this.#claims.get(context.connection) ?? []).filter((c) => c.expiresAt > this.now());
      claims.push(verdict);
      this.#claims.set(context.connection, claims);
    }
    const replyTo = request.reply_to;
    const reply: Message = {
      body: null,
      correlation_id: request.message_id,
      application_properties: { 'status-code': ok ? 202 : 401, 'status-description': ok ? 'Accepted' : `InvalidSignature: ${verdict as string}` },
    };
    // The client's $cbs receiver: the one whose target is the reply-to address, else any on $cbs (clients open one).
    const replySender =
      context.connection.find_sender((s: Sender) => s.source?.address === '$cbs' && s.target?.address === replyTo) ?? context.connection.find_sender((s: Sender) => s.source?.address === '$cbs');
    if (replySender) sendSettled(replySender, { ...reply, ...(replyTo ? { to: replyTo } : {}) });
  }
}
