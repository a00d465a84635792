// AMQP 1.0 as bytes, for a client that speaks the wire itself rather than through rhea's
// connection: the AMQP listener's bad-input tests and its fuzz target build valid conversations
// (headers, SASL, open, begin, attach, flow, transfer) with rhea's own frame codec, mutate them,
// and read back what the listener answered, frame by frame.
import { createRequire } from 'node:module';
import { message as amqpMessage, type Message } from 'rhea';

/** rhea's frame and terminus codecs: not part of its typed surface, but what it encodes and decodes every frame with. */
const rheaLib = createRequire(require.resolve('rhea'));
interface Performative {
  constructor: { descriptor?: { symbolic?: string } };
  [field: string]: unknown;
}
const frames = rheaLib('./frames.js') as {
  write_frame(frame: { type: number; channel: number; performative: unknown; payload?: Buffer }): Buffer;
  read_frame(bytes: Buffer): { type: number; channel: number; performative?: Performative; payload?: Buffer } | null;
} & Record<string, (fields: Record<string, unknown>) => unknown>;
const terminus = rheaLib('./terminus.js') as Record<'source' | 'target', (fields: Record<string, unknown>) => { described(): unknown }>;

export const SASL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 3, 1, 0, 0]);
export const AMQP_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 1, 0, 0]);

export type PerformativeName = 'open' | 'begin' | 'attach' | 'flow' | 'transfer' | 'disposition' | 'detach' | 'end' | 'close';

/** A SASL frame (sasl_init, sasl_response). */
export function saslFrame(name: 'sasl_init' | 'sasl_response', fields: Record<string, unknown>): Buffer {
  return frames.write_frame({ type: 1, channel: 0, performative: frames[name]!(fields) });
}

/** An AMQP frame on a channel, with the payload a transfer carries. */
export function amqpFrame(channel: number, name: PerformativeName, fields: Record<string, unknown> = {}, payload?: Buffer): Buffer {
  return frames.write_frame({ type: 0, channel, performative: frames[name]!(fields), ...(payload ? { payload } : {}) });
}

/** An empty frame: what a peer sends to keep an idle connection open. */
export function emptyFrame(): Buffer {
  return Buffer.from([0, 0, 0, 8, 2, 0, 0, 0]);
}

export function source(address: string, fields: Record<string, unknown> = {}): unknown {
  return terminus.source({ address, ...fields }).described();
}

export function target(address: string, fields: Record<string, unknown> = {}): unknown {
  return terminus.target({ address, ...fields }).described();
}

export function encodeMessage(message: Parameters<typeof amqpMessage.encode>[0]): Buffer {
  return amqpMessage.encode(message);
}

export function decodeMessage(bytes: Buffer): Message {
  return amqpMessage.decode(bytes) as unknown as Message;
}

export interface ReadFrame {
  type: number;
  channel: number;
  /** The performative's name ('open', 'close', 'sasl_outcome'…), undefined for an empty frame. */
  name?: string;
  performative?: Performative;
  payload?: Buffer;
}

export interface ReadStream {
  headers: Buffer[];
  frames: ReadFrame[];
  /** Bytes after the last whole frame (a frame cut short, or what could not be read). */
  rest: Buffer;
}

/** Splits what a peer sent into its protocol headers and frames, decoding each performative. */
export function readStream(bytes: Buffer): ReadStream {
  const out: ReadStream = { headers: [], frames: [], rest: Buffer.alloc(0) };
  let at = 0;
  while (at + 8 <= bytes.length) {
    if (bytes.subarray(at, at + 4).toString('latin1') === 'AMQP') {
      out.headers.push(bytes.subarray(at, at + 8));
      at += 8;
      continue;
    }
    const size = bytes.readUInt32BE(at);
    if (size < 8 || at + size > bytes.length) break;
    let frame;
    try {
      frame = frames.read_frame(bytes.subarray(at, at + size));
    } catch {
      break;
    }
    if (!frame) break;
    out.frames.push({ type: frame.type, channel: frame.channel, name: nameOf(frame.performative), performative: frame.performative, payload: frame.payload });
    at += size;
  }
  out.rest = bytes.subarray(at);
  return out;
}

/** 'amqp:sasl-outcome:list' → 'sasl-outcome'. */
function nameOf(performative: Performative | undefined): string | undefined {
  const symbolic = performative?.constructor?.descriptor?.symbolic;
  return symbolic
    ? symbolic
        .replace(/^amqp:/, '')
        .replace(/:list$/, '')
        .replace(/_/g, '-')
    : undefined;
}

/** The error a close, end or detach carries, as { condition, description }. */
export function errorOf(frame: ReadFrame | undefined): { condition?: string; description?: string } | undefined {
  const error = frame?.performative?.error as { condition?: unknown; description?: unknown } | undefined;
  if (!error) return undefined;
  return { condition: error.condition === undefined ? undefined : String(error.condition), description: error.description === undefined ? undefined : String(error.description) };
}
