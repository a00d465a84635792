// CSV ↔ payloads. One row per message under a header row whose column names are field paths
// (customerId, shippingAddress.city, items[0].sku); text is typed by the message's JSON Schema.
// An empty unquoted cell is an absent field, "" an empty string, so values round-trip exactly.
// Columns starting with @ carry envelope fields (@messageId, @correlationId, @causationId).
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { ValidationError } from '../../shared/errors';
import { formatFieldPath, parseFieldPath, writePath, type PathSegment } from '../field-path';
import { arrayTooLong, depthExceeded, INPUT_LIMIT_SETTINGS, inputLimits, stringTooLong, type InputLimits } from '../input-limits';
import type { JsonSchema } from '../schemas';
import { typedFromText } from './typed-values';

export const MAX_CSV_ROWS = 1000;

export type CsvRow = Map<string, string>;

export interface CsvTable {
  columns: string[];
  rows: CsvRow[];
}

function flatten(value: unknown, segments: PathSegment[], out: Map<string, string | number | boolean>): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => flatten(v, [...segments, { index: i }], out));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) flatten(v, [...segments, { key: k }], out);
  } else if (value !== undefined && value !== null) {
    out.set(formatFieldPath(segments), value as string | number | boolean);
  }
}

export function flattenPayload(payload: unknown): Map<string, string | number | boolean> {
  const out = new Map<string, string | number | boolean>();
  flatten(payload, [], out);
  return out;
}

/** Payloads (and optional envelope columns) as CSV: strings always quoted, numbers bare, absent empty. */
export function toCsv(rows: { envelope?: Record<string, string | undefined>; payload: unknown }[]): string {
  const flat = rows.map((r) => {
    const cells = new Map<string, string | number | boolean>();
    for (const [k, v] of Object.entries(r.envelope ?? {})) if (v !== undefined) cells.set(`@${k}`, v);
    for (const [k, v] of flattenPayload(r.payload)) cells.set(k, v);
    return cells;
  });
  const columns = [...new Set(flat.flatMap((cells) => [...cells.keys()]))];
  return stringify([columns, ...flat.map((cells) => columns.map((c) => cells.get(c)))], {
    quoted_string: true,
    cast: { boolean: (b) => String(b), number: (n) => String(n) },
  });
}

const ABSENT = Symbol('absent');

/** A column's path within the limits: an index is an array length to be, segments are nesting. */
function checkColumnPath(column: string, segments: PathSegment[], limits: InputLimits): void {
  // The payload is one level, each key or index one more; the envelope adds one above it.
  if (segments.length + 1 > limits.maxDepth) throw depthExceeded(limits, column, `Column "${column}"`);
  for (const s of segments) {
    if ('index' in s && s.index >= limits.maxArrayLength) {
      throw arrayTooLong(limits, column, '', `Column "${column}" names index ${s.index}; arrays hold at most ${limits.maxArrayLength} elements (${INPUT_LIMIT_SETTINGS.maxArrayLength})`);
    }
    if ('key' in s && s.key.length > limits.maxStringLength) throw stringTooLong(limits, column, s.key.length, 'A column name');
  }
}

export function parseCsv(text: string, limits: InputLimits = inputLimits()): CsvTable {
  let records: unknown[][];
  try {
    records = parse(text, {
      bom: true,
      skip_empty_lines: true,
      relax_column_count: false,
      max_record_size: 256 * 1024,
      cast: (value, context) => {
        if (value.length > limits.maxStringLength) throw stringTooLong(limits, context.records === 0 ? `columns[${context.index}]` : `rows[${context.records - 1}]`, value.length, 'A cell');
        return value === '' && !context.quoting ? ABSENT : value;
      },
    }) as unknown[][];
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    throw new ValidationError(`Malformed CSV: ${(error as Error).message}`, '');
  }
  const [header, ...data] = records;
  if (!header || header.length === 0) throw new ValidationError('The CSV has no header row', '');
  if (data.length === 0) throw new ValidationError('The CSV has a header but no rows', '');
  if (data.length > MAX_CSV_ROWS) throw new ValidationError(`A CSV batch is limited to ${MAX_CSV_ROWS} rows; this one has ${data.length}`, '');
  const columns = header.map((h, i) => {
    if (typeof h !== 'string' || h === '') throw new ValidationError(`Column ${i + 1} has no name`, `columns[${i}]`);
    return h;
  });
  const dupe = columns.find((c, i) => columns.indexOf(c) !== i);
  if (dupe) throw new ValidationError(`Column "${dupe}" appears twice`, dupe);
  for (const c of columns) {
    if (c.startsWith('@')) continue;
    let segments: PathSegment[];
    try {
      segments = parseFieldPath(c);
    } catch {
      throw new ValidationError(`Column "${c}" is not a field path (e.g. items[0].sku)`, c);
    }
    checkColumnPath(c, segments, limits);
  }
  const rows = data.map((record) => {
    const row: CsvRow = new Map();
    record.forEach((cell, i) => {
      if (cell !== ABSENT) row.set(columns[i]!, String(cell));
    });
    return row;
  });
  return { columns, rows };
}

/** The payload a row describes, typed by the schema; envelope (@) columns are left out. */
export function rowToPayload(row: CsvRow, schema: JsonSchema | undefined, rowTarget: string): Record<string, unknown> {
  const payload: Record<string, unknown> = {};
  for (const [column, value] of row) {
    if (column.startsWith('@')) continue;
    try {
      writePath(payload, parseFieldPath(column), value);
    } catch (error) {
      throw new ValidationError(`${rowTarget}: column "${column}" conflicts with another column (${(error as Error).message})`, `${rowTarget}.${column}`);
    }
  }
  for (const [key, value] of Object.entries(payload)) {
    // A sparse array (items[2] without items[1]) cannot be a payload.
    if (Array.isArray(value) && value.some((v) => v === undefined)) {
      throw new ValidationError(`${rowTarget}: ${key} has gaps in its item indexes`, `${rowTarget}.${key}`);
    }
  }
  return typedFromText(schema, payload) as Record<string, unknown>;
}
