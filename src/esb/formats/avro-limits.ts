// The pass over an Avro datum that runs before avsc decodes it. Avro states lengths up front — a
// block of items says how many follow, a string how many bytes — and avsc believes them: five
// bytes claiming a billion array items keep its decoder looping (and allocating) for minutes
// before it notices the buffer ran out. This walk follows the schema over the bytes reading only
// those counts, and refuses an array or map past INPUT_MAX_ARRAY_LENGTH, a string past
// INPUT_MAX_STRING_LENGTH or nesting past INPUT_MAX_DEPTH before a single item is built. Bytes
// that cannot be this schema's datum — a negative length, a union branch that does not exist, a
// count or length running past the end — are refused here too: avsc reads on past the end of
// the buffer (as zeros) or steps backwards on a negative length, so a datum this walk could not
// follow is one avsc must not be handed.
import type avro from 'avsc';
import { formatFieldPath, type PathSegment } from '../field-path';
import { ValidationError } from '../../shared/errors';
import { arrayTooLong, depthExceeded, stringTooLong, type InputLimits } from '../input-limits';

interface AvroTypeShape {
  typeName: string;
  fields?: { name: string; type: avro.Type }[];
  itemsType?: avro.Type;
  valuesType?: avro.Type;
  types?: avro.Type[];
  size?: number;
  underlyingType?: avro.Type;
}

/** Where the walk found bytes that are no datum of the schema. */
class Malformed extends Error {}

class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}

  /** A zig-zag varint. */
  long(): number {
    let n = 0;
    let scale = 1;
    for (let k = 0; k < 10; k++) {
      if (this.pos >= this.buf.length) throw new Malformed('the data ends inside a number');
      const b = this.buf[this.pos++]!;
      n += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
      scale *= 128;
    }
    throw new Malformed('a number is longer than ten bytes');
  }

  skip(bytes: number): void {
    this.pos += bytes;
    if (this.pos > this.buf.length) throw new Malformed('the data ends early');
  }
}

/** Throws InputLimitError when the datum is past a limit, ValidationError when it cannot be the schema's datum. */
export function checkAvroLimits(type: avro.Type, bytes: Buffer, limits: InputLimits): void {
  const reader = new Reader(bytes);
  const path: PathSegment[] = [];
  const where = () => formatFieldPath(path);

  const walk = (t: avro.Type, depth: number): void => {
    const shape = t as unknown as AvroTypeShape;
    switch (shape.typeName) {
      case 'null':
        return;
      case 'boolean':
        return reader.skip(1);
      case 'int':
      case 'long':
      case 'enum':
        reader.long();
        return;
      case 'float':
        return reader.skip(4);
      case 'double':
        return reader.skip(8);
      case 'fixed':
        return reader.skip(shape.size ?? 0);
      case 'string':
      case 'bytes': {
        const length = reader.long();
        if (length < 0) throw new Malformed(`a negative length (${length})`);
        if (length > limits.maxStringLength) throw stringTooLong(limits, where(), length);
        return reader.skip(length);
      }
      case 'record':
      case 'error':
        if (depth > limits.maxDepth) throw depthExceeded(limits, where(), 'The Avro datum');
        for (const field of shape.fields ?? []) {
          path.push({ key: field.name });
          walk(field.type, depth + 1);
          path.pop();
        }
        return;
      case 'array':
      case 'map': {
        if (depth > limits.maxDepth) throw depthExceeded(limits, where(), 'The Avro datum');
        let total = 0;
        for (;;) {
          let count = reader.long();
          if (count === 0) return;
          if (count < 0) {
            count = -count;
            reader.long(); // the block's size in bytes
          }
          total += count;
          if (total > limits.maxArrayLength) throw arrayTooLong(limits, where(), shape.typeName === 'map' ? 'A map' : 'An array');
          for (let i = total - count; i < total; i++) {
            path.push(shape.typeName === 'map' ? { key: `(entry ${i})` } : { index: i });
            if (shape.typeName === 'map') walk({ typeName: 'string' } as unknown as avro.Type, depth + 1);
            walk((shape.typeName === 'map' ? shape.valuesType : shape.itemsType)!, depth + 1);
            path.pop();
          }
        }
      }
      default:
        if (shape.typeName.startsWith('union')) {
          const index = reader.long();
          const branch = shape.types?.[index];
          if (!branch) throw new Malformed(`union branch ${index} does not exist`);
          return walk(branch, depth);
        }
        if (shape.underlyingType) return walk(shape.underlyingType, depth); // logical types
    }
  };

  try {
    walk(type, 1);
  } catch (error) {
    if (!(error instanceof Malformed)) throw error;
    throw new ValidationError(`The Avro body does not match the schema: ${error.message}${path.length ? ` at ${where()}` : ''}`, where());
  }
}
