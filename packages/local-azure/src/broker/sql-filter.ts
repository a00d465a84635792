// Service Bus SQL filter language (SqlFilter / SqlRuleFilter), as documented in
// "Subscription rule SQL filter syntax": predicates over system properties (sys.X) and
// application properties (user.X or unqualified), never the body. Evaluation uses SQL's
// three-valued logic: a missing application property is UNKNOWN, and a message matches only
// when the whole predicate is TRUE. Names and keywords are case-insensitive; string
// comparisons are ordinal (case-sensitive), as C# operator binding implies.

import type { CorrelationFilterDefinition as CorrelationFilter } from '@backbone/azure-model/topology';

export type SqlValue = string | number | boolean | Date | null;
/** UNKNOWN in three-valued logic: a missing property or an undefined comparison. */
const UNKNOWN = undefined;
type Value = SqlValue | undefined;
type Truth = boolean | undefined;

export interface FilterMessage {
  system: Record<string, SqlValue | undefined>;
  application: Record<string, SqlValue>;
}

/** System properties a filter may name (sys.X), keyed by lower-case name. */
export const SYSTEM_PROPERTIES: Record<string, string> = Object.fromEntries(
  [
    'MessageId',
    'CorrelationId',
    'To',
    'ReplyTo',
    'Label',
    'SessionId',
    'ReplyToSessionId',
    'ContentType',
    'PartitionKey',
    'DeliveryCount',
    'SequenceNumber',
    'EnqueuedTimeUtc',
    'EnqueuedSequenceNumber',
    'ExpiresAtUtc',
    'ScheduledEnqueueTimeUtc',
    'TimeToLive',
    'Size',
  ].map((n) => [n.toLowerCase(), n]),
);

export class SqlFilterError extends Error {
  override name = 'SqlFilterError';
}

// ---------------------------------------------------------------- tokens
type Token =
  | { kind: 'number'; value: number; pos: number }
  | { kind: 'string'; value: string; pos: number }
  | { kind: 'ident'; value: string; quoted: boolean; pos: number }
  | { kind: 'op'; value: string; pos: number }
  | { kind: 'eof'; pos: number };

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'like', 'escape', 'is', 'null', 'true', 'false', 'exists']);

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const fail = (msg: string): never => {
    throw new SqlFilterError(`${msg} at position ${i} in "${text}"`);
  };
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      let value = '';
      const pos = i++;
      for (;;) {
        if (i >= text.length) fail('Unterminated string');
        if (text[i] === "'") {
          if (text[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += text[i++];
      }
      tokens.push({ kind: 'string', value, pos });
    } else if (c === '[' || c === '"') {
      const close = c === '[' ? ']' : '"';
      let value = '';
      const pos = i++;
      for (;;) {
        if (i >= text.length) fail('Unterminated delimited identifier');
        if (text[i] === close) {
          if (text[i + 1] === close) {
            value += close;
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += text[i++];
      }
      tokens.push({ kind: 'ident', value, quoted: true, pos });
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(text[i + 1] ?? ''))) {
      const m = /^(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/.exec(text.slice(i))!;
      tokens.push({ kind: 'number', value: Number(m[0]), pos: i });
      i += m[0].length;
    } else if (/[\p{L}_]/u.test(c)) {
      const m = /^[\p{L}_][\p{L}\p{Nd}_]*/u.exec(text.slice(i))!;
      tokens.push({ kind: 'ident', value: m[0], quoted: false, pos: i });
      i += m[0].length;
    } else {
      const two = text.slice(i, i + 2);
      if (['<>', '!=', '<=', '>='].includes(two)) {
        tokens.push({ kind: 'op', value: two, pos: i });
        i += 2;
      } else if ('=<>()+-*/%,.;'.includes(c)) {
        tokens.push({ kind: 'op', value: c, pos: i });
        i++;
      } else {
        fail(`Unexpected character '${c}'`);
      }
    }
  }
  tokens.push({ kind: 'eof', pos: text.length });
  return tokens;
}

// ---------------------------------------------------------------- AST
type Expr = { t: 'const'; value: SqlValue } | { t: 'prop'; scope: 'sys' | 'user'; name: string } | { t: 'neg'; e: Expr } | { t: 'arith'; op: string; l: Expr; r: Expr } | { t: 'newid' };

type Pred =
  | { t: 'and' | 'or'; l: Pred; r: Pred }
  | { t: 'not'; p: Pred }
  | { t: 'cmp'; op: string; l: Expr; r: Expr }
  | { t: 'isnull'; e: Expr; negate: boolean }
  | { t: 'in'; e: Expr; list: Expr[]; negate: boolean }
  | { t: 'like'; e: Expr; pattern: Expr; escape?: Expr; negate: boolean }
  | { t: 'exists'; prop: Expr }
  | { t: 'bool'; e: Expr };

type Statement = { t: 'set'; prop: Extract<Expr, { t: 'prop' }>; value: Expr } | { t: 'remove'; prop: Extract<Expr, { t: 'prop' }> };

/** The system properties an action may set: the message's string headers. */
const SETTABLE_SYSTEM = new Set(['MessageId', 'CorrelationId', 'To', 'ReplyTo', 'Label', 'SessionId', 'ReplyToSessionId', 'ContentType']);

class Parser {
  #i = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly text: string,
  ) {}

  get #tok(): Token {
    return this.tokens[this.#i]!;
  }

  #fail(msg: string): never {
    throw new SqlFilterError(`${msg} at position ${this.#tok.pos} in "${this.text}"`);
  }

  #isKeyword(word: string): boolean {
    const t = this.#tok;
    return t.kind === 'ident' && !t.quoted && t.value.toLowerCase() === word;
  }

  #acceptKeyword(word: string): boolean {
    if (this.#isKeyword(word)) {
      this.#i++;
      return true;
    }
    return false;
  }

  #atEnd(): boolean {
    return this.#tok.kind === 'eof';
  }

  #isOp(op: string): boolean {
    return this.#tok.kind === 'op' && this.#tok.value === op;
  }

  #expectOp(op: string): void {
    if (!this.#isOp(op)) this.#fail(`Expected '${op}'`);
    this.#i++;
  }

  parse(): Pred {
    const p = this.#or();
    if (this.#tok.kind !== 'eof') this.#fail('Unexpected token');
    return p;
  }

  /** A rule action: SET <property> = <expression> and REMOVE <property> statements, separated by semicolons. */
  parseActions(): Statement[] {
    const statements: Statement[] = [];
    for (;;) {
      while (this.#isOp(';')) this.#i++;
      if (this.#atEnd()) break;
      const verb = this.#acceptKeyword('set') ? 'set' : this.#acceptKeyword('remove') ? 'remove' : this.#fail('Expected SET or REMOVE');
      const target = this.#atom();
      if (target.t !== 'prop') this.#fail(`${verb.toUpperCase()} takes a property name`);
      if (target.scope === 'sys' && (verb === 'remove' || !SETTABLE_SYSTEM.has(target.name))) this.#fail(`sys.${target.name} cannot be ${verb === 'set' ? 'set' : 'removed'}`);
      if (verb === 'remove') {
        statements.push({ t: 'remove', prop: target });
      } else {
        this.#expectOp('=');
        statements.push({ t: 'set', prop: target, value: this.#expr() });
      }
      if (!this.#atEnd() && !this.#isOp(';')) this.#fail('Expected ; between statements');
    }
    if (statements.length === 0) this.#fail('An action needs at least one SET or REMOVE');
    return statements;
  }

  #or(): Pred {
    let l = this.#and();
    while (this.#acceptKeyword('or')) l = { t: 'or', l, r: this.#and() };
    return l;
  }

  #and(): Pred {
    let l = this.#not();
    while (this.#acceptKeyword('and')) l = { t: 'and', l, r: this.#not() };
    return l;
  }

  #not(): Pred {
    if (this.#acceptKeyword('not')) return { t: 'not', p: this.#not() };
    return this.#primaryPredicate();
  }

  #primaryPredicate(): Pred {
    if (this.#acceptKeyword('exists')) {
      this.#expectOp('(');
      const prop = this.#expr();
      if (prop.t !== 'prop') this.#fail('EXISTS takes a property name');
      this.#expectOp(')');
      return { t: 'exists', prop };
    }
    // A parenthesis opens either a nested predicate or an arithmetic expression; try the
    // predicate first and fall back, as the grammar is ambiguous here.
    if (this.#isOp('(')) {
      const save = this.#i;
      try {
        this.#i++;
        const inner = this.#or();
        this.#expectOp(')');
        if (!this.#startsComparison()) return inner;
      } catch (error) {
        if (!(error instanceof SqlFilterError)) throw error;
      }
      this.#i = save;
    }
    const left = this.#expr();
    return this.#comparisonTail(left);
  }

  #startsComparison(): boolean {
    const t = this.#tok;
    if (t.kind === 'op') return ['=', '<>', '!=', '<', '>', '<=', '>=', '+', '-', '*', '/', '%'].includes(t.value);
    return this.#isKeyword('is') || this.#isKeyword('in') || this.#isKeyword('like') || this.#isKeyword('not');
  }

  #comparisonTail(left: Expr): Pred {
    const t = this.#tok;
    if (t.kind === 'op' && ['=', '<>', '!=', '<', '>', '<=', '>='].includes(t.value)) {
      this.#i++;
      return { t: 'cmp', op: t.value === '!=' ? '<>' : t.value, l: left, r: this.#expr() };
    }
    if (this.#acceptKeyword('is')) {
      const negate = this.#acceptKeyword('not');
      if (!this.#acceptKeyword('null')) this.#fail('Expected NULL after IS');
      return { t: 'isnull', e: left, negate };
    }
    const negate = this.#acceptKeyword('not');
    if (this.#acceptKeyword('in')) {
      this.#expectOp('(');
      const list = [this.#expr()];
      while (this.#isOp(',')) {
        this.#i++;
        list.push(this.#expr());
      }
      this.#expectOp(')');
      return { t: 'in', e: left, list, negate };
    }
    if (this.#acceptKeyword('like')) {
      const pattern = this.#expr();
      const escape = this.#acceptKeyword('escape') ? this.#expr() : undefined;
      return { t: 'like', e: left, pattern, escape, negate };
    }
    if (negate) this.#fail('Expected IN or LIKE after NOT');
    // A bare boolean expression such as TRUE, or a boolean property.
    return { t: 'bool', e: left };
  }

  #expr(): Expr {
    let l = this.#term();
    while (this.#isOp('+') || this.#isOp('-')) {
      const op = (this.tokens[this.#i++] as { value: string }).value;
      l = { t: 'arith', op, l, r: this.#term() };
    }
    return l;
  }

  #term(): Expr {
    let l = this.#unary();
    while (this.#isOp('*') || this.#isOp('/') || this.#isOp('%')) {
      const op = (this.tokens[this.#i++] as { value: string }).value;
      l = { t: 'arith', op, l, r: this.#unary() };
    }
    return l;
  }

  #unary(): Expr {
    if (this.#isOp('-')) {
      this.#i++;
      return { t: 'neg', e: this.#unary() };
    }
    if (this.#isOp('+')) {
      this.#i++;
      return this.#unary();
    }
    return this.#atom();
  }

  #atom(): Expr {
    const t = this.#tok;
    if (t.kind === 'number') {
      this.#i++;
      return { t: 'const', value: t.value };
    }
    if (t.kind === 'string') {
      this.#i++;
      return { t: 'const', value: t.value };
    }
    if (this.#isOp('(')) {
      this.#i++;
      const e = this.#expr();
      this.#expectOp(')');
      return e;
    }
    if (t.kind === 'ident') {
      const lower = t.value.toLowerCase();
      if (!t.quoted && (lower === 'true' || lower === 'false')) {
        this.#i++;
        return { t: 'const', value: lower === 'true' };
      }
      if (!t.quoted && lower === 'null') {
        this.#i++;
        return { t: 'const', value: null };
      }
      if (!t.quoted && KEYWORDS.has(lower)) this.#fail(`Unexpected keyword ${t.value.toUpperCase()}`);
      this.#i++;
      if (!t.quoted && (lower === 'newid' || lower === 'property' || lower === 'p') && this.#isOp('(')) {
        this.#i++;
        if (lower === 'newid') {
          this.#expectOp(')');
          return { t: 'newid' };
        }
        const nameTok = this.#tok;
        if (nameTok.kind !== 'string') this.#fail('property() takes a string name');
        this.#i++;
        this.#expectOp(')');
        return this.#property('user', nameTok.value);
      }
      if (this.#isOp('.') && !t.quoted && (lower === 'sys' || lower === 'user')) {
        this.#i++;
        const nameTok = this.#tok;
        if (nameTok.kind !== 'ident') this.#fail('Expected a property name');
        this.#i++;
        return this.#property(lower, nameTok.value);
      }
      return this.#property('user', t.value);
    }
    return this.#fail('Expected an expression');
  }

  #property(scope: 'sys' | 'user', name: string): Expr {
    if (scope === 'sys') {
      const canonical = SYSTEM_PROPERTIES[name.toLowerCase()];
      // Naming a system property that does not exist is an error in Service Bus too.
      if (!canonical) this.#fail(`Unknown system property sys.${name}`);
      return { t: 'prop', scope, name: canonical };
    }
    return { t: 'prop', scope, name };
  }
}

// ---------------------------------------------------------------- evaluation
function lookup(msg: FilterMessage, e: Extract<Expr, { t: 'prop' }>): Value {
  if (e.scope === 'sys') {
    const v = msg.system[e.name];
    return v === undefined ? null : v;
  }
  // Application property names are case-insensitive in filters.
  if (Object.prototype.hasOwnProperty.call(msg.application, e.name)) return msg.application[e.name];
  const lower = e.name.toLowerCase();
  for (const [k, v] of Object.entries(msg.application)) if (k.toLowerCase() === lower) return v;
  return UNKNOWN;
}

function evalExpr(e: Expr, msg: FilterMessage): Value {
  switch (e.t) {
    case 'const':
      return e.value;
    case 'prop':
      return lookup(msg, e);
    case 'newid':
      return crypto.randomUUID();
    case 'neg': {
      const v = evalExpr(e.e, msg);
      return typeof v === 'number' ? -v : UNKNOWN;
    }
    case 'arith': {
      const l = evalExpr(e.l, msg);
      const r = evalExpr(e.r, msg);
      if (e.op === '+' && typeof l === 'string' && typeof r === 'string') return l + r;
      if (typeof l !== 'number' || typeof r !== 'number') return UNKNOWN;
      switch (e.op) {
        case '+':
          return l + r;
        case '-':
          return l - r;
        case '*':
          return l * r;
        case '/':
          return r === 0 ? UNKNOWN : Number.isInteger(l) && Number.isInteger(r) ? Math.trunc(l / r) : l / r;
        default:
          return r === 0 ? UNKNOWN : l % r;
      }
    }
  }
}

function comparable(v: Value): number | string | boolean | undefined {
  if (v instanceof Date) return v.getTime();
  if (v === null || v === undefined) return undefined;
  return v;
}

function compare(op: string, lv: Value, rv: Value): Truth {
  const l = comparable(lv);
  const r = comparable(rv);
  if (l === undefined || r === undefined) return UNKNOWN;
  // No implicit conversion between strings, numbers and booleans: the comparison is undefined.
  if (typeof l !== typeof r) return UNKNOWN;
  switch (op) {
    case '=':
      return l === r;
    case '<>':
      return l !== r;
    case '<':
      return l < r;
    case '>':
      return l > r;
    case '<=':
      return l <= r;
    default:
      return l >= r;
  }
}

function likeToRegExp(pattern: string, escape: string | undefined): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (escape !== undefined && c === escape && i + 1 < pattern.length) {
      source += pattern[++i]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    } else if (c === '%') {
      source += '[\\s\\S]*';
    } else if (c === '_') {
      source += '[\\s\\S]';
    } else {
      source += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`, 'u');
}

function not(v: Truth): Truth {
  return v === UNKNOWN ? UNKNOWN : !v;
}

function evalPred(p: Pred, msg: FilterMessage): Truth {
  switch (p.t) {
    case 'and': {
      const l = evalPred(p.l, msg);
      if (l === false) return false;
      const r = evalPred(p.r, msg);
      if (r === false) return false;
      return l === true && r === true ? true : UNKNOWN;
    }
    case 'or': {
      const l = evalPred(p.l, msg);
      if (l === true) return true;
      const r = evalPred(p.r, msg);
      if (r === true) return true;
      return l === false && r === false ? false : UNKNOWN;
    }
    case 'not':
      return not(evalPred(p.p, msg));
    case 'cmp':
      return compare(p.op, evalExpr(p.l, msg), evalExpr(p.r, msg));
    case 'isnull': {
      const v = evalExpr(p.e, msg);
      const isNull = v === null || v === undefined;
      return p.negate ? !isNull : isNull;
    }
    case 'in': {
      const v = evalExpr(p.e, msg);
      if (v === null || v === undefined) return UNKNOWN;
      let result: Truth = false;
      for (const item of p.list) {
        const eq = compare('=', v, evalExpr(item, msg));
        if (eq === true) {
          result = true;
          break;
        }
        if (eq === UNKNOWN) result = UNKNOWN;
      }
      return p.negate ? not(result) : result;
    }
    case 'like': {
      const v = evalExpr(p.e, msg);
      const pattern = evalExpr(p.pattern, msg);
      const escape = p.escape ? evalExpr(p.escape, msg) : undefined;
      if (typeof v !== 'string' || typeof pattern !== 'string') return UNKNOWN;
      if (p.escape && (typeof escape !== 'string' || escape.length !== 1)) return UNKNOWN;
      const matched = likeToRegExp(pattern, escape as string | undefined).test(v);
      return p.negate ? !matched : matched;
    }
    case 'exists': {
      const prop = p.prop as Extract<Expr, { t: 'prop' }>;
      if (prop.scope === 'sys') return msg.system[prop.name] !== undefined && msg.system[prop.name] !== null;
      return lookup(msg, prop) !== UNKNOWN;
    }
    case 'bool': {
      const v = evalExpr(p.e, msg);
      return typeof v === 'boolean' ? v : UNKNOWN;
    }
  }
}

export interface CompiledFilter {
  readonly expression: string;
  matches(msg: FilterMessage): boolean;
}

/** Parses once (throwing SqlFilterError with the position on bad syntax), evaluates many times. */
export function compileSqlFilter(expression: string): CompiledFilter {
  if (expression.length > 1024) throw new SqlFilterError('A SQL filter is limited to 1024 characters');
  const ast = new Parser(tokenize(expression), expression).parse();
  return { expression, matches: (msg) => evalPred(ast, msg) === true };
}

const CORRELATION_SYSTEM: [keyof CorrelationFilter, string][] = [
  ['correlationId', 'CorrelationId'],
  ['messageId', 'MessageId'],
  ['to', 'To'],
  ['replyTo', 'ReplyTo'],
  ['label', 'Label'],
  ['sessionId', 'SessionId'],
  ['replyToSessionId', 'ReplyToSessionId'],
  ['contentType', 'ContentType'],
];

/** A correlation filter is a conjunction of exact, case-sensitive equalities. */
export function compileCorrelationFilter(filter: CorrelationFilter): CompiledFilter {
  return {
    expression: JSON.stringify(filter),
    matches(msg) {
      for (const [key, sys] of CORRELATION_SYSTEM) {
        const expected = filter[key];
        if (expected !== undefined && msg.system[sys] !== expected) return false;
      }
      for (const [name, expected] of Object.entries(filter.properties ?? {})) {
        const actual = msg.application[name];
        if (actual instanceof Date ? actual.getTime() !== expected : actual !== expected) return false;
      }
      return true;
    },
  };
}

export interface CompiledAction {
  readonly expression: string;
  /** The message as the action leaves it: statements run in order, each seeing what the ones before it set. */
  apply(msg: FilterMessage): FilterMessage;
}

/** A SqlRuleAction, parsed once; throws SqlFilterError with the position on bad syntax. */
export function compileSqlAction(expression: string): CompiledAction {
  if (expression.length > 1024) throw new SqlFilterError('A SQL action is limited to 1024 characters');
  const statements = new Parser(tokenize(expression), expression).parseActions();
  return {
    expression,
    apply(msg) {
      const out: FilterMessage = { system: { ...msg.system }, application: { ...msg.application } };
      for (const st of statements) {
        // Application property names are case-insensitive: the statement replaces whatever casing is there.
        const existing = st.prop.scope === 'user' ? Object.keys(out.application).find((k) => k.toLowerCase() === st.prop.name.toLowerCase()) : undefined;
        if (existing !== undefined) delete out.application[existing];
        if (st.t === 'remove') continue;
        const value = evalExpr(st.value, out);
        const v = value === UNKNOWN ? null : value;
        if (st.prop.scope === 'sys') out.system[st.prop.name] = v === null ? undefined : v instanceof Date ? v.toISOString() : String(v);
        else out.application[existing ?? st.prop.name] = v;
      }
      return out;
    },
  };
}
