// Bad input on the AMQP endpoint, byte by byte from raw sockets: each gets what AMQP 1.0 and
// Service Bus answer — the protocol header this side speaks for a wrong one, a close naming
// amqp:connection:framing-error, amqp:decode-error, amqp:illegal-state or
// amqp:session:unattached-handle, a 401 on put-token for a token that does not hold, a detach
// naming amqp:not-found or amqp:unauthorized-access — or, where no performative can say it (in
// SASL, at the deadlines), a closed socket; never a socket held open or a host that stops
// answering. After each case a real @azure/service-bus client still sends and receives, and no
// connection is left behind. The deadlines are short here (500 ms to the open frame, 1.5 s idle)
// so the silent cases end quickly; the defaults are 30 s and Service Bus' 120 s.
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { ServiceBusClient } from '@azure/service-bus';
import { parseTopology } from '@backbone/azure-model/topology';
import { AmqpListener } from '../../src/amqp/listener';
import { ServiceBusAmqp } from '../../src/amqp/service-bus-amqp';
import { AMQP_HEADER, amqpFrame, decodeMessage, emptyFrame, encodeMessage, errorOf, readStream, SASL_HEADER, saslFrame, source, target, type ReadFrame, type ReadStream } from '../../src/amqp/wire';
import { EmbeddedBroker } from '../../src/broker/broker';
import { EntityTable } from '../../src/broker/entities';
import { systemClock } from '../../src/clock';
import { HostLogger, type LogRecord } from '../../src/host/logger';
import { GroupCommit, openDatabase } from '../../src/sqlite';

const TOPOLOGY = `
serviceBus:
  queues:
    - { name: orders }
  topics: []
`;
const HANDSHAKE_MS = 500;
const IDLE_MS = 1_500;

const db = openDatabase(':memory:');
const commit = new GroupCommit(db);
const broker = new EmbeddedBroker(db, new EntityTable(parseTopology(TOPOLOGY, 'test')), systemClock, commit, { sweepIntervalMs: 0 });
const logs: LogRecord[] = [];
const logger = new HostLogger({ default: 'none', 'Host.AMQP': 'debug' }, (r) => logs.push(r));
const listener = new AmqpListener({ logger, handshakeTimeoutMs: HANDSHAKE_MS, idleTimeoutMs: IDLE_MS });
listener.serve(new ServiceBusAmqp(broker, listener, logger));
let client: ServiceBusClient;
let port = 0;
const uncaught: unknown[] = [];
const recordUncaught = (error: unknown) => uncaught.push(error);

beforeAll(async () => {
  port = await listener.listen(0);
  client = new ServiceBusClient(`Endpoint=sb://localhost:${port};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;`, {
    retryOptions: { maxRetries: 0, timeoutInMs: 10_000 },
  });
  process.on('uncaughtException', recordUncaught);
});
afterAll(async () => {
  process.off('uncaughtException', recordUncaught);
  await client?.close();
  await listener.close();
  broker.close();
  commit.close();
  db.close();
});

let round = 0;
// The host is not stuck: a real client sends and receives; no connection is left open; nothing escaped as an uncaught exception.
afterEach(async () => {
  const id = `after-${++round}`;
  const sender = client.createSender('orders');
  await sender.sendMessages({ body: id, messageId: id });
  await sender.close();
  const receiver = client.createReceiver('orders', { receiveMode: 'receiveAndDelete' });
  const got = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5_000 });
  await receiver.close();
  expect(got.map((m) => m.body)).toEqual([id]);
  await until(() => listener.connections <= 1, 'the bad connections to be gone (the SDK keeps one)');
  expect(uncaught).toEqual([]);
});

async function until(probe: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A client that writes bytes and reads what comes back, frame by frame. */
class WireClient {
  readonly #got: Buffer[] = [];
  #closed = false;
  #wake: (() => void)[] = [];

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.#got.push(d);
      this.#notify();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.#closed = true;
      this.#notify();
    });
  }

  static async connect(): Promise<WireClient> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new WireClient(socket);
  }

  get bytes(): Buffer {
    return Buffer.concat(this.#got);
  }

  get stream(): ReadStream {
    return readStream(this.bytes);
  }

  get closed(): boolean {
    return this.#closed;
  }

  write(...bytes: Buffer[]): this {
    this.socket.write(Buffer.concat(bytes));
    return this;
  }

  #notify(): void {
    for (const wake of this.#wake.splice(0)) wake();
  }

  /** Waits until the frames read so far satisfy the probe; fails if the socket closes first or nothing comes. */
  async until<T>(probe: (s: ReadStream) => T | undefined, what: string, timeoutMs = 5_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = probe(this.stream);
      if (found !== undefined) return found;
      if (this.#closed) throw new Error(`The socket closed before ${what}; got ${show(this.stream)}`);
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}; got ${show(this.stream)}`);
      await new Promise<void>((resolve) => {
        this.#wake.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  /** Waits for the listener to close the socket (the test's timeout bounds it) and returns all it sent. */
  async end(): Promise<ReadStream> {
    while (!this.#closed) await new Promise<void>((resolve) => this.#wake.push(resolve));
    return this.stream;
  }

  /** The frame that matches, once it has come. */
  frame(name: string, match: (f: ReadFrame) => boolean = () => true): Promise<ReadFrame> {
    return this.until((s) => s.frames.find((f) => f.name === name && match(f)), `a ${name} frame`);
  }
}

function show(s: ReadStream): string {
  return JSON.stringify({ headers: s.headers.map((h) => h.toString('hex')), frames: s.frames.map((f) => [f.name ?? 'empty', errorOf(f)?.condition]), rest: s.rest.length });
}

const OPEN = () => Buffer.concat([SASL_HEADER, saslFrame('sasl_init', { mechanism: 'ANONYMOUS' }), AMQP_HEADER, amqpFrame(0, 'open', { container_id: 'bad-input' })]);
const BEGIN = amqpFrame(0, 'begin', { next_outgoing_id: 0, incoming_window: 2048, outgoing_window: 2048 });

/** A connection through SASL and open, as far as the listener's open frame. */
async function opened(): Promise<WireClient> {
  const c = await WireClient.connect();
  c.write(OPEN());
  await c.frame('open');
  return c;
}

/** The close the listener sent, after which it closed the socket. */
async function closeOf(c: WireClient): Promise<{ condition?: string; description?: string } | undefined> {
  const s = await c.end();
  const close = s.frames.find((f) => f.name === 'close');
  expect(close).toBeDefined();
  return errorOf(close);
}

const lastLog = () => logs.at(-1)?.message ?? '';

describe('the protocol header', () => {
  test.each([
    ['an HTTP request', Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n')],
    ['a TLS client hello', Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03])],
    ['AMQP 0-9-1', Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1])],
    ['AMQP over TLS (protocol id 2)', Buffer.from([0x41, 0x4d, 0x51, 0x50, 2, 1, 0, 0])],
    ['AMQP 2.0', Buffer.from([0x41, 0x4d, 0x51, 0x50, 3, 2, 0, 0])],
    ['random bytes', Buffer.from('d1f2a3b4c5d6e7f8091a2b3c', 'hex')],
  ])('%s is answered with the SASL protocol header, and the socket is closed', async (_what, bytes) => {
    const c = await WireClient.connect();
    c.write(bytes);
    const s = await c.end();
    expect(s.headers).toEqual([SASL_HEADER]);
    expect(s.frames).toEqual([]);
    expect(s.rest.length).toBe(0);
  });

  test('a wrong header after SASL is refused, and the socket closed without an AMQP header', async () => {
    const c = await WireClient.connect();
    c.write(SASL_HEADER, saslFrame('sasl_init', { mechanism: 'ANONYMOUS' }));
    await c.frame('sasl-outcome');
    c.write(Buffer.from([0x41, 0x4d, 0x51, 0x50, 3, 1, 0, 0]));
    const s = await c.end();
    expect(s.headers).toEqual([SASL_HEADER]);
    expect(lastLog()).toMatch(/unsupported protocol header after SASL/);
  });

  test('the AMQP header straight after the SASL header, before any SASL frame: refused, the socket closed', async () => {
    const c = await WireClient.connect();
    c.write(SASL_HEADER, AMQP_HEADER, amqpFrame(0, 'open', { container_id: 'too-soon' }));
    const s = await c.end();
    expect(s.headers).toEqual([SASL_HEADER]);
    expect(s.frames.map((f) => f.name)).toEqual(['sasl-mechanisms']);
    expect(lastLog()).toMatch(/an AMQP header before any SASL frame/);
  });

  test('a mechanism this side does not offer, then the AMQP header and open: the outcome refuses it, and the socket is closed', async () => {
    const c = await WireClient.connect();
    c.write(SASL_HEADER, saslFrame('sasl_init', { mechanism: 'PLAIN', initial_response: Buffer.from('\0user\0pass') }), AMQP_HEADER, amqpFrame(0, 'open', { container_id: 'plain' }));
    const s = await c.end();
    expect(s.frames.map((f) => [f.name, f.performative?.code])).toEqual([
      ['sasl-mechanisms', undefined],
      ['sasl-outcome', 1],
    ]);
    expect(s.headers).toEqual([SASL_HEADER]);
  });

  test('the SASL and AMQP headers, SASL and open sent at once (pipelined) are read in turn', async () => {
    const c = await opened();
    const s = c.stream;
    expect(s.headers).toEqual([SASL_HEADER, AMQP_HEADER]);
    expect(s.frames.map((f) => f.name)).toEqual(['sasl-mechanisms', 'sasl-outcome', 'open']);
    // What this side advertises: Service Bus' max-frame-size and channel-max, and the idle-time-out it enforces.
    const open = s.frames[2]!.performative!;
    expect(open).toMatchObject({ max_frame_size: 65_536, channel_max: 4_999, idle_time_out: IDLE_MS });
    c.socket.destroy();
  });
});

describe('silence', () => {
  test('half a protocol header, then nothing: the socket is closed at the handshake deadline', async () => {
    const c = await WireClient.connect();
    c.write(Buffer.from('AMQ'));
    const s = await c.end();
    expect(s.headers).toEqual([]);
    expect(lastLog()).toMatch(/no open frame within 500 ms \(header\)/);
  });

  test('nothing at all: the socket is closed at the handshake deadline', async () => {
    const c = await WireClient.connect();
    await c.end();
    expect(lastLog()).toMatch(/no open frame within 500 ms/);
  });

  test('the SASL header and half a SASL frame: closed at the handshake deadline, after the mechanisms were offered', async () => {
    const c = await WireClient.connect();
    c.write(SASL_HEADER, saslFrame('sasl_init', { mechanism: 'ANONYMOUS' }).subarray(0, 10));
    const s = await c.end();
    expect(s.frames.map((f) => f.name)).toEqual(['sasl-mechanisms']);
    expect(lastLog()).toMatch(/no open frame within 500 ms \(sasl\)/);
  });

  test('after open, half a frame and silence: closed when idle, with amqp:resource-limit-exceeded', async () => {
    const c = await opened();
    c.write(BEGIN.subarray(0, 6));
    expect(await closeOf(c)).toMatchObject({ condition: 'amqp:resource-limit-exceeded' });
  });

  test('empty frames keep an idle connection open (what the SDKs send at half the idle-time-out)', async () => {
    const c = await opened();
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, IDLE_MS / 2));
      c.write(emptyFrame());
    }
    expect(c.closed).toBe(false);
    c.write(amqpFrame(0, 'close', {}));
    expect(await closeOf(c)).toBeUndefined();
  });
});

describe('frames the gate refuses', () => {
  test('a frame over max-frame-size after open: close with amqp:connection:framing-error', async () => {
    const c = await opened();
    const header = Buffer.from([0, 0, 0, 0, 2, 0, 0, 0]);
    header.writeUInt32BE(65_537);
    c.write(header, Buffer.alloc(100));
    expect(await closeOf(c)).toEqual({ condition: 'amqp:connection:framing-error', description: 'frame size 65537 exceeds max-frame-size 65536' });
  });

  test('a size of 4 GiB in SASL: the socket is closed at once (no performative can say it), not after reading 4 GiB', async () => {
    const c = await WireClient.connect();
    c.write(SASL_HEADER, Buffer.from([0xff, 0xff, 0xff, 0xff, 2, 1, 0, 0]));
    const s = await c.end();
    expect(s.frames.map((f) => f.name)).toEqual(['sasl-mechanisms']);
    expect(lastLog()).toMatch(/refused \(sasl\): frame size 4294967295 exceeds max-frame-size/);
  });

  test.each([
    ['a size below the frame header', Buffer.from([0, 0, 0, 4, 2, 0, 0, 0]), /frame size 4 is below/],
    ['a data offset below 2', Buffer.from([0, 0, 0, 8, 1, 0, 0, 0]), /data offset 1/],
    ['a data offset past the frame', Buffer.from([0, 0, 0, 12, 200, 0, 0, 0, 0, 0, 0, 0]), /data offset 200/],
    ['a SASL frame after SASL', saslFrame('sasl_init', { mechanism: 'ANONYMOUS' }), /frame type 1 where AMQP/],
    ['an unknown frame type', Buffer.from([0, 0, 0, 8, 2, 7, 0, 0]), /frame type 7/],
    ['a channel above channel-max', amqpFrame(60_000, 'begin', { next_outgoing_id: 0, incoming_window: 1, outgoing_window: 1 }), /channel 60000 exceeds channel-max 4999/],
    ['a second AMQP header', AMQP_HEADER, /frame size 1095586128 exceeds/],
  ])('%s after open: close with amqp:connection:framing-error', async (_what, bytes, why) => {
    const c = await opened();
    c.write(bytes);
    const error = await closeOf(c);
    expect(error?.condition).toBe('amqp:connection:framing-error');
    expect(error?.description).toMatch(why);
  });
});

describe('malformed frames after open', () => {
  // What rhea cannot decode or act on: the listener closes the connection naming why, and only that connection.
  test.each([
    ['a performative that is not one', 'amqp:decode-error', Buffer.concat([BEGIN, Buffer.from([0, 0, 0, 12, 2, 0, 0, 0, 0x00, 0x53, 0x77, 0x45])])],
    ['a described list cut short', 'amqp:decode-error', Buffer.concat([BEGIN, Buffer.from([0, 0, 0, 14, 2, 0, 0, 0, 0x00, 0x53, 0x11, 0xc0, 0x20, 0x05])])],
    ['a value of an unknown type code', 'amqp:decode-error', Buffer.concat([BEGIN, Buffer.from([0, 0, 0, 11, 2, 0, 0, 0, 0x00, 0x53, 0x02])])],
    // A begin whose one field is an array of 2^31 nulls in ten bytes: rhea would fill the heap with them.
    ['an array of 2^31 zero-width items', 'amqp:decode-error', Buffer.from([0, 0, 0, 24, 2, 0, 0, 0, 0x00, 0x53, 0x11, 0xc0, 0x0b, 0x01, 0xf0, 0, 0, 0, 5, 0x7f, 0xff, 0xff, 0xff, 0x40])],
    [
      'a transfer on a handle never attached',
      'amqp:session:unattached-handle',
      Buffer.concat([BEGIN, amqpFrame(0, 'transfer', { handle: 7, delivery_id: 0, delivery_tag: Buffer.from('t') }, Buffer.from('x'))]),
    ],
    ['an attach on a channel never begun', 'amqp:illegal-state', amqpFrame(3, 'attach', { name: 'x', handle: 0, role: false, source: source('x'), target: target('orders') })],
    ['a second open', 'amqp:illegal-state', amqpFrame(0, 'open', { container_id: 'again' })],
    ['a begin answering a session never begun here', 'amqp:illegal-state', amqpFrame(0, 'begin', { remote_channel: 9, next_outgoing_id: 0, incoming_window: 1, outgoing_window: 1 })],
  ])('%s: close with %s', async (_what, condition, bytes) => {
    const c = await opened();
    c.write(bytes);
    expect((await closeOf(c))?.condition).toBe(condition);
  });

  test('wrong types in the fields of an attach: the link is refused, the connection goes on', async () => {
    const c = await opened();
    c.write(BEGIN, amqpFrame(0, 'attach', { name: 'numbers', handle: 0, role: false, source: source('x'), target: { not: 'a target' }, initial_delivery_count: 0 }));
    const detach = await c.frame('detach');
    expect(errorOf(detach)?.condition).toBe('amqp:invalid-field');
    c.write(amqpFrame(0, 'close', {}));
    expect(await closeOf(c)).toBeUndefined();
  });
});

// ------------------------------------------------------------------- CBS and links on the wire

const KEY = 'SAS_KEY_VALUE';

function sasToken(audience: string, options: { key?: string; expiresInS?: number; keyName?: string } = {}): string {
  const sr = encodeURIComponent(audience);
  const se = Math.floor(Date.now() / 1000) + (options.expiresInS ?? 3600);
  const sig = encodeURIComponent(
    createHmac('sha256', options.key ?? KEY)
      .update(`${sr}\n${se}`)
      .digest('base64'),
  );
  return `SharedAccessSignature sr=${sr}&sig=${sig}&se=${se}&skn=${options.keyName ?? 'RootManageSharedAccessKey'}`;
}

/** A session with the $cbs links the SDKs open (a sender to $cbs, a receiver for the replies, with credit). */
async function withCbs(): Promise<{ c: WireClient; putToken(token: string, name: string): Promise<Record<string, unknown>>; attachSender(address: string): Promise<ReadFrame> }> {
  const c = await opened();
  c.write(
    BEGIN,
    amqpFrame(0, 'attach', { name: 'cbs-out', handle: 0, role: false, source: source('cbs-out'), target: target('$cbs'), initial_delivery_count: 0 }),
    amqpFrame(0, 'attach', { name: 'cbs-in', handle: 1, role: true, source: source('$cbs'), target: target('cbs-reply') }),
    amqpFrame(0, 'flow', { next_incoming_id: 0, incoming_window: 2048, next_outgoing_id: 0, outgoing_window: 2048, handle: 1, delivery_count: 0, link_credit: 10 }),
  );
  await c.frame('flow', (f) => f.performative?.handle !== undefined && Number(f.performative.link_credit) > 0);
  let deliveryId = 0;
  let handle = 2;
  return {
    c,
    async putToken(token, name) {
      const id = `put-${deliveryId}`;
      const message = encodeMessage({ body: token, message_id: id, reply_to: 'cbs-reply', application_properties: { operation: 'put-token', type: 'servicebus.windows.net:sastoken', name } });
      c.write(amqpFrame(0, 'transfer', { handle: 0, delivery_id: deliveryId, delivery_tag: Buffer.from(String(deliveryId)), message_format: 0, settled: false }, message));
      deliveryId++;
      const reply = await c.until(
        (s) =>
          s.frames
            .filter((f) => f.name === 'transfer' && f.payload)
            .map((f) => decodeMessage(f.payload!))
            .find((m) => m.correlation_id === id),
        `the reply to ${id}`,
      );
      return reply.application_properties as Record<string, unknown>;
    },
    async attachSender(address) {
      const name = `send-${handle}`;
      c.write(amqpFrame(0, 'attach', { name, handle: handle++, role: false, source: source(name), target: target(address), initial_delivery_count: 0 }));
      return c.frame('detach', (f) => f.performative?.error !== undefined || f.performative?.closed === true);
    },
  };
}

const audience = (entity: string) => `sb://localhost:${port}/${entity}`;

describe('CBS and links', () => {
  test('a link to an entity that does not exist: detached with amqp:not-found', async () => {
    const { c, putToken, attachSender } = await withCbs();
    expect(await putToken(sasToken(`sb://localhost:${port}/`), `sb://localhost:${port}/`)).toMatchObject({ 'status-code': 202 });
    expect(errorOf(await attachSender('no-such-queue'))?.condition).toBe('amqp:not-found');
    c.socket.destroy();
  });

  test.each([
    ['signed with another key', () => sasToken(audience('orders'), { key: 'not-the-key' }), /^InvalidSignature: the signature does not match/],
    ['expired', () => sasToken(audience('orders'), { expiresInS: -60 }), /^ExpiredToken: /],
    ['for another entity (the wrong audience)', () => sasToken(audience('other')), /^InvalidAudience: /],
    ['with a key name the namespace does not have', () => sasToken(audience('orders'), { keyName: 'Nobody' }), /^InvalidSignature: no key named Nobody/],
    ['not a SharedAccessSignature', () => 'Bearer abc.def.ghi', /^InvalidSignature: not a SharedAccessSignature/],
    ['without a signature', () => 'SharedAccessSignature sr=x&se=1', /^InvalidSignature: the token lacks/],
    ['with an audience that is not percent-encoding', () => sasToken('%E0%A4%A').replace(/sr=[^&]*/, 'sr=%E0%A4%A'), /^InvalidSignature: /],
  ])('a token %s: 401 on put-token, then amqp:unauthorized-access when the link attaches', async (_what, token, description) => {
    const { c, putToken, attachSender } = await withCbs();
    const reply = await putToken(token(), audience('orders'));
    expect(reply['status-code']).toBe(401);
    expect(String(reply['status-description'])).toMatch(description);
    expect(errorOf(await attachSender('orders'))?.condition).toBe('amqp:unauthorized-access');
    c.socket.destroy();
  });

  test('a put-token whose body is not text: 401, and the connection goes on', async () => {
    const { c, putToken } = await withCbs();
    expect(await putToken({ not: 'text' } as unknown as string, audience('orders'))).toMatchObject({ 'status-code': 401 });
    expect(await putToken(sasToken(audience('orders')), audience('orders'))).toMatchObject({ 'status-code': 202 });
    c.socket.destroy();
  });
});

test("a message sent in parts past the link's max-message-size (256 KB): the connection is closed with amqp:link:message-size-exceeded", async () => {
  const { c, putToken } = await withCbs();
  expect(await putToken(sasToken(audience('orders')), audience('orders'))).toMatchObject({ 'status-code': 202 });
  c.write(amqpFrame(0, 'attach', { name: 'big', handle: 4, role: false, source: source('big'), target: target('orders'), initial_delivery_count: 0 }));
  const attach = await c.frame('attach', (f) => f.performative?.name === 'big');
  expect(Number(attach.performative!.max_message_size)).toBe(256 * 1024);
  await c.frame('flow', (f) => f.performative?.handle !== undefined && Number(f.performative.handle) === Number(attach.performative!.handle));
  // The delivery ids go on from the put-token's (0).
  const part = Buffer.alloc(60_000, 0x61);
  for (let i = 0; i < 5; i++) c.write(amqpFrame(0, 'transfer', { handle: 4, ...(i === 0 ? { delivery_id: 1, delivery_tag: Buffer.from('big'), message_format: 0 } : {}), more: true }, part));
  expect((await closeOf(c))?.condition).toBe('amqp:link:message-size-exceeded');
  expect(broker.peek('orders')).toEqual([]);
});

describe('many connections', () => {
  test('300 connections opened and dropped at every stage leave none behind', async () => {
    const stages = [
      Buffer.alloc(0),
      SASL_HEADER,
      Buffer.concat([SASL_HEADER, saslFrame('sasl_init', { mechanism: 'ANONYMOUS' })]),
      OPEN(),
      Buffer.concat([OPEN(), BEGIN]),
      Buffer.concat([OPEN(), BEGIN.subarray(0, 9)]),
    ];
    const clients = await Promise.all(
      Array.from({ length: 300 }, async (_, i) => {
        const c = await WireClient.connect();
        c.write(stages[i % stages.length]!);
        return c;
      }),
    );
    await new Promise((r) => setTimeout(r, 50));
    for (const [i, c] of clients.entries())
      if (i % 2) c.socket.destroy();
      else c.socket.end();
    await until(() => listener.connections <= 1, 'the dropped connections to be gone');
  });

  test('a receiver whose connection drops takes no more messages: the next receiver gets them', async () => {
    const { c, putToken } = await withCbs();
    expect(await putToken(sasToken(audience('orders')), audience('orders'))).toMatchObject({ 'status-code': 202 });
    c.write(
      amqpFrame(0, 'attach', { name: 'drop-me', handle: 5, role: true, source: source('orders'), target: target('drop-me'), snd_settle_mode: 1 }),
      amqpFrame(0, 'flow', { next_incoming_id: 0, incoming_window: 2048, next_outgoing_id: 1, outgoing_window: 2048, handle: 5, delivery_count: 0, link_credit: 50 }),
    );
    await c.frame('attach', (f) => f.performative?.name === 'drop-me');
    // The link delivers while its connection is there…
    await broker.send('orders', [{ body: Buffer.from('"first"'), messageId: 'to-the-dropped' }]);
    await c.frame('transfer', (f) => f.payload !== undefined && decodeMessage(f.payload).message_id === 'to-the-dropped');
    c.socket.destroy();
    await until(() => listener.connections <= 1, 'the dropped connection to be gone');
    // …and not after: a delivery loop left on the dropped link would lock this one for nobody (and the afterEach's too).
    await new Promise((r) => setTimeout(r, 300));
    await broker.send('orders', [{ body: Buffer.from('"second"'), messageId: 'after-the-drop' }]);
    await new Promise((r) => setTimeout(r, 500));
    expect(broker.peek('orders', { maxMessageCount: 10 }).map((m) => [m.messageId, m.state])).toEqual([['after-the-drop', 'active']]);
    const receiver = client.createReceiver('orders', { receiveMode: 'receiveAndDelete' });
    expect((await receiver.receiveMessages(1, { maxWaitTimeInMs: 2_000 })).map((m) => m.messageId)).toEqual(['after-the-drop']);
    await receiver.close();
  });
});

describe('the process', () => {
  // Run where nothing catches an uncaught exception (jest would report one as a test failure but
  // keep going): a child node process with the listener alone, fed every bad input above, must
  // still answer a well-formed conversation after them.
  test('a listener in a process without an uncaughtException handler survives every case above', async () => {
    const script = `
      const { AmqpListener } = require(${JSON.stringify(join(__dirname, '../../src/amqp/listener.js'))});
      const { HostLogger } = require(${JSON.stringify(join(__dirname, '../../src/host/logger.js'))});
      if (process.listenerCount('uncaughtException') !== 0) throw new Error('a handler is installed');
      const l = new AmqpListener({ logger: new HostLogger({ default: 'none' }), handshakeTimeoutMs: 300, idleTimeoutMs: 600 });
      l.listen(0).then((p) => console.log(p));
    `;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const childPort = await new Promise<number>((resolve, reject) => {
      child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
      child.once('exit', () => reject(new Error(`the child exited: ${stderr}`)));
    });
    const inputs = [
      Buffer.from('GET / HTTP/1.1\r\n\r\n'),
      Buffer.from([0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0]),
      Buffer.concat([SASL_HEADER, Buffer.from([0xff, 0xff, 0xff, 0xff])]),
      Buffer.concat([OPEN(), BEGIN, Buffer.from([0, 0, 0, 12, 2, 0, 0, 0, 0x00, 0x53, 0x77, 0x45])]),
      Buffer.concat([OPEN(), BEGIN, Buffer.from([0, 0, 0, 14, 2, 0, 0, 0, 0x00, 0x53, 0x11, 0xc0, 0x20, 0x05])]),
      Buffer.concat([OPEN(), BEGIN, amqpFrame(0, 'transfer', { handle: 7, delivery_id: 0, delivery_tag: Buffer.from('t') }, Buffer.from('x'))]),
      Buffer.concat([OPEN(), amqpFrame(0, 'open', {})]),
      Buffer.concat([OPEN(), Buffer.from([0, 0, 0, 24, 2, 0, 0, 0, 0x00, 0x53, 0x11, 0xc0, 0x0b, 0x01, 0xf0, 0, 0, 0, 5, 0x7f, 0xff, 0xff, 0xff, 0x40])]),
      Buffer.concat([OPEN(), BEGIN, amqpFrame(0, 'attach', { name: 'n', handle: 0, role: true, source: source('x'), target: 5 })]),
      Buffer.concat([OPEN(), BEGIN.subarray(0, 9)]),
    ];
    for (const bytes of inputs) {
      const socket = connect(childPort, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.resume();
      socket.write(bytes);
      await new Promise<void>((resolve) => socket.on('close', () => resolve()));
    }
    const good = connect(childPort, '127.0.0.1');
    const got: Buffer[] = [];
    good.on('data', (d: Buffer) => got.push(d));
    good.write(OPEN());
    await until(() => readStream(Buffer.concat(got)).frames.some((f) => f.name === 'open'), 'the open frame from the child');
    good.destroy();
    child.kill();
    await exited;
    expect(stderr).toBe('');
  });
});
