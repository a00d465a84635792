// Input limits: how much a client may send before the app spends memory or CPU on it. A body is
// measured (bytes, from Content-Length before it is read) and scanned in its raw form (nesting
// depth, string length, array length) before any parser builds a tree from it: a 256 KB body
// must not become a tree 100,000 levels deep (recursive code overflows the stack on it), a
// million-element array, or a multi-second parse. The scans here are single linear passes that
// allocate nothing per character; each format has its own (JSON here, XML, CSV and Avro beside
// their decoders), all answering with the same typed error.
//
// Each limit is an app setting, read on every call (a few environment look-ups) so operators can
// tune one without a redeploy of code; the defaults suit the message catalog and Service Bus
// Standard's 256 KB messages. Over HTTP a limit is a 413 (body size) or a 400 InputLimitExceeded
// naming the setting; a queued message past them is dead-lettered InputLimitExceeded.
import { InputLimitError, PayloadTooLargeError } from '../shared/errors';
import { formatFieldPath, type PathSegment } from './field-path';

export interface InputLimits {
  /** Bytes of one request body: a message (JSON, XML, Avro) or a command. */
  maxBodyBytes: number;
  /** Bytes of a CSV batch body (many messages, each within maxBodyBytes once enveloped). */
  maxBatchBytes: number;
  /** Nesting of objects and arrays (JSON), elements (XML), records, arrays and maps (Avro). */
  maxDepth: number;
  /** Characters of one string: a value, an object key, an XML text or attribute, a CSV cell. */
  maxStringLength: number;
  /** Elements of one array (JSON, Avro), child elements of one XML element, a CSV column's index. */
  maxArrayLength: number;
}

export const DEFAULT_INPUT_LIMITS: Readonly<InputLimits> = Object.freeze({
  maxBodyBytes: 256 * 1024,
  maxBatchBytes: 5 * 1024 * 1024,
  maxDepth: 32,
  maxStringLength: 32 * 1024,
  maxArrayLength: 1000,
});

/** The app setting of each limit (src/config/app-settings.ts lists them). */
export const INPUT_LIMIT_SETTINGS: Readonly<Record<keyof InputLimits, string>> = Object.freeze({
  maxBodyBytes: 'INPUT_MAX_BODY_BYTES',
  maxBatchBytes: 'INPUT_MAX_BATCH_BYTES',
  maxDepth: 'INPUT_MAX_DEPTH',
  maxStringLength: 'INPUT_MAX_STRING_LENGTH',
  maxArrayLength: 'INPUT_MAX_ARRAY_LENGTH',
});

export class InputLimitSettingError extends Error {
  override name = 'InputLimitSettingError';
}

function setting(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined || value.trim() === '') return fallback;
  const n = Number(value.trim());
  if (!Number.isSafeInteger(n) || n < 1) throw new InputLimitSettingError(`App setting ${name} must be a positive whole number (got "${value}")`);
  return n;
}

/** The limits in force: app settings over the defaults. A malformed setting throws, naming it. */
export function inputLimits(env: NodeJS.ProcessEnv = process.env): InputLimits {
  return {
    maxBodyBytes: setting(env.INPUT_MAX_BODY_BYTES, INPUT_LIMIT_SETTINGS.maxBodyBytes, DEFAULT_INPUT_LIMITS.maxBodyBytes),
    maxBatchBytes: setting(env.INPUT_MAX_BATCH_BYTES, INPUT_LIMIT_SETTINGS.maxBatchBytes, DEFAULT_INPUT_LIMITS.maxBatchBytes),
    maxDepth: setting(env.INPUT_MAX_DEPTH, INPUT_LIMIT_SETTINGS.maxDepth, DEFAULT_INPUT_LIMITS.maxDepth),
    maxStringLength: setting(env.INPUT_MAX_STRING_LENGTH, INPUT_LIMIT_SETTINGS.maxStringLength, DEFAULT_INPUT_LIMITS.maxStringLength),
    maxArrayLength: setting(env.INPUT_MAX_ARRAY_LENGTH, INPUT_LIMIT_SETTINGS.maxArrayLength, DEFAULT_INPUT_LIMITS.maxArrayLength),
  };
}

/** 413 when a body (declared or read) is over its limit. */
export function checkBodySize(bytes: number, kind: 'body' | 'batch', limits: InputLimits, what = 'The body'): void {
  const limit = kind === 'batch' ? limits.maxBatchBytes : limits.maxBodyBytes;
  if (bytes > limit) {
    const name = kind === 'batch' ? INPUT_LIMIT_SETTINGS.maxBatchBytes : INPUT_LIMIT_SETTINGS.maxBodyBytes;
    throw new PayloadTooLargeError(`${what} is ${bytes} bytes; the limit is ${limit} (${name})`, '', [{ target: name, message: `limit ${limit}` }]);
  }
}

export function depthExceeded(limits: InputLimits, target: string, what = 'The input'): InputLimitError {
  const error = new InputLimitError(`${what} is nested more than ${limits.maxDepth} levels deep (${INPUT_LIMIT_SETTINGS.maxDepth})`, INPUT_LIMIT_SETTINGS.maxDepth, target);
  error.details.push({ target, message: `nesting limit ${limits.maxDepth}` });
  return error;
}

export function stringTooLong(limits: InputLimits, target: string, length: number, what = 'A string'): InputLimitError {
  const error = new InputLimitError(
    `${what}${target ? ` at ${target}` : ''} has ${length} characters; the limit is ${limits.maxStringLength} (${INPUT_LIMIT_SETTINGS.maxStringLength})`,
    INPUT_LIMIT_SETTINGS.maxStringLength,
    target,
  );
  error.details.push({ target, message: `string length limit ${limits.maxStringLength}` });
  return error;
}

export function arrayTooLong(limits: InputLimits, target: string, what = 'An array', message?: string): InputLimitError {
  const error = new InputLimitError(
    message ?? `${what}${target ? ` at ${target}` : ''} has more than ${limits.maxArrayLength} elements (${INPUT_LIMIT_SETTINGS.maxArrayLength})`,
    INPUT_LIMIT_SETTINGS.maxArrayLength,
    target,
  );
  error.details.push({ target, message: `array length limit ${limits.maxArrayLength}` });
  return error;
}

// --------------------------------------------------------------------------- JSON text

interface JsonFrame {
  array: boolean;
  /** Elements seen (arrays). */
  count: number;
  /** A value may start here: after [ or , in an array, after : in an object. */
  awaitingValue: boolean;
  /** Objects: the next string is a key (after { or ,). */
  awaitingKey: boolean;
  /** Objects: where the raw text of the current member's key starts and ends (quotes included). */
  keyStart: number;
  keyEnd: number;
}

function keyOf(text: string, frame: JsonFrame): string {
  const raw = text.slice(frame.keyStart, frame.keyEnd);
  try {
    return String(JSON.parse(raw));
  } catch {
    return raw.slice(1, 65);
  }
}

/** The dotted path of the value the frames lead to (payload.items[3].sku). */
function jsonPath(text: string, frames: JsonFrame[], upTo = frames.length): string {
  const segments: PathSegment[] = [];
  for (let i = 0; i < upTo; i++) {
    const f = frames[i]!;
    if (f.array) segments.push({ index: Math.max(0, f.count - 1) });
    else if (f.keyEnd > f.keyStart) segments.push({ key: keyOf(text, f) });
  }
  return formatFieldPath(segments);
}

const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;

/**
 * Scans JSON text for the depth, string and array limits before JSON.parse builds anything.
 * Malformed text is not its concern (JSON.parse reports it); it never throws anything but
 * InputLimitError, whatever the text.
 */
export function checkJsonText(text: string, limits: InputLimits = inputLimits()): void {
  const frames: JsonFrame[] = [];
  const valueStarts = () => {
    const top = frames[frames.length - 1];
    if (!top || !top.awaitingValue) return;
    top.awaitingValue = false;
    if (top.array && ++top.count > limits.maxArrayLength) throw arrayTooLong(limits, jsonPath(text, frames, frames.length - 1));
  };
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      const start = i++;
      let length = 0;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 34) break;
        // An escape is one character of the string: \n, \" or \uXXXX.
        i += d === 92 ? (text.charCodeAt(i + 1) === 117 ? 6 : 2) : 1;
        length++;
      }
      i++;
      const top = frames[frames.length - 1];
      if (top && !top.array && top.awaitingKey) {
        top.awaitingKey = false;
        top.keyStart = start;
        top.keyEnd = Math.min(i, n);
        if (length > limits.maxStringLength) throw stringTooLong(limits, jsonPath(text, frames), length, 'A key');
      } else {
        valueStarts();
        if (length > limits.maxStringLength) throw stringTooLong(limits, jsonPath(text, frames), length);
      }
      continue;
    }
    if (c === 123 || c === 91) {
      valueStarts();
      if (frames.length >= limits.maxDepth) throw depthExceeded(limits, jsonPath(text, frames), 'The JSON');
      frames.push({ array: c === 91, count: 0, awaitingValue: c === 91, awaitingKey: c === 123, keyStart: 0, keyEnd: 0 });
    } else if (c === 125 || c === 93) {
      frames.pop();
    } else if (c === 44) {
      const top = frames[frames.length - 1];
      if (top?.array) top.awaitingValue = true;
      else if (top) top.awaitingKey = true;
    } else if (c === 58) {
      const top = frames[frames.length - 1];
      if (top && !top.array) top.awaitingValue = true;
    } else if (!isSpace(c)) {
      valueStarts(); // a number, true, false or null
    }
    i++;
  }
}

// --------------------------------------------------------------------------- parsed values

interface Visit {
  value: unknown;
  depth: number;
  parent: Visit | undefined;
  segment: PathSegment | undefined;
}

function visitPath(v: Visit | undefined): string {
  const segments: PathSegment[] = [];
  for (let at = v; at; at = at.parent) if (at.segment) segments.unshift(at.segment);
  return formatFieldPath(segments);
}

/**
 * The same limits over a value something else parsed already (a queued message whose body the
 * Service Bus extension decoded). Iterative, so a tree of any depth is measured, not recursed into.
 */
export function checkValueLimits(value: unknown, limits: InputLimits = inputLimits()): void {
  const stack: Visit[] = [{ value, depth: 0, parent: undefined, segment: undefined }];
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (typeof v.value === 'string') {
      if (v.value.length > limits.maxStringLength) throw stringTooLong(limits, visitPath(v), v.value.length);
      continue;
    }
    if (v.value === null || typeof v.value !== 'object' || Buffer.isBuffer(v.value)) continue;
    const depth = v.depth + 1;
    if (depth > limits.maxDepth) throw depthExceeded(limits, visitPath(v));
    if (Array.isArray(v.value)) {
      if (v.value.length > limits.maxArrayLength) throw arrayTooLong(limits, visitPath(v));
      v.value.forEach((item, index) => stack.push({ value: item, depth, parent: v, segment: { index } }));
    } else {
      for (const [key, item] of Object.entries(v.value as Record<string, unknown>)) {
        if (key.length > limits.maxStringLength) throw stringTooLong(limits, visitPath(v), key.length, 'A key');
        stack.push({ value: item, depth, parent: v, segment: { key } });
      }
    }
  }
}
