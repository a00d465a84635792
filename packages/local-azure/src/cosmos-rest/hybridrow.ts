// HybridRow (github.com/microsoft/HybridRow), as far as Cosmos DB's transactional batch uses it:
// the .NET SDK sends a batch as a RecordIO stream of BatchOperation rows and reads the answer as
// one of BatchResult rows (schemas in the SDK's Batch/HybridRowBatchSchemas.json), where
// @azure/cosmos sends and reads JSON.
//
// A row is a 5-byte header (version 0x81, schema id int32 LE), then the schema's presence bits
// (one per nullable fixed or variable column, in declaration order), the fixed columns at their
// offsets, the present variable columns in order (varuint length + bytes), then sparse fields:
// type code, path (varuint token: 1.. for the schema's columns in fixed, variable, sparse order,
// else Count + byte length followed by the UTF-8 path), value. A RecordIO stream is a Segment row
// (its `length` the row's own size) followed by, per record, a Record row (length, CRC-32 of the
// body) and the body row.
import { crc32 } from 'node:zlib';

export type ColumnType = 'int32' | 'uint32' | 'float64' | 'bool' | 'utf8' | 'binary';
export type Value = number | boolean | string | Buffer;

interface Column {
  path: string;
  type: ColumnType;
  storage: 'fixed' | 'variable' | 'sparse';
  /** Non-nullable columns have no presence bit and are always there (RecordIO's Record). */
  required?: boolean;
}

const VERSION_V1 = 0x81;
const HEADER_BYTES = 5;
/** LayoutCode values of the sparse types used here; a bool's value is its code. */
const CODE: Record<Exclude<ColumnType, 'bool'>, number> = { int32: 7, uint32: 11, float64: 16, utf8: 20, binary: 21 };
const CODE_TRUE = 3;
const CODE_FALSE = 2;
const CODE_END_SCOPE = 70;
const FIXED_BYTES: Partial<Record<ColumnType, number>> = { int32: 4, uint32: 4, float64: 8 };

export class HybridRowError extends Error {}

export class Layout {
  readonly #fixed: { column: Column; bit: number; offset: number }[] = [];
  readonly #variable: { column: Column; bit: number }[] = [];
  readonly #tokens = new Map<string, number>();
  readonly #paths: string[] = [''];
  readonly #sparse = new Map<string, Column>();
  readonly #bitmaskBytes: number;
  readonly #fixedBytes: number;

  constructor(
    readonly name: string,
    readonly schemaId: number,
    columns: Column[],
  ) {
    let bits = 0;
    let offset = 0;
    for (const column of columns) {
      if (column.storage === 'fixed') {
        const size = FIXED_BYTES[column.type];
        if (size === undefined) throw new HybridRowError(`${name}.${column.path}: a fixed ${column.type} column is not supported`);
        this.#fixed.push({ column, bit: column.required ? -1 : bits++, offset });
        offset += size;
      } else if (column.storage === 'variable') this.#variable.push({ column, bit: bits++ });
      else this.#sparse.set(column.path, column);
    }
    this.#bitmaskBytes = Math.ceil(bits / 8);
    this.#fixedBytes = this.#bitmaskBytes + offset;
    for (const path of [...this.#fixed.map((f) => f.column.path), ...this.#variable.map((v) => v.column.path), ...this.#sparse.keys()]) {
      this.#tokens.set(path, this.#paths.length);
      this.#paths.push(path);
    }
    for (const f of this.#fixed) f.offset += this.#bitmaskBytes;
  }

  /** The row's columns by path; absent ones are left out. Sparse fields the schema does not name are kept by their path. */
  read(row: Buffer): Record<string, Value> {
    const r = new Reader(row);
    const version = r.u8();
    const schemaId = r.i32();
    if (version !== VERSION_V1) throw new HybridRowError(`unknown HybridRow version 0x${version.toString(16)}`);
    if (schemaId !== this.schemaId) throw new HybridRowError(`a ${this.name} row was expected (schema ${this.schemaId}), not schema ${schemaId}`);
    r.need(this.#fixedBytes);
    const present = (bit: number) => bit < 0 || (row[HEADER_BYTES + (bit >> 3)]! & (1 << (bit & 7))) !== 0;
    const out: Record<string, Value> = {};
    for (const f of this.#fixed) if (present(f.bit)) out[f.column.path] = new Reader(row, HEADER_BYTES + f.offset).fixed(f.column.type);
    r.at = HEADER_BYTES + this.#fixedBytes;
    for (const v of this.#variable) if (present(v.bit)) out[v.column.path] = r.lengthPrefixed(v.column.type === 'utf8');
    while (r.at < row.length) {
      const code = r.u8();
      if (code === CODE_END_SCOPE) break;
      const token = r.varuint();
      const path = token < this.#paths.length ? this.#paths[token]! : r.bytes(token - this.#paths.length).toString('utf8');
      out[path] = r.sparse(code);
    }
    return out;
  }

  write(values: Record<string, Value | undefined>): Buffer {
    const head = Buffer.alloc(HEADER_BYTES + this.#fixedBytes);
    head.writeUInt8(VERSION_V1, 0);
    head.writeInt32LE(this.schemaId, 1);
    const setBit = (bit: number) => {
      const at = HEADER_BYTES + (bit >> 3);
      if (bit >= 0) head.writeUInt8(head.readUInt8(at) | (1 << (bit & 7)), at);
    };
    for (const f of this.#fixed) {
      const v = values[f.column.path];
      if (v === undefined) {
        if (f.column.required) throw new HybridRowError(`${this.name}.${f.column.path} is required`);
        continue;
      }
      setBit(f.bit);
      writeFixed(head, HEADER_BYTES + f.offset, f.column.type, v);
    }
    const parts: Buffer[] = [head];
    for (const v of this.#variable) {
      const value = values[v.column.path];
      if (value === undefined) continue;
      setBit(v.bit);
      parts.push(lengthPrefixed(value));
    }
    for (const [path, column] of this.#sparse) {
      const value = values[path];
      if (value === undefined) continue;
      const token = varuint(this.#tokens.get(path)!);
      if (column.type === 'bool') parts.push(Buffer.from([value ? CODE_TRUE : CODE_FALSE]), token);
      else if (column.type === 'utf8' || column.type === 'binary') parts.push(Buffer.from([CODE[column.type]]), token, lengthPrefixed(value));
      else {
        const fixed = Buffer.alloc(FIXED_BYTES[column.type]!);
        writeFixed(fixed, 0, column.type, value);
        parts.push(Buffer.from([CODE[column.type]]), token, fixed);
      }
    }
    return Buffer.concat(parts);
  }
}

function writeFixed(buffer: Buffer, offset: number, type: ColumnType, value: Value): void {
  if (typeof value !== 'number') throw new HybridRowError(`a ${type} needs a number, not ${typeof value}`);
  if (type === 'int32') buffer.writeInt32LE(value, offset);
  else if (type === 'uint32') buffer.writeUInt32LE(value, offset);
  else buffer.writeDoubleLE(value, offset);
}

function varuint(n: number): Buffer {
  const bytes: number[] = [];
  while (n >= 0x80) {
    bytes.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  bytes.push(n);
  return Buffer.from(bytes);
}

function lengthPrefixed(value: Value): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.isBuffer(value) ? value : undefined;
  if (!bytes) throw new HybridRowError(`a variable-length value must be a string or bytes, not ${typeof value}`);
  return Buffer.concat([varuint(bytes.length), bytes]);
}

class Reader {
  constructor(
    readonly buffer: Buffer,
    public at = 0,
  ) {}

  need(n: number): void {
    if (this.at + n > this.buffer.length) throw new HybridRowError(`the row ends at ${this.buffer.length} bytes, ${n} more were needed at ${this.at}`);
  }
  u8(): number {
    this.need(1);
    return this.buffer[this.at++]!;
  }
  i32(): number {
    this.need(4);
    const v = this.buffer.readInt32LE(this.at);
    this.at += 4;
    return v;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buffer.subarray(this.at, this.at + n);
    this.at += n;
    return b;
  }
  varuint(): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const b = this.u8();
      value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return value;
    }
    throw new HybridRowError('a varuint longer than 5 bytes');
  }
  lengthPrefixed(utf8: boolean): Value {
    const b = this.bytes(this.varuint());
    return utf8 ? b.toString('utf8') : Buffer.from(b);
  }
  fixed(type: ColumnType): Value {
    this.need(FIXED_BYTES[type]!);
    const v = type === 'int32' ? this.buffer.readInt32LE(this.at) : type === 'uint32' ? this.buffer.readUInt32LE(this.at) : this.buffer.readDoubleLE(this.at);
    this.at += FIXED_BYTES[type]!;
    return v;
  }
  sparse(code: number): Value {
    switch (code) {
      case CODE_TRUE:
        return true;
      case CODE_FALSE:
        return false;
      case CODE.int32:
        return this.fixed('int32');
      case CODE.uint32:
        return this.fixed('uint32');
      case CODE.float64:
        return this.fixed('float64');
      case CODE.utf8:
        return this.lengthPrefixed(true);
      case CODE.binary:
        return this.lengthPrefixed(false);
      default:
        throw new HybridRowError(`sparse type code ${code} is not one the batch schemas use`);
    }
  }
}

const SEGMENT = new Layout('Segment', 2147473648, [{ path: 'length', type: 'int32', storage: 'fixed' }]);
const RECORD = new Layout('Record', 2147473649, [
  { path: 'length', type: 'int32', storage: 'fixed', required: true },
  { path: 'crc32', type: 'uint32', storage: 'fixed', required: true },
]);
const SEGMENT_BYTES = SEGMENT.write({ length: 0 }).length;
const RECORD_HEADER_BYTES = RECORD.write({ length: 0, crc32: 0 }).length;

/** The body rows of a RecordIO stream: one segment, then records whose CRC must match. */
export function readRecordIO(stream: Buffer): Buffer[] {
  if (stream.length < SEGMENT_BYTES) throw new HybridRowError('the stream is shorter than a RecordIO segment header');
  const segment = SEGMENT.read(stream.subarray(0, SEGMENT_BYTES));
  const segmentLength = typeof segment.length === 'number' ? segment.length : SEGMENT_BYTES;
  if (segmentLength < SEGMENT_BYTES || segmentLength > stream.length) throw new HybridRowError(`a RecordIO segment header of ${segmentLength} bytes`);
  const rows: Buffer[] = [];
  let at = segmentLength;
  while (at < stream.length) {
    const header = RECORD.read(stream.subarray(at, at + RECORD_HEADER_BYTES));
    at += RECORD_HEADER_BYTES;
    const length = header.length as number;
    if (length < 0 || at + length > stream.length) throw new HybridRowError(`record ${rows.length} claims ${length} bytes; ${stream.length - at} are left`);
    const body = stream.subarray(at, at + length);
    if (crc32(body) !== header.crc32) throw new HybridRowError(`record ${rows.length} fails its CRC-32`);
    rows.push(body);
    at += length;
  }
  return rows;
}

export function writeRecordIO(rows: Buffer[]): Buffer {
  return Buffer.concat([SEGMENT.write({ length: SEGMENT_BYTES }), ...rows.flatMap((row) => [RECORD.write({ length: row.length, crc32: crc32(row) }), row])]);
}

/** The schemas of Microsoft.Azure.Cosmos' Batch/HybridRowBatchSchemas.json. */
export const BatchOperationLayout = new Layout('BatchOperation', 2145473648, [
  { path: 'operationType', type: 'int32', storage: 'fixed' },
  { path: 'resourceType', type: 'int32', storage: 'fixed' },
  { path: 'partitionKey', type: 'utf8', storage: 'variable' },
  { path: 'effectivePartitionKey', type: 'binary', storage: 'variable' },
  { path: 'id', type: 'utf8', storage: 'variable' },
  { path: 'binaryId', type: 'binary', storage: 'variable' },
  { path: 'resourceBody', type: 'binary', storage: 'variable' },
  { path: 'indexingDirective', type: 'utf8', storage: 'sparse' },
  { path: 'ifMatch', type: 'utf8', storage: 'sparse' },
  { path: 'ifNoneMatch', type: 'utf8', storage: 'sparse' },
  { path: 'timeToLiveInSeconds', type: 'int32', storage: 'sparse' },
  { path: 'minimalReturnPreference', type: 'bool', storage: 'sparse' },
]);

export const BatchResultLayout = new Layout('BatchResult', 2145473649, [
  { path: 'statusCode', type: 'int32', storage: 'fixed' },
  { path: 'subStatusCode', type: 'int32', storage: 'fixed' },
  { path: 'eTag', type: 'utf8', storage: 'variable' },
  { path: 'resourceBody', type: 'binary', storage: 'variable' },
  { path: 'retryAfterMilliseconds', type: 'uint32', storage: 'sparse' },
  { path: 'requestCharge', type: 'float64', storage: 'sparse' },
]);

/** Whether a request body is HybridRow rather than JSON: its first byte is the row version, never JSON's. */
export const isHybridRow = (body: Buffer): boolean => body.length > 0 && body[0] === VERSION_V1;
