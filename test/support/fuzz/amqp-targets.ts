// The local Azure's AMQP endpoint fed hostile bytes: valid AMQP conversations (protocol headers,
// SASL ANONYMOUS, open, begin, attach, flow, transfer, CBS put-token, $management, detach, end,
// close — encoded with rhea's own frame codec) mutated by bit flips, truncations, splices of two
// conversations, length fields that lie, frames swapped or repeated, random frame bodies, arrays
// of zero-width items with any count, and inserted bytes, plus random bytes after a valid prefix or alone; sent on a fresh connection, in
// one write or several. Every connection must end within a bound: closed by the listener (with
// the protocol header, a close naming the error, or silently), or closed once the client ends its
// side; one input in twenty is left open without the client's end, and the listener's own
// deadlines must close it. An uncaught exception would end the process (nothing here catches one:
// the monitor only names the input that did it). After the runs a real @azure/service-bus client
// still round-trips a message and no connection is left open. The deadlines are short for the
// run (150 ms to the open frame, 300 ms idle) so a silent input costs little.
import { createHmac } from 'node:crypto';
import { connect } from 'node:net';
import fc from 'fast-check';
import { ServiceBusClient } from '@azure/service-bus';
import { parseTopology } from '@backbone/azure-model/topology';
import { AmqpListener } from '@backbone/local-azure/amqp/listener';
import { ServiceBusAmqp } from '@backbone/local-azure/amqp/service-bus-amqp';
import { AMQP_HEADER, amqpFrame, emptyFrame, encodeMessage, errorOf, readStream, SASL_HEADER, saslFrame, source, target } from '@backbone/local-azure/amqp/wire';
import { EmbeddedBroker } from '@backbone/local-azure/broker/broker';
import { EntityTable } from '@backbone/local-azure/broker/entities';
import { systemClock } from '@backbone/local-azure/clock';
import { HostLogger, type LogRecord } from '@backbone/local-azure/host/logger';
import { GroupCommit, openDatabase } from '@backbone/local-azure/sqlite';
import type { FuzzTarget } from './runner';

const HANDSHAKE_MS = 150;
const IDLE_MS = 300;
/** How long the listener may take to close once the client has ended its side. */
const AFTER_END_MS = 2_000;
/** How long a connection left open may last: the later deadline, the socket's linger and slack for a loaded machine. */
const LEFT_OPEN_MS = Math.max(HANDSHAKE_MS, IDLE_MS) + 1_000 + 1_500;
/** No bytes for this long after the last: the listener has answered what it will answer. */
const QUIET_MS = 15;

// ------------------------------------------------------------------------------ conversations

/** A namespace-wide token, valid for a day: CBS conversations get past put-token. */
function namespaceToken(): string {
  const sr = encodeURIComponent('sb://localhost/');
  const se = Math.floor(Date.now() / 1000) + 86_400;
  const sig = encodeURIComponent(createHmac('sha256', 'SAS_KEY_VALUE').update(`${sr}\n${se}`).digest('base64'));
  return `SharedAccessSignature sr=${sr}&sig=${sig}&se=${se}&skn=RootManageSharedAccessKey`;
}

const OPEN = [
  SASL_HEADER,
  saslFrame('sasl_init', { mechanism: 'ANONYMOUS', hostname: 'localhost' }),
  AMQP_HEADER,
  amqpFrame(0, 'open', { container_id: 'fuzz', hostname: 'localhost', max_frame_size: 65_536, idle_time_out: 60_000 }),
];
const BEGIN = amqpFrame(0, 'begin', { next_outgoing_id: 0, incoming_window: 2048, outgoing_window: 2048 });
const CLOSE = amqpFrame(0, 'close', {});
const transfer = (handle: number, id: number, body: Buffer) => amqpFrame(0, 'transfer', { handle, delivery_id: id, delivery_tag: Buffer.from(String(id)), message_format: 0, settled: false }, body);
const flow = (handle: number, credit: number) =>
  amqpFrame(0, 'flow', { next_incoming_id: 0, incoming_window: 2048, next_outgoing_id: 0, outgoing_window: 2048, handle, delivery_count: 0, link_credit: credit });

/** Valid conversations, each a list of its headers and frames (a mutation keeps to or cuts at their boundaries). */
function conversations(): Buffer[][] {
  const message = encodeMessage({ body: 'fuzz', message_id: 'fuzz-1', application_properties: { n: 1 } });
  const putToken = encodeMessage({
    body: namespaceToken(),
    message_id: 'put-1',
    reply_to: 'cbs-reply',
    application_properties: { operation: 'put-token', type: 'servicebus.windows.net:sastoken', name: 'sb://localhost/orders' },
  });
  const peek = encodeMessage({
    body: { 'from-sequence-number': 0, 'message-count': 1 },
    message_id: 'mgmt-1',
    reply_to: 'mgmt-reply',
    application_properties: { operation: 'com.microsoft:peek-message' },
  });
  return [
    [...OPEN],
    [...OPEN, BEGIN, amqpFrame(0, 'end', {}), CLOSE],
    [AMQP_HEADER, amqpFrame(0, 'open', { container_id: 'no-sasl' }), BEGIN, emptyFrame(), CLOSE],
    // A send without a token: refused at the attach, then a transfer on the refused link.
    [...OPEN, BEGIN, amqpFrame(0, 'attach', { name: 's', handle: 0, role: false, source: source('s'), target: target('orders'), initial_delivery_count: 0 }), transfer(0, 0, message), CLOSE],
    // CBS, then a send and a receive on the queue.
    [
      ...OPEN,
      BEGIN,
      amqpFrame(0, 'attach', { name: 'cbs-out', handle: 0, role: false, source: source('cbs-out'), target: target('$cbs'), initial_delivery_count: 0 }),
      amqpFrame(0, 'attach', { name: 'cbs-in', handle: 1, role: true, source: source('$cbs'), target: target('cbs-reply') }),
      flow(1, 10),
      transfer(0, 0, putToken),
      amqpFrame(0, 'attach', { name: 'send', handle: 2, role: false, source: source('send'), target: target('orders'), initial_delivery_count: 0 }),
      transfer(2, 1, message),
      amqpFrame(0, 'attach', { name: 'recv', handle: 3, role: true, source: source('orders'), target: target('recv'), snd_settle_mode: 1 }),
      flow(3, 5),
      amqpFrame(0, 'disposition', { role: true, first: 0, last: 1, settled: true }),
      amqpFrame(0, 'detach', { handle: 3, closed: true }),
      amqpFrame(0, 'end', {}),
      CLOSE,
    ],
    // CBS, then $management: the request and reply links and a peek.
    [
      ...OPEN,
      BEGIN,
      amqpFrame(0, 'attach', { name: 'cbs-out', handle: 0, role: false, source: source('cbs-out'), target: target('$cbs'), initial_delivery_count: 0 }),
      amqpFrame(0, 'attach', { name: 'cbs-in', handle: 1, role: true, source: source('$cbs'), target: target('cbs-reply') }),
      flow(1, 10),
      transfer(0, 0, putToken),
      amqpFrame(0, 'attach', { name: 'mgmt-out', handle: 2, role: false, source: source('mgmt-out'), target: target('orders/$management'), initial_delivery_count: 0 }),
      amqpFrame(0, 'attach', { name: 'mgmt-in', handle: 3, role: true, source: source('orders/$management'), target: target('mgmt-reply') }),
      flow(3, 10),
      transfer(2, 1, peek),
      CLOSE,
    ],
  ];
}

// ------------------------------------------------------------------------------ mutations

interface AmqpInput {
  how: string;
  bytes: Uint8Array;
  /** Where the bytes are cut into separate writes. */
  cuts: number[];
  /** Left open without the client's end: the listener's deadlines must close it. */
  leftOpen: boolean;
}

const concat = (parts: Uint8Array[]) => Buffer.concat(parts);
const at = <T>(list: T[], n: number): T => list[n % list.length]!;

function mutations(convs: Buffer[][]): fc.Arbitrary<{ how: string; bytes: Uint8Array }> {
  const conv = fc.constantFrom(...convs);
  const sizes = fc.oneof(fc.constantFrom(0, 1, 7, 8, 9, 512, 65_536, 65_537, 0x7fffffff, 0xffffffff), fc.nat(), fc.integer({ min: 8, max: 300 }));
  return fc.oneof(
    conv.map((c) => ({ how: 'valid', bytes: concat(c) })),
    fc.tuple(conv, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 8 })).map(([c, flips]) => {
      const bytes = Buffer.from(concat(c));
      for (const [i, bit] of flips) bytes[i % bytes.length]! ^= 1 << bit;
      return { how: 'bit flips', bytes };
    }),
    fc.tuple(conv, fc.nat()).map(([c, n]) => {
      const bytes = concat(c);
      return { how: 'truncated', bytes: bytes.subarray(0, n % bytes.length) };
    }),
    fc.tuple(conv, conv, fc.nat(), fc.nat()).map(([a, b, i, j]) => ({ how: 'spliced', bytes: concat([...a.slice(0, i % (a.length + 1)), ...b.slice(j % b.length)]) })),
    fc.tuple(conv, fc.nat(), sizes).map(([c, i, size]) => {
      const segments = c.map((s) => Buffer.from(s));
      const frames = segments.filter((s) => s.subarray(0, 4).toString('latin1') !== 'AMQP');
      at(frames, i).writeUInt32BE(size >>> 0, 0);
      return { how: 'length lie', bytes: concat(segments) };
    }),
    fc.tuple(conv, fc.nat(), fc.nat(), fc.boolean()).map(([c, i, j, duplicate]) => {
      const segments = [...c];
      const a = i % segments.length;
      const b = j % segments.length;
      if (duplicate) segments.splice(b, 0, segments[a]!);
      else [segments[a], segments[b]] = [segments[b]!, segments[a]!];
      return { how: duplicate ? 'frame repeated' : 'frames swapped', bytes: concat(segments) };
    }),
    fc.tuple(conv, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 48 }), fc.constantFrom(0, 1)).map(([c, i, body, type]) => {
      // A well-framed frame whose body is random: past the gate, into rhea's decoder.
      const segments = [...c];
      const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, 2, type, 0, 0]), body]);
      frame.writeUInt32BE(frame.length, 0);
      segments.splice(Math.min(i % (segments.length + 1), segments.length), 0, frame);
      return { how: 'random frame body', bytes: concat(segments) };
    }),
    fc.tuple(conv, fc.nat(), fc.constantFrom(0x40, 0x41, 0x42, 0x43, 0x44, 0x45), fc.oneof(fc.nat(), fc.constantFrom(0x7fffffff, 0xffffffff))).map(([c, i, code, count]) => {
      // A begin whose field is an array of zero-width items (null, true, false, uint0, ulong0, list0): its count costs no bytes.
      const frame = Buffer.from([0, 0, 0, 24, 2, 0, 0, 0, 0x00, 0x53, 0x11, 0xc0, 0x0b, 0x01, 0xf0, 0, 0, 0, 5, 0, 0, 0, 0, code]);
      frame.writeUInt32BE(count >>> 0, 19);
      const segments = [...c];
      segments.splice(Math.min(i % (segments.length + 1), segments.length), 0, frame);
      return { how: 'zero-width array', bytes: concat(segments) };
    }),
    fc.tuple(conv, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 64 })).map(([c, i, extra]) => {
      const bytes = concat(c);
      const p = i % (bytes.length + 1);
      return { how: 'bytes inserted', bytes: concat([bytes.subarray(0, p), extra, bytes.subarray(p)]) };
    }),
    fc
      .tuple(fc.constantFrom(concat(OPEN), concat([...OPEN, BEGIN]), SASL_HEADER, AMQP_HEADER), fc.uint8Array({ maxLength: 256 }))
      .map(([prefix, tail]) => ({ how: 'valid prefix, random tail', bytes: concat([prefix, tail]) })),
    fc.uint8Array({ maxLength: 256 }).map((bytes) => ({ how: 'random bytes', bytes })),
  );
}

// ------------------------------------------------------------------------------ one input

interface Seen {
  outcome: string;
}

/** Sends one input on a fresh connection and sees how the listener ends it; throws when it does not within the bound. */
async function exchange(port: number, input: AmqpInput): Promise<Seen> {
  const socket = connect(port, '127.0.0.1');
  const got: Buffer[] = [];
  let closed = false;
  let lastData = Date.now();
  let wake = () => undefined as void;
  socket.on('data', (d: Buffer) => {
    got.push(d);
    lastData = Date.now();
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    closed = true;
    wake();
  });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const bytes = Buffer.from(input.bytes);
  const cuts = [...new Set(input.cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    if (cut > from && !closed) socket.write(bytes.subarray(from, cut));
    from = Math.max(from, cut);
    await new Promise((r) => setImmediate(r));
  }
  lastData = Math.max(lastData, Date.now());
  const waitClosed = (ms: number) =>
    new Promise<boolean>((resolve) => {
      if (closed) return resolve(true);
      const timer = setTimeout(() => resolve(closed), ms);
      wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  // Until the listener closes, or has said what it will say.
  while (!closed && Date.now() - lastData < QUIET_MS) await waitClosed(QUIET_MS);
  const answered = got.length > 0;
  let by: string;
  if (closed) by = 'closed by the listener';
  else if (input.leftOpen) {
    if (!(await waitClosed(LEFT_OPEN_MS))) {
      socket.destroy();
      throw new Error(`the listener held a connection left open for over ${LEFT_OPEN_MS} ms (${input.how}): ${Buffer.from(input.bytes).toString('hex').slice(0, 400)}`);
    }
    by = 'closed at the listener’s deadline';
  } else {
    socket.end();
    if (!(await waitClosed(AFTER_END_MS))) {
      socket.destroy();
      throw new Error(`the listener held a connection for over ${AFTER_END_MS} ms after the client ended it (${input.how}): ${Buffer.from(input.bytes).toString('hex').slice(0, 400)}`);
    }
    by = answered ? 'answered, closed after the client ended' : 'silent, closed after the client ended';
  }
  const stream = readStream(Buffer.concat(got));
  const close = stream.frames.find((f) => f.name === 'close');
  const said = close
    ? `close ${errorOf(close)?.condition ?? '(no error)'}`
    : stream.headers.length === 1 && stream.frames.length === 0 && stream.headers[0]!.equals(SASL_HEADER)
      ? 'protocol header only'
      : answered
        ? 'frames, no close'
        : 'nothing';
  return { outcome: `${by}: ${said}` };
}

// ------------------------------------------------------------------------------ the target

interface Fixture {
  port: number;
  listener: AmqpListener;
  logs: LogRecord[];
  close(): Promise<void>;
}

async function start(): Promise<Fixture> {
  const db = openDatabase(':memory:');
  const commit = new GroupCommit(db);
  const topology = 'serviceBus:\n  queues:\n    - { name: orders }\n    - { name: check }\n  topics: []\n';
  const broker = new EmbeddedBroker(db, new EntityTable(parseTopology(topology, 'fuzz')), systemClock, commit, { sweepIntervalMs: 0 });
  const logs: LogRecord[] = [];
  const logger = new HostLogger({ default: 'none', 'Host.AMQP': 'debug' }, (r) => {
    // What the listener logs is evidence for a failure report, kept short.
    if (logs.length > 1000) logs.shift();
    logs.push(r);
  });
  const listener = new AmqpListener({ logger, handshakeTimeoutMs: HANDSHAKE_MS, idleTimeoutMs: IDLE_MS });
  listener.serve(new ServiceBusAmqp(broker, listener, logger));
  const port = await listener.listen(0);
  return {
    port,
    listener,
    logs,
    async close() {
      await listener.close();
      broker.close();
      commit.close();
      db.close();
    },
  };
}

/** A real client sends and receives on the listener: the fuzzing left it serving. */
async function roundTrip(port: number): Promise<void> {
  const client = new ServiceBusClient(`Endpoint=sb://localhost:${port};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;`, {
    retryOptions: { maxRetries: 0, timeoutInMs: 10_000 },
  });
  try {
    const id = `fuzz-check-${Date.now()}`;
    const sender = client.createSender('check');
    await sender.sendMessages({ body: id, messageId: id });
    await sender.close();
    const receiver = client.createReceiver('check', { receiveMode: 'receiveAndDelete' });
    const got = await receiver.receiveMessages(1, { maxWaitTimeInMs: 5_000 });
    await receiver.close();
    if (got[0]?.body !== id) throw new Error(`a real client sent ${id} and received ${JSON.stringify(got.map((m) => m.body))}`);
  } finally {
    await client.close();
  }
}

function amqpFrames(): FuzzTarget {
  let fixture: Promise<Fixture> | undefined;
  const outcomes: Record<string, number> = {};
  let current: AmqpInput | undefined;
  const convs = conversations();
  const input: fc.Arbitrary<AmqpInput> = fc
    .record({ m: mutations(convs), cuts: fc.array(fc.nat(), { maxLength: 3 }), leftOpen: fc.integer({ min: 0, max: 19 }) })
    .map(({ m, cuts, leftOpen }) => ({ ...m, cuts, leftOpen: leftOpen === 0 }));
  // Not a handler (it would keep the process alive): names the input when the listener throws.
  const monitor = (error: Error) => {
    if (current) console.error(`\nThe AMQP listener threw on ${current.how} input ${Buffer.from(current.bytes).toString('hex')}: ${error.stack ?? error.message}`);
  };
  return {
    name: 'amqp-frames',
    level: 'amqp',
    what: 'the AMQP listener (gate, rhea, CBS, Service Bus links) on mutated AMQP conversations and random bytes, each on a fresh connection',
    property: (ctx) => {
      process.on('uncaughtExceptionMonitor', monitor);
      for (const k of Object.keys(outcomes)) delete outcomes[k];
      return fc.asyncProperty(input, async (i) => {
        ctx.tick({ how: i.how, hex: Buffer.from(i.bytes).toString('hex'), cuts: i.cuts, leftOpen: i.leftOpen });
        fixture ??= start();
        const { port } = await fixture;
        current = i;
        const seen = await exchange(port, i);
        current = undefined;
        outcomes[seen.outcome] = (outcomes[seen.outcome] ?? 0) + 1;
      });
    },
    outcomes: () => outcomes,
    async after() {
      process.off('uncaughtExceptionMonitor', monitor);
      if (!fixture) return;
      const f = await fixture;
      fixture = undefined;
      try {
        await roundTrip(f.port);
        const deadline = Date.now() + LEFT_OPEN_MS;
        while (f.listener.connections > 0) {
          if (Date.now() > deadline) throw new Error(`${f.listener.connections} connections were still open ${LEFT_OPEN_MS} ms after the runs`);
          await new Promise((r) => setTimeout(r, 20));
        }
        const loud = f.logs.filter((l) => l.level !== 'debug');
        if (loud.length) throw new Error(`the listener logged above debug: ${loud[0]!.message}`);
      } finally {
        await f.close();
      }
    },
  };
}

export const AMQP_TARGETS: FuzzTarget[] = [amqpFrames()];
