// Evaluates a parsed Cosmos DB NoSQL query over documents, as the service does it server-side:
// FROM/JOIN, WHERE, GROUP BY and aggregates, ORDER BY, the projection, DISTINCT, OFFSET LIMIT
// and TOP. Semantics follow the service's: an undefined operand, or operands of different types,
// make a comparison undefined (which WHERE treats as false); AND/OR/NOT are three-valued;
// ORDER BY sorts across types as undefined < null < booleans < numbers < strings < arrays <
// objects; aggregates skip undefined values.
import type { Expr, Query, Selection } from './ast';

export class SqlEvaluationError extends Error {}

type Scope = ReadonlyMap<string, unknown>;

interface Context {
  parameters: ReadonlyMap<string, unknown>;
  /** The rows of the current group, where aggregates may appear. */
  group?: Scope[];
  now: () => number;
}

const AGGREGATES = new Set(['COUNT', 'SUM', 'MIN', 'MAX', 'AVG', 'COUNTIF', 'MAKELIST', 'MAKESET']);

function typeRank(v: unknown): number {
  if (v === undefined) return 0;
  if (v === null) return 1;
  if (typeof v === 'boolean') return 2;
  if (typeof v === 'number') return 3;
  if (typeof v === 'string') return 4;
  if (Array.isArray(v)) return 5;
  return 6;
}

/** Canonical JSON (keys sorted): equality of arrays and objects, DISTINCT and GROUP BY keys. */
export function canonical(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
    .join(',')}}`;
}

/** ORDER BY's total order across types. */
export function compareForOrder(a: unknown, b: unknown): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === 'number' || typeof a === 'boolean') return Number(a) - Number(b);
  if (typeof a === 'string') return a < (b as string) ? -1 : a > (b as string) ? 1 : 0;
  if (ra >= 5) {
    const ca = canonical(a);
    const cb = canonical(b);
    return ca < cb ? -1 : ca > cb ? 1 : 0;
  }
  return 0;
}

function equals(a: unknown, b: unknown): boolean | undefined {
  if (a === undefined || b === undefined) return undefined;
  if (typeRank(a) !== typeRank(b)) return undefined;
  return canonical(a) === canonical(b);
}

function compare(op: string, a: unknown, b: unknown): boolean | undefined {
  if (op === '=') return equals(a, b);
  if (op === '!=') {
    const e = equals(a, b);
    return e === undefined ? undefined : !e;
  }
  const comparable =
    (typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string') || (typeof a === 'boolean' && typeof b === 'boolean') || (a === null && b === null);
  if (!comparable) return undefined;
  const c = compareForOrder(a, b);
  switch (op) {
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '>':
      return c > 0;
    default:
      return c >= 0;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): v is string => typeof v === 'string';
const num = (v: unknown): v is number => typeof v === 'number';

function likeRegex(pattern: string, escape: string | undefined): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (escape !== undefined && c === escape && i + 1 < pattern.length) {
      source += pattern[++i]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    } else if (c === '%') source += '[\\s\\S]*';
    else if (c === '_') source += '[\\s\\S]';
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 1);
      if (close < 0) source += '\\[';
      else {
        const body = pattern.slice(i + 1, close);
        source += `[${body.startsWith('^') ? '^' + body.slice(1).replace(/[\]\\]/g, '\\$&') : body.replace(/[\]\\]/g, '\\$&')}]`;
        i = close;
      }
    } else source += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

type Builtin = (args: unknown[], ctx: Context) => unknown;

const stringFn =
  (f: (s: string, ...rest: unknown[]) => unknown): Builtin =>
  ([s, ...rest]) =>
    str(s) ? f(s, ...rest) : undefined;
const mathFn =
  (f: (n: number) => number): Builtin =>
  ([n]) =>
    num(n) ? f(n) : undefined;

const BUILTINS: Record<string, Builtin> = {
  IS_DEFINED: ([v]) => v !== undefined,
  IS_NULL: ([v]) => v === null,
  IS_BOOL: ([v]) => typeof v === 'boolean',
  IS_NUMBER: ([v]) => num(v),
  IS_INTEGER: ([v]) => Number.isInteger(v),
  IS_FINITE_NUMBER: ([v]) => num(v) && Number.isFinite(v),
  IS_STRING: ([v]) => str(v),
  IS_ARRAY: ([v]) => Array.isArray(v),
  IS_OBJECT: ([v]) => isObject(v),
  IS_PRIMITIVE: ([v]) => v === null || ['string', 'number', 'boolean'].includes(typeof v),
  CONCAT: (args) => (args.every(str) ? args.join('') : undefined),
  CONTAINS: stringFn((s, sub, ci) => (str(sub) ? (ci === true ? s.toLowerCase().includes(sub.toLowerCase()) : s.includes(sub)) : undefined)),
  STARTSWITH: stringFn((s, p, ci) => (str(p) ? (ci === true ? s.toLowerCase().startsWith(p.toLowerCase()) : s.startsWith(p)) : undefined)),
  ENDSWITH: stringFn((s, p, ci) => (str(p) ? (ci === true ? s.toLowerCase().endsWith(p.toLowerCase()) : s.endsWith(p)) : undefined)),
  STRINGEQUALS: stringFn((s, o, ci) => (str(o) ? (ci === true ? s.toLowerCase() === o.toLowerCase() : s === o) : undefined)),
  LOWER: stringFn((s) => s.toLowerCase()),
  UPPER: stringFn((s) => s.toUpperCase()),
  LENGTH: stringFn((s) => s.length),
  TRIM: stringFn((s) => s.trim()),
  LTRIM: stringFn((s) => s.trimStart()),
  RTRIM: stringFn((s) => s.trimEnd()),
  REVERSE: stringFn((s) => [...s].reverse().join('')),
  SUBSTRING: stringFn((s, start, length) => (num(start) && num(length) ? s.substring(Math.max(0, start), Math.max(0, start) + Math.max(0, length)) : undefined)),
  LEFT: stringFn((s, n) => (num(n) ? s.slice(0, Math.max(0, n)) : undefined)),
  RIGHT: stringFn((s, n) => (num(n) ? (n <= 0 ? '' : s.slice(-n)) : undefined)),
  INDEX_OF: stringFn((s, sub, from) => (str(sub) ? s.indexOf(sub, num(from) ? from : 0) : undefined)),
  REPLACE: stringFn((s, find, repl) => (str(find) && str(repl) ? s.split(find).join(repl) : undefined)),
  REPLICATE: stringFn((s, n) => (num(n) && n >= 0 ? s.repeat(Math.floor(n)) : undefined)),
  REGEXMATCH: stringFn((s, pattern, flags) => {
    if (!str(pattern)) return undefined;
    const f = str(flags) ? flags.replace(/[^imsx]/g, '').replace('x', '') : '';
    return new RegExp(pattern, f).test(s);
  }),
  TOSTRING: ([v]) => (v === undefined ? undefined : str(v) ? v : JSON.stringify(v)),
  STRINGTONUMBER: stringFn((s) => {
    const n = Number(s.trim());
    return s.trim() !== '' && Number.isFinite(n) ? n : undefined;
  }),
  ARRAY_CONTAINS: ([arr, v, partial]) =>
    Array.isArray(arr)
      ? arr.some((item) => (partial === true && isObject(v) && isObject(item) ? Object.entries(v).every(([k, x]) => equals(item[k], x) === true) : equals(item, v) === true))
      : undefined,
  ARRAY_CONTAINS_ANY: ([arr, ...values]) => (Array.isArray(arr) ? values.some((v) => arr.some((item) => equals(item, v) === true)) : undefined),
  ARRAY_CONTAINS_ALL: ([arr, ...values]) => (Array.isArray(arr) ? values.every((v) => arr.some((item) => equals(item, v) === true)) : undefined),
  ARRAY_LENGTH: ([arr]) => (Array.isArray(arr) ? arr.length : undefined),
  ARRAY_SLICE: ([arr, start, length]) => {
    if (!Array.isArray(arr) || !num(start)) return undefined;
    const from = start < 0 ? Math.max(0, arr.length + start) : start;
    return num(length) ? arr.slice(from, from + Math.max(0, length)) : arr.slice(from);
  },
  ARRAY_CONCAT: (args) => (args.every(Array.isArray) ? (args as unknown[][]).flat(1) : undefined),
  ABS: mathFn(Math.abs),
  CEILING: mathFn(Math.ceil),
  FLOOR: mathFn(Math.floor),
  ROUND: mathFn((n) => Math.sign(n) * Math.round(Math.abs(n))),
  TRUNC: mathFn(Math.trunc),
  SQRT: mathFn(Math.sqrt),
  SIGN: mathFn(Math.sign),
  EXP: mathFn(Math.exp),
  LOG10: mathFn(Math.log10),
  LOG: ([n, base]) => (num(n) ? (num(base) ? Math.log(n) / Math.log(base) : Math.log(n)) : undefined),
  POWER: ([a, b]) => (num(a) && num(b) ? a ** b : undefined),
  PI: () => Math.PI,
  IIF: ([test, a, b]) => (test === true ? a : b),
  GETCURRENTDATETIME: (_, ctx) => new Date(ctx.now()).toISOString().replace('Z', '0000Z'),
  GETCURRENTTIMESTAMP: (_, ctx) => ctx.now(),
};

/** Whether an expression holds an aggregate outside any subquery (then the query aggregates). */
function hasAggregate(e: Expr | undefined): boolean {
  if (!e) return false;
  switch (e.kind) {
    case 'call':
      return (!e.udf && AGGREGATES.has(e.name)) || e.args.some(hasAggregate);
    case 'property':
      return hasAggregate(e.object);
    case 'index':
      return hasAggregate(e.object) || hasAggregate(e.index);
    case 'unary':
      return hasAggregate(e.operand);
    case 'binary':
      return hasAggregate(e.left) || hasAggregate(e.right);
    case 'between':
      return hasAggregate(e.value) || hasAggregate(e.low) || hasAggregate(e.high);
    case 'in':
      return hasAggregate(e.value) || e.list.some(hasAggregate);
    case 'like':
      return hasAggregate(e.value) || hasAggregate(e.pattern);
    case 'conditional':
      return hasAggregate(e.test) || hasAggregate(e.then) || hasAggregate(e.otherwise);
    case 'array':
      return e.items.some(hasAggregate);
    case 'object':
      return e.properties.some((p) => hasAggregate(p.value));
    default:
      return false;
  }
}

function selectionHasAggregate(s: Selection): boolean {
  if (s.kind === 'value') return hasAggregate(s.expr);
  if (s.kind === 'list') return s.items.some((i) => hasAggregate(i.expr));
  return false;
}

function aggregate(name: string, args: Expr[], scope: Scope, ctx: Context): unknown {
  if (!ctx.group) throw new SqlEvaluationError(`The aggregate ${name} is only allowed in the SELECT clause.`);
  const inner = { ...ctx, group: undefined };
  const arg = args[0];
  if (!arg) throw new SqlEvaluationError(`${name} takes one argument.`);
  const values = ctx.group.map((row) => evaluate(arg, row, inner)).filter((v) => v !== undefined);
  void scope;
  switch (name) {
    case 'COUNT':
      return values.length;
    case 'COUNTIF':
      return values.filter((v) => v === true).length;
    case 'SUM':
      return values.every(num) ? values.reduce((a, b) => a + b, 0) : undefined;
    case 'AVG':
      return values.length && values.every(num) ? values.reduce((a, b) => a + b, 0) / values.length : undefined;
    case 'MIN':
    case 'MAX': {
      const candidates = values.filter((v) => v === null || ['string', 'number', 'boolean'].includes(typeof v));
      if (candidates.length !== values.length || candidates.length === 0) return undefined;
      return candidates.reduce((best, v) => ((name === 'MIN' ? compareForOrder(v, best) < 0 : compareForOrder(v, best) > 0) ? v : best));
    }
    case 'MAKELIST':
      return values;
    default: {
      const seen = new Map<string, unknown>();
      for (const v of values) if (!seen.has(canonical(v))) seen.set(canonical(v), v);
      return [...seen.values()];
    }
  }
}

export function evaluate(e: Expr, scope: Scope, ctx: Context): unknown {
  switch (e.kind) {
    case 'literal':
      return e.value;
    case 'parameter':
      if (!ctx.parameters.has(e.name)) throw new SqlEvaluationError(`The parameter ${e.name} is not defined: pass it in the query's parameters.`);
      return ctx.parameters.get(e.name);
    case 'identifier':
      if (!scope.has(e.name)) throw new SqlEvaluationError(`Identifier '${e.name}' could not be resolved.`);
      return scope.get(e.name);
    case 'property': {
      const o = evaluate(e.object, scope, ctx);
      return isObject(o) && Object.hasOwn(o, e.name) ? o[e.name] : undefined;
    }
    case 'index': {
      const o = evaluate(e.object, scope, ctx);
      const i = evaluate(e.index, scope, ctx);
      if (Array.isArray(o) && num(i)) return o[i];
      if (isObject(o) && str(i)) return Object.hasOwn(o, i) ? o[i] : undefined;
      return undefined;
    }
    case 'unary': {
      const v = evaluate(e.operand, scope, ctx);
      if (e.op === 'NOT') return typeof v === 'boolean' ? !v : undefined;
      if (!num(v)) return undefined;
      return e.op === '-' ? -v : e.op === '~' ? ~v : v;
    }
    case 'binary': {
      if (e.op === 'AND') {
        const l = evaluate(e.left, scope, ctx);
        if (l === false) return false;
        const r = evaluate(e.right, scope, ctx);
        if (r === false) return false;
        return l === true && r === true ? true : undefined;
      }
      if (e.op === 'OR') {
        const l = evaluate(e.left, scope, ctx);
        if (l === true) return true;
        const r = evaluate(e.right, scope, ctx);
        if (r === true) return true;
        return l === false && r === false ? false : undefined;
      }
      if (e.op === '??') {
        const l = evaluate(e.left, scope, ctx);
        return l !== undefined ? l : evaluate(e.right, scope, ctx);
      }
      const l = evaluate(e.left, scope, ctx);
      const r = evaluate(e.right, scope, ctx);
      if (['=', '!=', '<', '<=', '>', '>='].includes(e.op)) return compare(e.op, l, r);
      if (e.op === '||') return str(l) && str(r) ? l + r : undefined;
      if (!num(l) || !num(r)) return undefined;
      switch (e.op) {
        case '+':
          return l + r;
        case '-':
          return l - r;
        case '*':
          return l * r;
        case '/':
          return l / r;
        case '%':
          return l % r;
        case '|':
          return l | r;
        case '&':
          return l & r;
        default:
          return l ^ r;
      }
    }
    case 'between': {
      const v = evaluate(e.value, scope, ctx);
      const lo = compare('>=', v, evaluate(e.low, scope, ctx));
      const hi = compare('<=', v, evaluate(e.high, scope, ctx));
      const within = lo === undefined || hi === undefined ? undefined : lo && hi;
      return within === undefined ? undefined : e.negated ? !within : within;
    }
    case 'in': {
      const v = evaluate(e.value, scope, ctx);
      if (v === undefined) return undefined;
      const found = e.list.some((item) => equals(v, evaluate(item, scope, ctx)) === true);
      return e.negated ? !found : found;
    }
    case 'like': {
      const v = evaluate(e.value, scope, ctx);
      const p = evaluate(e.pattern, scope, ctx);
      const esc = e.escape ? evaluate(e.escape, scope, ctx) : undefined;
      if (!str(v) || !str(p)) return undefined;
      const matches = likeRegex(p, str(esc) ? esc : undefined).test(v);
      return e.negated ? !matches : matches;
    }
    case 'conditional':
      return evaluate(e.test, scope, ctx) === true ? evaluate(e.then, scope, ctx) : evaluate(e.otherwise, scope, ctx);
    case 'call': {
      if (e.udf) throw new SqlEvaluationError(`User-defined functions (udf.${e.name}) are not supported by this server.`);
      if (AGGREGATES.has(e.name)) return aggregate(e.name, e.args, scope, ctx);
      const fn = BUILTINS[e.name];
      if (!fn) throw new SqlEvaluationError(`'${e.name}' is not a recognized built-in function name.`);
      return fn(
        e.args.map((a) => evaluate(a, scope, ctx)),
        ctx,
      );
    }
    case 'array':
      return e.items.map((i) => evaluate(i, scope, ctx)).filter((v) => v !== undefined);
    case 'object': {
      const o: Record<string, unknown> = {};
      for (const p of e.properties) {
        const v = evaluate(p.value, scope, ctx);
        if (v !== undefined) o[p.key] = v;
      }
      return o;
    }
    case 'subquery': {
      const results = run(e.query, undefined, { ...ctx, group: undefined }, scope);
      if (e.mode === 'exists') return results.length > 0;
      if (e.mode === 'array') return results;
      return results[0];
    }
  }
}

function rootIdentifier(e: Expr): string | undefined {
  if (e.kind === 'identifier') return e.name;
  if (e.kind === 'property' || e.kind === 'index') return rootIdentifier(e.object);
  return undefined;
}

function sourceRows(q: Query, documents: readonly unknown[] | undefined, ctx: Context, outer: Scope): Scope[] {
  const from = q.from;
  if (!from) return [outer];
  const rows: Scope[] = [];
  const bind = (scope: Scope, alias: string, value: unknown) => new Map([...scope, [alias, value]]);
  if (!from.expr) {
    if (documents) for (const d of documents) rows.push(bind(outer, from.alias, d));
    else if (outer.has(from.alias)) rows.push(outer);
    else throw new SqlEvaluationError(`Identifier '${from.alias}' could not be resolved.`);
  } else {
    // FROM x IN c.items at the top level: c stands for each document.
    const bases: Scope[] = [];
    const root = rootIdentifier(from.expr);
    if (documents && root !== undefined) for (const d of documents) bases.push(bind(outer, root, d));
    else bases.push(outer);
    for (const base of bases) {
      const v = evaluate(from.expr, base, ctx);
      if (from.iterate) {
        if (Array.isArray(v)) for (const item of v) rows.push(bind(outer, from.alias, item));
      } else if (v !== undefined) rows.push(bind(outer, from.alias, v));
    }
  }
  let current = rows;
  for (const join of q.joins) {
    const next: Scope[] = [];
    for (const row of current) {
      const v = evaluate(join.expr!, row, ctx);
      if (join.iterate) {
        if (Array.isArray(v)) for (const item of v) next.push(bind(row, join.alias, item));
      } else if (v !== undefined) next.push(bind(row, join.alias, v));
    }
    current = next;
  }
  return current;
}

function project(q: Query, scope: Scope, ctx: Context): unknown {
  const s = q.selection;
  if (s.kind === 'star') {
    if (q.joins.length > 0) throw new SqlEvaluationError("'SELECT *' is only valid with a single input set.");
    if (!q.from) throw new SqlEvaluationError("'SELECT *' is not valid if FROM clause is omitted.");
    return scope.get(q.from.alias);
  }
  if (s.kind === 'value') return evaluate(s.expr, scope, ctx);
  const o: Record<string, unknown> = {};
  let unnamed = 0;
  for (const item of s.items) {
    const name = item.alias ?? (item.expr.kind === 'property' ? item.expr.name : item.expr.kind === 'identifier' ? item.expr.name : `$${++unnamed}`);
    const v = evaluate(item.expr, scope, ctx);
    if (v !== undefined) o[name] = v;
  }
  return o;
}

function integer(e: Expr | undefined, ctx: Context, what: string): number | undefined {
  if (!e) return undefined;
  const v = evaluate(e, new Map(), ctx);
  if (!Number.isInteger(v) || (v as number) < 0) throw new SqlEvaluationError(`The ${what} must be a non-negative integer.`);
  return v as number;
}

function run(q: Query, documents: readonly unknown[] | undefined, ctx: Context, outer: Scope): unknown[] {
  let rows = sourceRows(q, documents, ctx, outer);
  if (q.where) rows = rows.filter((row) => evaluate(q.where!, row, ctx) === true);
  let results: unknown[];
  if (q.groupBy.length > 0 || selectionHasAggregate(q.selection)) {
    if (q.selection.kind === 'star') throw new SqlEvaluationError("'SELECT *' is not valid with GROUP BY or aggregates.");
    const groups = new Map<string, Scope[]>();
    if (q.groupBy.length === 0) groups.set('', rows);
    else
      for (const row of rows) {
        const key = canonical(q.groupBy.map((g) => evaluate(g, row, ctx)));
        const g = groups.get(key);
        if (g) g.push(row);
        else groups.set(key, [row]);
      }
    results = [...groups.values()].map((group) => project(q, group[0] ?? outer, { ...ctx, group }));
  } else {
    if (q.orderBy.length > 0) {
      const keyed = rows.map((row) => ({ row, keys: q.orderBy.map((o) => evaluate(o.expr, row, ctx)) }));
      keyed.sort((a, b) => {
        for (let i = 0; i < q.orderBy.length; i++) {
          const c = compareForOrder(a.keys[i], b.keys[i]);
          if (c !== 0) return q.orderBy[i]!.descending ? -c : c;
        }
        return 0;
      });
      rows = keyed.map((k) => k.row);
    }
    results = rows.map((row) => project(q, row, ctx));
  }
  results = results.filter((r) => r !== undefined);
  if (q.distinct) {
    const seen = new Set<string>();
    results = results.filter((r) => {
      const k = canonical(r);
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  }
  const offset = integer(q.offset, ctx, 'OFFSET');
  const limit = integer(q.limit, ctx, 'LIMIT');
  if (offset !== undefined) results = results.slice(offset, offset + (limit ?? results.length));
  const top = integer(q.top, ctx, 'TOP');
  if (top !== undefined) results = results.slice(0, top);
  return results;
}

export interface ExecuteOptions {
  parameters?: { name: string; value: unknown }[];
  now?: () => number;
}

/** Every result of the query over these documents, in order. */
export function execute(q: Query, documents: readonly unknown[], options: ExecuteOptions = {}): unknown[] {
  const parameters = new Map<string, unknown>();
  for (const p of options.parameters ?? []) parameters.set(p.name.startsWith('@') ? p.name : `@${p.name}`, p.value);
  return run(q, documents, { parameters, now: options.now ?? Date.now }, new Map());
}

/** A predicate over one document bound to `alias` (a patch's condition). */
export function test(e: Expr, alias: string, document: unknown, options: ExecuteOptions = {}): boolean {
  const parameters = new Map<string, unknown>((options.parameters ?? []).map((p) => [p.name, p.value]));
  return evaluate(e, new Map([[alias, document]]), { parameters, now: options.now ?? Date.now }) === true;
}
