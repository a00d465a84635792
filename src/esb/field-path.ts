// Field paths into a message: dotted names with array indexes, e.g. payload.items[0].sku;
// [*] means "any item" when reading. Used by route conditions, templates and CSV columns.

export type PathSegment = { key: string } | { index: number } | { any: true };

const SEGMENT = /([^.[\]]+)|\[(\d+|\*)\]/g;

export class FieldPathError extends Error {
  override name = 'FieldPathError';
}

export function parseFieldPath(path: string): PathSegment[] {
  if (!path || /^\.|\.$|\.\.|\.\[/.test(path)) throw new FieldPathError(`"${path}" is not a field path (e.g. payload.items[0].sku)`);
  const segments: PathSegment[] = [];
  let consumed = 0;
  for (const m of path.matchAll(SEGMENT)) {
    const between = path.slice(consumed, m.index);
    if (between !== '' && between !== '.') throw new FieldPathError(`"${path}" is not a field path (unexpected "${between}")`);
    consumed = m.index + m[0].length;
    if (m[1] !== undefined) segments.push({ key: m[1] });
    else if (m[2] === '*') segments.push({ any: true });
    else segments.push({ index: Number(m[2]) });
  }
  if (consumed !== path.length || segments.length === 0) throw new FieldPathError(`"${path}" is not a field path`);
  return segments;
}

export function formatFieldPath(segments: PathSegment[]): string {
  return segments.reduce<string>((acc, s) => {
    if ('key' in s) return acc ? `${acc}.${s.key}` : s.key;
    return `${acc}[${'index' in s ? s.index : '*'}]`;
  }, '');
}

/** Every value the path reaches (several with [*]); missing branches contribute nothing. */
export function readPath(value: unknown, segments: PathSegment[]): unknown[] {
  let current: unknown[] = [value];
  for (const segment of segments) {
    const next: unknown[] = [];
    for (const v of current) {
      if ('key' in segment) {
        if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.prototype.hasOwnProperty.call(v, segment.key)) {
          next.push((v as Record<string, unknown>)[segment.key]);
        }
      } else if (Array.isArray(v)) {
        if ('any' in segment) next.push(...v);
        else if (segment.index < v.length) next.push(v[segment.index]);
      }
    }
    current = next;
  }
  return current;
}

/** Sets an own property, as JSON.parse would: "__proto__" or "constructor" is a key like any other. */
function setOwn(container: Record<string | number, unknown>, key: string | number, value: unknown): void {
  Object.defineProperty(container, key, { value, writable: true, enumerable: true, configurable: true });
}

/**
 * Sets a value, creating objects and arrays on the way (no wildcards). Only own properties are
 * read and written, so a path such as __proto__.x or constructor.prototype.x names data, never
 * Object.prototype. Callers bound the indexes (an index is an array length to be).
 */
export function writePath(target: Record<string, unknown>, segments: PathSegment[], value: unknown): void {
  let node: Record<string, unknown> | unknown[] = target;
  segments.forEach((segment, i) => {
    if ('any' in segment) throw new FieldPathError('[*] cannot be written to');
    const last = i === segments.length - 1;
    const key = 'key' in segment ? segment.key : segment.index;
    if ('index' in segment && !Array.isArray(node)) throw new FieldPathError(`index [${segment.index}] on an object`);
    if ('key' in segment && Array.isArray(node)) throw new FieldPathError(`.${segment.key} on an array`);
    const container = node as Record<string | number, unknown>;
    if (last) {
      setOwn(container, key, value);
      return;
    }
    const nextIsIndex = 'index' in segments[i + 1]!;
    if (!Object.prototype.hasOwnProperty.call(container, key) || container[key] === undefined) setOwn(container, key, nextIsIndex ? [] : {});
    const next = container[key];
    if (next === null || typeof next !== 'object') throw new FieldPathError(`${formatFieldPath(segments.slice(0, i + 1))} holds a value, not ${nextIsIndex ? 'an array' : 'an object'}`);
    node = next as Record<string, unknown> | unknown[];
  });
}
