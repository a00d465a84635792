// The local Azure's AMQP 1.0 endpoint: one listener (plain TCP, as the official emulators with
// UseDevelopmentEmulator=true) for the messaging services that speak AMQP — Service Bus and Event
// Hubs, both reached with `Endpoint=sb://localhost;…` — as one namespace serves them in Azure. rhea
// does the framing; this file is what both services share: SASL ANONYMOUS (the SDKs authenticate
// with claims-based security, not SASL), CBS put-token with SharedAccessSignature tokens verified
// against the host's keys, and handing each link to the service whose entity it names.
//
// What a client sends is read through a gate (FrameGate, below) before rhea sees it, because rhea
// trusts its peer: it waits for as many bytes as a frame's size field claims (4 GiB), holds a socket
// that sent half a frame forever, answers a bad protocol header by dropping the socket without the
// header AMQP asks for, and lets a peer that ignores its FIN keep the socket. The gate checks the
// protocol headers, each frame's size against the max-frame-size this side advertises, its data
// offset, type and channel, and bounds the time to the open frame and between frames; rhea decodes
// only what passed. An error while rhea decodes or dispatches ends that connection, never the host.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createRequire } from 'node:module';
import { format } from 'node:util';
import { create_container, types, type Connection, type EventContext, type ConnectionOptions, type Message, type Receiver, type Sender } from 'rhea';
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
  const given = Buffer.from(decoded(sig) ?? '', 'base64');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'the signature does not match';
  const expiresAt = Number(se) * 1000;
  if (!(expiresAt > now)) return 'the token has expired';
  const audience = decoded(sr);
  if (audience === undefined) return 'the audience is not valid percent-encoding';
  return { audience: audience.toLowerCase(), expiresAt };
}

/** decodeURIComponent, undefined for text that is not valid percent-encoding (it throws on those). */
function decoded(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/** Whether an audience's grant covers an entity path (a namespace-wide grant covers all). */
export function covers(audience: string, path: string): boolean {
  const granted = grantedPath(audience);
  const p = path.toLowerCase();
  return granted === '' || p === granted || p.startsWith(`${granted}/`);
}

/** The entity path a token's audience grants ('' for the whole namespace). */
export function grantedPath(audience: string): string {
  return audience
    .replace(/^(sb|amqps?|https?):\/\/[^/]+\/?/, '')
    .replace(/\/\$management$/, '')
    .replace(/\/$/, '');
}

/**
 * Answers an attach as the client asked it: its own source and target (a service may narrow them
 * after, as a session filter does) and its settle modes. Microsoft.Azure.Amqp (the .NET SDKs)
 * reads an attach without source and target as a refused link, and goes by the settle mode the
 * answer states: a request link it asked to be pre-settled, answered "mixed", keeps its requests
 * as unsettled deliveries keyed by their (empty) tags, and its second request fails.
 */
function attachAsAsked(link: Sender | Receiver): void {
  type Attach = { source?: { address?: string } | null; target?: { address?: string } | null; snd_settle_mode?: number; rcv_settle_mode?: number };
  const { remote, local } = link as unknown as { remote: { attach?: Attach }; local: { attach: Attach } };
  const asked = remote.attach;
  // A terminus without an address (a .NET sender's source) is answered without one: rhea writes null.
  link.set_source({ address: asked?.source?.address as string });
  link.set_target({ address: asked?.target?.address as string });
  if (asked?.snd_settle_mode !== undefined) local.attach.snd_settle_mode = asked.snd_settle_mode;
  if (asked?.rcv_settle_mode !== undefined) local.attach.rcv_settle_mode = asked.rcv_settle_mode;
}

const waitingReplies = new WeakMap<Sender, { queue: Message[]; flush: () => void }>();

/**
 * Sends a reply (CBS, $management) pre-settled, once the link has credit and room in the session's
 * window; until then (a client with many requests in flight) replies wait, in order. Nothing
 * follows a reply, and rhea keeps an unsettled delivery in the session's window of 2,048 until
 * both sides settle it: a client renewing locks or tokens all day would fill it and rhea throws.
 */
export function sendSettled(link: Sender, message: Message): void {
  let replies = waitingReplies.get(link);
  if (!replies) {
    const queue: Message[] = [];
    const flush = () => {
      // A link or connection that went takes its replies with it (a retry would keep it alive).
      if (link.is_closed() || !link.connection.is_open()) return void (queue.length = 0);
      while (queue.length && link.sendable() && attachWritten(link)) transferSettled(link, queue.shift()!);
      // Credit but no attach on the wire yet: rhea writes it on its next turn.
      if (queue.length && link.sendable()) setImmediate(flush);
    };
    replies = { queue, flush };
    waitingReplies.set(link, replies);
    link.on('sendable', flush);
  }
  replies.queue.push(message);
  replies.flush();
}

/**
 * Whether rhea has written this side's attach for the link. A link's credit can arrive (the
 * client's flow right behind its attach) before rhea writes the answer, and rhea would write a
 * transfer sent then ahead of the attach: the client ends the session (unattached handle).
 */
export function attachWritten(link: Sender | Receiver): boolean {
  return (link as unknown as { state: { open_requests: number } }).state.open_requests === 0;
}

function transferSettled(link: Sender, message: Message): void {
  // Before rhea writes the transfer (on its next turn): it goes out pre-settled.
  (link.send(message) as unknown as { settled: boolean }).settled = true;
}

export interface AmqpListenerOptions {
  logger: HostLogger;
  /** Shared access key name → key (the development key by default). */
  keys?: Record<string, string>;
  host?: string;
  now?: () => number;
  /**
   * How long a connection may take from TCP accept to the client's open frame (default 30 s). A
   * real client needs milliseconds for the headers, SASL and open, and its own operation timeout is
   * 60 s (@azure/service-bus); past this the socket is closed, so a peer that sends nothing, or half
   * a header or frame, cannot hold it.
   */
  handshakeTimeoutMs?: number;
  /**
   * The idle-time-out advertised in this side's open frame, and enforced: a connection that sends
   * nothing (not even the empty frames the SDKs send at half of it) for this long is closed with
   * amqp:resource-limit-exceeded. Service Bus advertises 120,000 ms.
   */
  idleTimeoutMs?: number;
  /** The max-frame-size advertised, and the largest frame accepted from a client: Service Bus' 65,536 bytes. */
  maxFrameSize?: number;
}

/**
 * rhea's decoder reads an AMQP array's items while fewer than its count field says (up to 2^32),
 * and items of a zero-width type (null, true, uint0…) take no bytes: ten bytes declaring 2^31
 * nulls run the process out of memory. An array cannot honestly hold more items than it has bytes
 * left, but for zero-width ones; those get a little slack, more is refused as a decode error. This
 * is rhea's module, shared by every rhea connection in the process (clients' included): a real
 * peer never sends such an array.
 */
const ZERO_WIDTH_SLACK = 4096;
const guarded = Symbol.for('local-azure.amqp.array-guard');
const rheaTypes = createRequire(require.resolve('rhea'))('./types.js') as {
  Reader: { prototype: { read_array_items(this: { remaining(): number }, n: number, type: unknown): unknown[]; [guarded]?: true } };
};
if (!rheaTypes.Reader.prototype[guarded]) {
  const readArrayItems = rheaTypes.Reader.prototype.read_array_items;
  rheaTypes.Reader.prototype.read_array_items = function (n, type) {
    if (n > this.remaining() + ZERO_WIDTH_SLACK) throw new RangeError(`an array of ${n} items in ${this.remaining()} bytes`);
    return readArrayItems.call(this, n, type);
  };
  rheaTypes.Reader.prototype[guarded] = true;
}

/** Service Bus' open frame: max-frame-size 65536, channel-max 4999, idle-time-out 120000. */
const SERVICE_BUS_OPEN = { maxFrameSize: 65_536, channelMax: 4_999, idleTimeoutMs: 120_000 };
const HANDSHAKE_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;
const SASL_WAIT_MS = 1_000;
/** How long a socket this side has ended may wait for the peer's end before it is destroyed. */
const LINGER_MS = 1_000;
const SASL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 3, 1, 0, 0]);
const AMQP_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 1, 0, 0]);
const PROTOCOL_NAME = SASL_HEADER.subarray(0, 4);

export interface AmqpError {
  condition: string;
  description: string;
}

/** What the gate needs of the connection it guards. */
interface GateHost {
  /** Hands checked bytes to rhea. */
  deliver(bytes: Buffer): void;
  /** Whether rhea has finished SASL (so an AMQP header after it may be read). */
  saslDone(): boolean;
  /** The bytes cannot be read: answer as the stage allows and close. */
  refuse(stage: 'header' | 'sasl' | 'amqp', error: AmqpError): void;
}

/**
 * Splits what a client sends at frame boundaries without decoding it, and refuses what AMQP 1.0
 * (part 2.2, 2.3) says cannot be: a protocol header other than SASL or AMQP 1.0.0, a frame whose
 * size is below the 8-byte frame header or above max-frame-size, a data offset below 2 or past
 * the frame's end, a SASL frame after SASL or an AMQP frame before it, a channel above
 * channel-max. Bytes are passed on as soon as they are known to belong to a well-formed frame.
 */
export class FrameGate {
  #stage: 'header' | 'sasl' | 'amqp' | 'done' = 'header';
  /** The bytes of a header or frame header not yet complete. */
  #head = Buffer.alloc(0);
  /** Bytes of the current frame's body still to pass on. */
  #remaining = 0;
  /** Bytes held back behind an AMQP header that came before rhea finished SASL (a pipelining client). */
  #held: Buffer | undefined;
  #saslFrames = 0;

  constructor(
    private readonly host: GateHost,
    private readonly limits: { maxFrameSize: number; channelMax: number },
  ) {}

  get stage(): 'header' | 'sasl' | 'amqp' | 'done' {
    return this.#stage;
  }

  get holding(): boolean {
    return this.#held !== undefined;
  }

  /** No more input will be read (refused, or the connection is going away). */
  stop(): void {
    this.#stage = 'done';
    this.#held = undefined;
  }

  feed(chunk: Buffer): void {
    if (this.#stage === 'done') return;
    if (this.#held) {
      this.#held = Buffer.concat([this.#held, chunk]);
      // What a pipelining client may send before SASL is answered is its open and a few frames, not more.
      if (this.#held.length > 2 * this.limits.maxFrameSize) {
        this.stop();
        this.host.refuse('sasl', { condition: 'amqp:connection:framing-error', description: 'too much sent before the SASL outcome' });
      }
      return;
    }
    const out: Buffer[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.#remaining > 0) {
        const n = Math.min(this.#remaining, chunk.length - at);
        out.push(chunk.subarray(at, at + n));
        this.#remaining -= n;
        at += n;
        continue;
      }
      const n = Math.min(8 - this.#head.length, chunk.length - at);
      this.#head = Buffer.concat([this.#head, chunk.subarray(at, at + n)]);
      at += n;
      const verdict = this.#check();
      if (verdict === 'more') continue;
      if (verdict === 'hold') {
        // The AMQP header after SASL, sent before rhea has answered the sasl-init (it does so a
        // tick later): rhea would read the header as a SASL frame 1 GiB long.
        this.#held = Buffer.concat([this.#head, chunk.subarray(at)]);
        this.#head = Buffer.alloc(0);
        break;
      }
      if (verdict !== 'ok') {
        this.#deliver(out);
        this.#stage = 'done';
        this.host.refuse(verdict.stage, verdict.error);
        return;
      }
      out.push(this.#head);
      this.#head = Buffer.alloc(0);
    }
    this.#deliver(out);
  }

  /** Called when rhea may have finished SASL: passes on what was held back. */
  resume(): boolean {
    if (!this.#held || !this.host.saslDone()) return false;
    const held = this.#held;
    this.#held = undefined;
    this.feed(held);
    return true;
  }

  #deliver(out: Buffer[]): void {
    if (out.length) this.host.deliver(out.length === 1 ? out[0]! : Buffer.concat(out));
  }

  /** Judges the bytes at a boundary: 'more' until they can be judged. */
  #check(): 'ok' | 'more' | 'hold' | { stage: 'header' | 'sasl' | 'amqp'; error: AmqpError } {
    const head = this.#head;
    const framing = (description: string) => ({ stage: this.#stage as 'header' | 'sasl' | 'amqp', error: { condition: 'amqp:connection:framing-error', description } });
    const isHeader = this.#stage === 'header' || (this.#stage === 'sasl' && head.subarray(0, Math.min(4, head.length)).equals(PROTOCOL_NAME.subarray(0, Math.min(4, head.length))));
    if (isHeader) {
      // A wrong byte in "AMQP" is refused at once: an HTTP request or a TLS hello need not wait for 8 bytes.
      if (!head.subarray(0, Math.min(4, head.length)).equals(PROTOCOL_NAME.subarray(0, Math.min(4, head.length)))) {
        return { stage: this.#stage === 'header' ? 'header' : 'sasl', error: { condition: 'amqp:connection:framing-error', description: 'not an AMQP protocol header' } };
      }
      if (head.length < 8) return 'more';
      if (this.#stage === 'header') {
        if (head.equals(SASL_HEADER)) this.#stage = 'sasl';
        else if (head.equals(AMQP_HEADER)) this.#stage = 'amqp';
        else return { stage: 'header', error: { condition: 'amqp:connection:framing-error', description: `unsupported protocol header ${head.toString('hex')}` } };
        return 'ok';
      }
      if (!head.equals(AMQP_HEADER)) return { stage: 'sasl', error: { condition: 'amqp:connection:framing-error', description: `unsupported protocol header after SASL ${head.toString('hex')}` } };
      if (!this.host.saslDone()) {
        // Only a sasl-init (ANONYMOUS: answered a tick later) is worth waiting for.
        if (this.#saslFrames === 0) return { stage: 'sasl', error: { condition: 'amqp:connection:framing-error', description: 'an AMQP header before any SASL frame' } };
        return 'hold';
      }
      this.#stage = 'amqp';
      return 'ok';
    }
    if (head.length < 4) return 'more';
    const size = head.readUInt32BE(0);
    if (size < 8) return framing(`frame size ${size} is below the frame header's 8 bytes`);
    if (size > this.limits.maxFrameSize) return framing(`frame size ${size} exceeds max-frame-size ${this.limits.maxFrameSize}`);
    if (head.length < 8) return 'more';
    const doff = head[4]!;
    const type = head[5]!;
    if (doff < 2 || doff * 4 > size) return framing(`data offset ${doff} does not fit a frame of ${size} bytes`);
    const expected = this.#stage === 'sasl' ? 1 : 0;
    if (type !== expected) return framing(`frame type ${type} where ${this.#stage === 'sasl' ? 'SASL (1)' : 'AMQP (0)'} frames are read`);
    if (type === 0 && head.readUInt16BE(6) > this.limits.channelMax) return framing(`channel ${head.readUInt16BE(6)} exceeds channel-max ${this.limits.channelMax}`);
    this.#remaining = size - 8;
    if (type === 1) this.#saslFrames++;
    return 'ok';
  }
}

/** rhea's connection internals the listener reads or drives (its typings leave them out). */
type RheaConnection = Connection & {
  accept(socket: Socket): void;
  input(bytes: Buffer): void;
  _process(): void;
  _disconnected(): void;
  saved_error?: unknown;
  state: { initialised: boolean; local_open: boolean; remote_open: boolean };
  sasl_transport?: { selected?: { transport?: { read_complete?: boolean } } };
  amqp_transport: { header_received?: unknown };
};

/** One accepted socket: its gate, its timers, and how it ends. */
interface Guarded {
  socket: Socket;
  connection: RheaConnection;
  gate: FrameGate;
  handshake?: NodeJS.Timeout;
  idle?: NodeJS.Timeout;
  resume?: NodeJS.Timeout;
  linger?: NodeJS.Timeout;
}

export class AmqpListener implements AmqpAccess {
  // Modified stays modified (Service Bus' abandon and defer differ by undeliverable-here);
  // deliveries are settled when the service has done what they ask (on disk), not when rhea's
  // handler returns.
  readonly #container = create_container({ id: 'local-azure', treat_modified_as_released: false, autosettle: false, autoaccept: false } as Parameters<typeof create_container>[0]);
  readonly #claims = new WeakMap<Connection, Claim[]>();
  readonly #services: AmqpService[] = [];
  readonly #closing = new AbortController();
  readonly #guarded = new Map<Connection, Guarded>();
  /** The connection whose bytes rhea is reading now: an error rhea reports meanwhile is that connection's. */
  #reading?: Guarded;
  readonly #limits: { maxFrameSize: number; channelMax: number; idleTimeoutMs: number; handshakeTimeoutMs: number };
  #server?: Server;

  constructor(private readonly o: AmqpListenerOptions) {
    this.#limits = {
      maxFrameSize: o.maxFrameSize ?? SERVICE_BUS_OPEN.maxFrameSize,
      channelMax: SERVICE_BUS_OPEN.channelMax,
      idleTimeoutMs: o.idleTimeoutMs ?? SERVICE_BUS_OPEN.idleTimeoutMs,
      handshakeTimeoutMs: o.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS,
    };
    this.#container.sasl_server_mechanisms.enable_anonymous();
    // Microsoft.Azure.Amqp (under the .NET SDKs) signs in with SASL MSSBCBS — anonymous in all but
    // name, the claims follow over CBS — and refuses a server that does not offer it.
    const mechanisms = this.#container.sasl_server_mechanisms as unknown as Record<string, unknown>;
    mechanisms.MSSBCBS = mechanisms.ANONYMOUS;
    this.#container.on('connection_open', (context: EventContext) => {
      const guarded = this.#guarded.get(context.connection);
      if (guarded?.handshake) clearTimeout(guarded.handshake);
    });
    this.#container.on('sender_open', (context: EventContext) => {
      attachAsAsked(context.sender!);
      this.#link(context, context.sender, context.sender?.source?.address, (s, a) => s.senderOpened(context, a));
    });
    this.#container.on('receiver_open', (context: EventContext) => {
      attachAsAsked(context.receiver!);
      this.#link(context, context.receiver, context.receiver?.target?.address, (s, a) => s.receiverOpened(context, a));
    });
    this.#container.on('message', (context: EventContext) => {
      const address = context.receiver?.target?.address;
      if (address === '$cbs') return this.#putToken(context);
      this.#link(context, context.receiver, address, (s, a) => s.message(context, a));
    });
    for (const outcome of ['accepted', 'rejected', 'released', 'modified'] as const) {
      this.#container.on(outcome, (context: EventContext) => this.#link(context, context.sender, context.sender?.source?.address, (s) => s.settled?.(context, outcome)));
    }
    // rhea reports a frame it could not decode or act on here (from within its reader, before it
    // ends the socket): the client is told why, as a close, when the connection got that far.
    const failed = (error: unknown) => {
      const e = error as Error | undefined;
      this.o.logger.log('debug', 'Host.AMQP', `AMQP: ${e?.name ?? 'Error'}: ${e?.message ?? String(error)}`);
      const reading = this.#reading;
      if (reading && reading.gate.stage === 'amqp') {
        reading.gate.stop();
        this.#closeWith(reading, conditionOf(e));
      }
    };
    this.#container.on('protocol_error', failed);
    this.#container.on('error', (context: EventContext | Error) => failed(context instanceof Error ? context : (context as EventContext)?.error));
    this.#container.on('disconnected', () => undefined);
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

  /** How many client connections are open now. */
  get connections(): number {
    return this.#guarded.size;
  }

  /** Listens (5672, the AMQP port, unless told otherwise; 0 for a free one); resolves with the port. */
  async listen(port = 5672): Promise<number> {
    const server = createServer((socket) => this.#accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host: this.o.host ?? '127.0.0.1' }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // Accept failures (too many open files) are the socket's, not the host's.
    server.on('error', (error) => this.o.logger.log('debug', 'Host.AMQP', `AMQP listener: ${error.message}`));
    this.#server = server;
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.#closing.abort();
    for (const service of this.#services) service.close?.();
    const closed = new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
    // server.close waits for every connection to end: a client that holds one open must not hold the host.
    for (const guarded of [...this.#guarded.values()]) guarded.socket.destroy();
    await closed;
  }

  #accept(socket: Socket): void {
    if (this.#closing.signal.aborted) {
      socket.destroy();
      return;
    }
    const { maxFrameSize, channelMax, idleTimeoutMs, handshakeTimeoutMs } = this.#limits;
    const connection = this.#container.create_connection({ max_frame_size: maxFrameSize, channel_max: channelMax, idle_time_out: idleTimeoutMs } as ConnectionOptions) as RheaConnection;
    connection.accept(socket);
    // rhea's own reader goes behind the gate.
    socket.removeAllListeners('data');
    const guarded: Guarded = {
      socket,
      connection,
      gate: new FrameGate(
        {
          deliver: (bytes) => this.#deliver(guarded, bytes),
          saslDone: () => connection.sasl_transport?.selected?.transport?.read_complete === true,
          refuse: (stage, error) => this.#refuse(guarded, stage, error),
        },
        { maxFrameSize, channelMax },
      ),
    };
    this.#guarded.set(connection, guarded);
    // rhea writes its frames on the next tick, outside its reader's try/catch: an exception there would be the process's.
    const processFrames = connection._process.bind(connection);
    connection._process = () => {
      try {
        this.#quietly(processFrames);
      } catch (error) {
        this.o.logger.log('debug', 'Host.AMQP', `AMQP: writing frames failed: ${(error as Error).message}`);
        guarded.gate.stop();
        socket.destroy();
      }
    };
    guarded.handshake = setTimeout(() => {
      this.o.logger.log('debug', 'Host.AMQP', `AMQP: no open frame within ${handshakeTimeoutMs} ms (${guarded.gate.stage}); closing the socket`);
      guarded.gate.stop();
      socket.end();
    }, handshakeTimeoutMs).unref();
    this.#armIdle(guarded);
    socket.on('data', (chunk: Buffer) => {
      this.#armIdle(guarded);
      guarded.gate.feed(chunk);
      if (guarded.gate.holding) this.#awaitSasl(guarded);
    });
    // Ended by this side (refused, idle, rhea after an error or a close): a peer that does not end
    // its side in turn is not waited for.
    socket.on('finish', () => {
      guarded.linger ??= setTimeout(() => socket.destroy(), LINGER_MS).unref();
    });
    socket.on('close', () => {
      for (const timer of [guarded.handshake, guarded.idle, guarded.resume, guarded.linger]) if (timer) clearTimeout(timer);
      guarded.gate.stop();
      this.#guarded.delete(connection);
      // rhea learns of a socket's end from 'end' or 'error' only: one destroyed here would leave its
      // heartbeat timers (twice the idle-time-out) holding the process. A server's connection is
      // not reconnected, so its links are over: rhea would call them disconnected-but-open, and a
      // service delivering while is_closed() is false would go on locking messages for nobody.
      try {
        connection._disconnected();
        connection.each_link((link: Sender | Receiver) => {
          (link as unknown as { state: { was_open?: boolean } }).state.was_open = false;
        });
      } catch (error) {
        this.o.logger.log('debug', 'Host.AMQP', `AMQP: ${(error as Error).message}`);
      }
    });
  }

  #armIdle(guarded: Guarded): void {
    if (guarded.idle) clearTimeout(guarded.idle);
    guarded.idle = setTimeout(() => {
      this.o.logger.log('debug', 'Host.AMQP', `AMQP: nothing received for ${this.#limits.idleTimeoutMs} ms; closing the connection`);
      guarded.gate.stop();
      this.#closeWith(guarded, { condition: 'amqp:resource-limit-exceeded', description: `The connection was inactive for more than the allowed ${this.#limits.idleTimeoutMs} milliseconds.` });
      guarded.socket.end();
    }, this.#limits.idleTimeoutMs).unref();
  }

  /**
   * An AMQP header came before rhea answered the sasl-init: read on once it has (a tick or two).
   * A SASL that does not end well within a second (a mechanism this side does not offer: the
   * outcome refuses it) ends the connection rather than a poll to the handshake deadline.
   */
  #awaitSasl(guarded: Guarded, since = Date.now()): void {
    if (guarded.resume) return;
    guarded.resume = setTimeout(() => {
      guarded.resume = undefined;
      if (guarded.gate.resume() || !guarded.gate.holding) return;
      if (Date.now() - since < SASL_WAIT_MS) return this.#awaitSasl(guarded, since);
      guarded.gate.stop();
      this.#refuse(guarded, 'sasl', { condition: 'amqp:unauthorized-access', description: 'SASL did not complete' });
    }, 5).unref();
  }

  #deliver(guarded: Guarded, bytes: Buffer): void {
    this.#reading = guarded;
    try {
      this.#quietly(() => guarded.connection.input(bytes));
    } catch (error) {
      // Thrown by a handler while rhea reported another error: the connection is beyond saving.
      this.o.logger.log('debug', 'Host.AMQP', `AMQP: ${(error as Error).message}`);
      guarded.gate.stop();
      guarded.socket.destroy();
    } finally {
      this.#reading = undefined;
    }
    // rhea caught an error and ended the socket: what else the client sends is not read.
    if (guarded.connection.saved_error !== undefined) guarded.gate.stop();
    else this.#boundPartialMessages(guarded);
  }

  /**
   * rhea joins the frames of a message sent in parts (transfers with more=true) without limit: a
   * message past the receiving link's max-message-size (Service Bus' 256 KB on an entity's link;
   * 1 MiB where none is set) ends the connection, as a client that ignores the size it was told
   * would go on sending.
   */
  #boundPartialMessages(guarded: Guarded): void {
    guarded.connection.each_receiver((receiver: Receiver) => {
      const link = receiver as unknown as { _incomplete?: { frames?: (Buffer | undefined)[] }; local: { attach: { max_message_size?: unknown } }; name: string };
      const frames = link._incomplete?.frames;
      if (!frames || guarded.gate.stage === 'done') return;
      const size = frames.reduce((n, f) => n + (f?.length ?? 0), 0);
      const limit = Number(link.local.attach.max_message_size) || DEFAULT_MAX_MESSAGE_BYTES;
      if (size <= limit) return;
      this.o.logger.log('debug', 'Host.AMQP', `AMQP: a message of over ${limit} bytes on link ${link.name}; closing the connection`);
      guarded.gate.stop();
      link._incomplete = undefined;
      this.#closeWith(guarded, { condition: 'amqp:link:message-size-exceeded', description: `The message on link '${link.name}' exceeds the link's max-message-size of ${limit} bytes.` });
      guarded.socket.end();
    });
  }

  /**
   * Runs rhea on what a client sent with its console warnings (an unknown terminus, a message
   * section it did not expect, an error on write) going to the host log at debug: otherwise any
   * client could write to the host's console at will. rhea runs synchronously here, so no one
   * else's console output is caught.
   */
  #quietly(run: () => void): void {
    const { warn, error } = console;
    console.warn = console.error = (...args: unknown[]) => this.o.logger.log('debug', 'Host.AMQP', `rhea: ${format(...args)}`);
    try {
      run();
    } finally {
      console.warn = warn;
      console.error = error;
    }
  }

  /**
   * Bytes the gate refused: a bad protocol header is answered with the header this side speaks
   * (AMQP 1.0 part 2.2); a bad frame after the AMQP header with a close naming the error; in
   * SASL there is no performative to say it in. Then the socket is ended.
   */
  #refuse(guarded: Guarded, stage: 'header' | 'sasl' | 'amqp', error: AmqpError): void {
    this.o.logger.log('debug', 'Host.AMQP', `AMQP: refused (${stage}): ${error.description}`);
    if (stage === 'header') guarded.socket.write(SASL_HEADER);
    else if (stage === 'amqp') this.#closeWith(guarded, error);
    guarded.socket.end();
  }

  /** Closes the AMQP connection with an error, now (an open first if this side had not sent one, as AMQP requires). */
  #closeWith(guarded: Guarded, error: AmqpError): void {
    const { connection, socket } = guarded;
    if (socket.writableEnded || socket.destroyed) return;
    try {
      if (!connection.state.initialised) connection.open();
      if (connection.state.local_open) connection.close(error);
      connection._process();
    } catch (e) {
      this.o.logger.log('debug', 'Host.AMQP', `AMQP: closing with ${error.condition} failed: ${(e as Error).message}`);
      socket.destroy();
    }
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
    return claim.expiresAt > this.now() && covers(claim.audience, entity);
  }

  /**
   * Hands a link event to the service that owns the address. A link without an address (or with
   * something other than text where the address goes) names no entity: refused as Service Bus
   * refuses a field it cannot use. Whatever a service throws, now or later, closes that link with
   * amqp:internal-error: the connection and its other links go on.
   */
  #link(context: EventContext, link: Sender | Receiver | undefined, address: unknown, to: (service: AmqpService, address: string) => unknown): void {
    if (address === '$cbs') return;
    const refuse = (error: AmqpError) => {
      try {
        if (link && !link.is_closed()) link.close(error);
      } catch (e) {
        this.o.logger.log('debug', 'Host.AMQP', `AMQP: closing a link failed: ${(e as Error).message}`);
      }
    };
    if (typeof address !== 'string') {
      // A settlement or message on such a link was refused at its attach already.
      if (context.delivery === undefined) refuse({ condition: 'amqp:invalid-field', description: 'The link names no address (source or target address missing or not a string).' });
      return;
    }
    const service = this.#services.find((s) => s.owns(address)) ?? this.#services.at(-1);
    if (!service) return;
    const failed = (error: unknown) => {
      this.o.logger.log('debug', 'Host.AMQP', `AMQP: ${address}: ${(error as Error)?.message ?? String(error)}`);
      refuse({ condition: 'amqp:internal-error', description: `The service could not process the request on ${address}.` });
    };
    try {
      const result = to(service, address);
      if (result instanceof Promise) result.catch(failed);
    } catch (error) {
      failed(error);
    }
  }

  /** CBS put-token: the reply goes to the client's reply-to link, correlated with its message id. */
  #putToken(context: EventContext): void {
    const request = context.message!;
    const props = (request.application_properties ?? {}) as Record<string, unknown>;
    const token = typeof request.body === 'string' ? request.body : Buffer.isBuffer(request.body) ? request.body.toString('utf8') : '';
    let verdict = props.operation === 'put-token' ? verifySas(token, this.o.keys ?? DEVELOPMENT_KEYS, this.now()) : 'the operation is not put-token';
    // The token must grant what the request names (the audience the client asks for): a valid
    // token for another entity is refused here, not only when a link to it attaches.
    if (typeof verdict !== 'string' && typeof props.name === 'string' && !covers(verdict.audience, grantedPath(props.name.toLowerCase()))) {
      verdict = `the token's audience ${verdict.audience} does not grant ${props.name}`;
    }
    context.delivery?.accept();
    const ok = typeof verdict !== 'string';
    if (typeof verdict !== 'string') {
      const claims = (this.#claims.get(context.connection) ?? []).filter((c) => c.expiresAt > this.now());
      claims.push(verdict);
      this.#claims.set(context.connection, claims);
    }
    const replyTo = request.reply_to;
    const reply: Message = {
      body: null,
      correlation_id: request.message_id,
      // An int, as Service Bus writes it: .NET casts it to int and refuses rhea's default (uint).
      application_properties: { 'status-code': types.wrap_int(ok ? 202 : 401), 'status-description': ok ? 'Accepted' : refusal(verdict as string) },
    };
    // The client's $cbs receiver: the one whose target is the reply-to address, else any on $cbs (clients open one).
    const replySender =
      context.connection.find_sender((s: Sender) => s.source?.address === '$cbs' && s.target?.address === replyTo) ?? context.connection.find_sender((s: Sender) => s.source?.address === '$cbs');
    if (replySender) sendSettled(replySender, { ...reply, ...(replyTo ? { to: replyTo } : {}) });
  }
}

/** A put-token refusal as Service Bus words it: the failure's name, then why. */
function refusal(reason: string): string {
  if (reason.includes('expired')) return `ExpiredToken: ${reason}`;
  if (reason.includes('audience')) return `InvalidAudience: ${reason}`;
  return `InvalidSignature: ${reason}`;
}

/** The AMQP error for what rhea could not decode or act on. */
function conditionOf(error: Error | undefined): AmqpError {
  const message = error?.message ?? 'unreadable frame';
  if (/Invalid handle/.test(message)) return { condition: 'amqp:session:unattached-handle', description: message };
  if (/already received|sequence error|after detach|on sending link|invalid channel|remote channel/i.test(message)) return { condition: 'amqp:illegal-state', description: message };
  if (error?.name === 'ProtocolError') return { condition: 'amqp:connection:framing-error', description: message };
  return { condition: 'amqp:decode-error', description: message };
}
