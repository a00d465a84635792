// A recursive-descent parser for Cosmos DB's NoSQL query language. Hand-written, as the Service
// Bus SQL filter beside it is: the grammar is small (one statement, a dozen precedence levels)
// and a parser toolkit would add a dependency and a grammar DSL for less code than it replaces.
// Keywords are case-insensitive; identifiers and property names are not. Errors are the
// service's 400 with the position, without anything that would make the SDK plan the query itself.
import type { Expr, Query, SelectItem, Selection, SortItem, Source } from './ast';

export class SqlSyntaxError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
  }
}

type TokenKind = 'number' | 'string' | 'identifier' | 'parameter' | 'punct' | 'eof';
interface Token {
  kind: TokenKind;
  text: string;
  value?: unknown;
  position: number;
}

const PUNCT = ['<=', '>=', '!=', '<>', '||', '??', '(', ')', '[', ']', '{', '}', ',', '.', ':', '?', '*', '/', '%', '+', '-', '=', '<', '>', '&', '|', '^', '~'];

const KEYWORDS = new Set('SELECT DISTINCT TOP VALUE FROM WHERE ORDER BY GROUP ASC DESC AND OR NOT IN BETWEEN LIKE ESCAPE AS JOIN OFFSET LIMIT EXISTS ARRAY TRUE FALSE NULL UNDEFINED UDF'.split(' '));

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '-' && text[i + 1] === '-') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    const start = i;
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(text[i + 1] ?? ''))) {
      const m = /^(0x[0-9a-fA-F]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)/.exec(text.slice(i))!;
      i += m[0].length;
      tokens.push({ kind: 'number', text: m[0], value: Number(m[0]), position: start });
      continue;
    }
    if (c === "'" || c === '"') {
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new SqlSyntaxError('Unterminated string literal', start);
        const ch = text[i]!;
        if (ch === c) {
          i++;
          break;
        }
        if (ch === '\\') {
          const next = text[i + 1] ?? '';
          const simple: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', '"': '"', "'": "'", '\\': '\\', '/': '/' };
          if (next === 'u') {
            value += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
            i += 6;
          } else {
            value += simple[next] ?? next;
            i += 2;
          }
          continue;
        }
        value += ch;
        i++;
      }
      tokens.push({ kind: 'string', text: text.slice(start, i), value, position: start });
      continue;
    }
    if (c === '@') {
      const m = /^@[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
      if (!m) throw new SqlSyntaxError(`Syntax error, incorrect syntax near '@'.`, i);
      i += m[0].length;
      tokens.push({ kind: 'parameter', text: m[0], position: start });
      continue;
    }
    if (/[A-Za-z_$]/.test(c)) {
      const m = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(text.slice(i))!;
      i += m[0].length;
      tokens.push({ kind: 'identifier', text: m[0], position: start });
      continue;
    }
    const p = PUNCT.find((op) => text.startsWith(op, i));
    if (!p) throw new SqlSyntaxError(`Syntax error, incorrect syntax near '${c}'.`, i);
    i += p.length;
    tokens.push({ kind: 'punct', text: p, position: start });
  }
  tokens.push({ kind: 'eof', text: '', position: text.length });
  return tokens;
}

/**
 * How deep expressions may nest — parentheses, unary operators, subqueries, and the operator
 * chains the grammar folds into nested nodes. The parser and the evaluator walk the tree
 * recursively; a query nested past this is refused (400) rather than overflow the stack.
 */
export const MAX_SQL_NESTING = 256;

class Parser {
  #i = 0;
  #depth = 0;
  constructor(private readonly tokens: Token[]) {}

  /** Runs one level of the grammar's recursion, refusing a query that nests too deeply. */
  #nested<T>(parse: () => T): T {
    if (++this.#depth > MAX_SQL_NESTING) throw new SqlSyntaxError(`The query nests expressions more than ${MAX_SQL_NESTING} levels deep.`, this.#t.position);
    try {
      return parse();
    } finally {
      this.#depth--;
    }
  }

  get #t(): Token {
    return this.tokens[this.#i]!;
  }

  #fail(token = this.#t): never {
    throw new SqlSyntaxError(token.kind === 'eof' ? 'Syntax error, unexpected end-of-input.' : `Syntax error, incorrect syntax near '${token.text}'.`, token.position);
  }

  #isKeyword(word: string, offset = 0): boolean {
    const t = this.tokens[this.#i + offset]!;
    return t.kind === 'identifier' && t.text.toUpperCase() === word;
  }

  #keyword(word: string): boolean {
    if (!this.#isKeyword(word)) return false;
    this.#i++;
    return true;
  }

  #expectKeyword(word: string): void {
    if (!this.#keyword(word)) this.#fail();
  }

  #punct(p: string): boolean {
    if (this.#t.kind !== 'punct' || this.#t.text !== p) return false;
    this.#i++;
    return true;
  }

  #expect(p: string): void {
    if (!this.#punct(p)) this.#fail();
  }

  #name(): string {
    const t = this.#t;
    if (t.kind !== 'identifier' || KEYWORDS.has(t.text.toUpperCase())) this.#fail();
    this.#i++;
    return t.text;
  }

  atEnd(): boolean {
    return this.#t.kind === 'eof';
  }

  end(): void {
    if (!this.atEnd()) this.#fail();
  }

  query(): Query {
    this.#expectKeyword('SELECT');
    const distinct = this.#keyword('DISTINCT');
    const top = this.#keyword('TOP') ? this.#primary() : undefined;
    const selection = this.#selection();
    let from: Source | undefined;
    const joins: Source[] = [];
    if (this.#keyword('FROM')) {
      from = this.#source(true);
      while (this.#keyword('JOIN')) joins.push(this.#source(false));
    }
    const where = this.#keyword('WHERE') ? this.expression() : undefined;
    const groupBy: Expr[] = [];
    if (this.#keyword('GROUP')) {
      this.#expectKeyword('BY');
      do groupBy.push(this.expression());
      while (this.#punct(','));
    }
    const orderBy: SortItem[] = [];
    if (this.#keyword('ORDER')) {
      this.#expectKeyword('BY');
      do {
        const expr = this.expression();
        const descending = this.#keyword('DESC');
        if (!descending) this.#keyword('ASC');
        orderBy.push({ expr, descending });
      } while (this.#punct(','));
    }
    let offset: Expr | undefined;
    let limit: Expr | undefined;
    if (this.#keyword('OFFSET')) {
      offset = this.#primary();
      this.#expectKeyword('LIMIT');
      limit = this.#primary();
    }
    return { distinct, top, selection, from, joins, where, groupBy, orderBy, offset, limit };
  }

  #selection(): Selection {
    if (this.#punct('*')) return { kind: 'star' };
    if (this.#keyword('VALUE')) return { kind: 'value', expr: this.expression() };
    const items: SelectItem[] = [];
    do {
      const expr = this.expression();
      let alias: string | undefined;
      if (this.#keyword('AS')) alias = this.#name();
      else if (this.#t.kind === 'identifier' && !KEYWORDS.has(this.#t.text.toUpperCase())) alias = this.#name();
      items.push({ expr, alias });
    } while (this.#punct(','));
    return { kind: 'list', items };
  }

  /** `c`, `root r`, `c IN expr`, `expr AS x`. */
  #source(first: boolean): Source {
    if (this.#t.kind === 'identifier' && this.#isKeyword('IN', 1)) {
      const alias = this.#name();
      this.#expectKeyword('IN');
      return { alias, expr: this.#postfix(), iterate: true };
    }
    const expr = this.#postfix();
    let alias: string | undefined;
    if (this.#keyword('AS')) alias = this.#name();
    else if (this.#t.kind === 'identifier' && !KEYWORDS.has(this.#t.text.toUpperCase())) alias = this.#name();
    if (first && expr.kind === 'identifier') return { alias: alias ?? expr.name, iterate: false };
    if (alias === undefined) {
      if (expr.kind === 'property') alias = expr.name;
      else this.#fail();
    }
    return { alias, expr, iterate: false };
  }

  expression(): Expr {
    return this.#nested(() => this.#conditional());
  }

  #conditional(): Expr {
    const test = this.#coalesce();
    if (this.#punct('?')) {
      const then = this.expression();
      this.#expect(':');
      return { kind: 'conditional', test, then, otherwise: this.expression() };
    }
    return test;
  }

  #coalesce(): Expr {
    let left = this.#or();
    while (this.#punct('??')) left = { kind: 'binary', op: '??', left, right: this.#or() };
    return left;
  }

  #or(): Expr {
    let left = this.#and();
    while (this.#keyword('OR')) left = { kind: 'binary', op: 'OR', left, right: this.#and() };
    return left;
  }

  #and(): Expr {
    let left = this.#not();
    while (this.#keyword('AND')) left = { kind: 'binary', op: 'AND', left, right: this.#not() };
    return left;
  }

  #not(): Expr {
    if (this.#isKeyword('NOT') && !this.#isKeyword('IN', 1) && !this.#isKeyword('BETWEEN', 1) && !this.#isKeyword('LIKE', 1)) {
      this.#i++;
      return { kind: 'unary', op: 'NOT', operand: this.#not() };
    }
    return this.#comparison();
  }

  #comparison(): Expr {
    let left = this.#bitOr();
    for (;;) {
      const t = this.#t;
      if (t.kind === 'punct' && ['=', '!=', '<>', '<', '<=', '>', '>='].includes(t.text)) {
        this.#i++;
        left = { kind: 'binary', op: t.text === '<>' ? '!=' : t.text, left, right: this.#bitOr() };
        continue;
      }
      const negated = this.#isKeyword('NOT') && (this.#isKeyword('IN', 1) || this.#isKeyword('BETWEEN', 1) || this.#isKeyword('LIKE', 1));
      if (negated) this.#i++;
      if (this.#keyword('IN')) {
        this.#expect('(');
        const list: Expr[] = [];
        if (!this.#punct(')')) {
          do list.push(this.expression());
          while (this.#punct(','));
          this.#expect(')');
        }
        left = { kind: 'in', value: left, list, negated };
      } else if (this.#keyword('BETWEEN')) {
        const low = this.#bitOr();
        this.#expectKeyword('AND');
        left = { kind: 'between', value: left, low, high: this.#bitOr(), negated };
      } else if (this.#keyword('LIKE')) {
        const pattern = this.#bitOr();
        const escape = this.#keyword('ESCAPE') ? this.#bitOr() : undefined;
        left = { kind: 'like', value: left, pattern, escape, negated };
      } else {
        if (negated) this.#fail();
        return left;
      }
    }
  }

  #binaryLevel(ops: string[], next: () => Expr): Expr {
    let left = next();
    for (;;) {
      const t = this.#t;
      if (t.kind !== 'punct' || !ops.includes(t.text)) return left;
      this.#i++;
      left = { kind: 'binary', op: t.text, left, right: next() };
    }
  }

  #bitOr(): Expr {
    return this.#binaryLevel(['|', '^', '&'], () => this.#concat());
  }

  #concat(): Expr {
    return this.#binaryLevel(['||'], () => this.#additive());
  }

  #additive(): Expr {
    return this.#binaryLevel(['+', '-'], () => this.#multiplicative());
  }

  #multiplicative(): Expr {
    return this.#binaryLevel(['*', '/', '%'], () => this.#unary());
  }

  #unary(): Expr {
    return this.#nested(() => this.#unaryOperand());
  }

  #unaryOperand(): Expr {
    const t = this.#t;
    if (t.kind === 'punct' && (t.text === '-' || t.text === '+' || t.text === '~')) {
      this.#i++;
      const operand = this.#unary();
      if (t.text === '-' && operand.kind === 'literal' && typeof operand.value === 'number') return { kind: 'literal', value: -operand.value };
      return { kind: 'unary', op: t.text, operand };
    }
    if (this.#isKeyword('NOT')) {
      this.#i++;
      return { kind: 'unary', op: 'NOT', operand: this.#unary() };
    }
    return this.#postfix();
  }

  #postfix(): Expr {
    let e = this.#primary();
    for (;;) {
      if (this.#punct('.')) {
        const t = this.#t;
        if (t.kind !== 'identifier') this.#fail();
        this.#i++;
        e = { kind: 'property', object: e, name: t.text };
      } else if (this.#punct('[')) {
        const index = this.expression();
        this.#expect(']');
        e = index.kind === 'literal' && typeof index.value === 'string' ? { kind: 'property', object: e, name: index.value } : { kind: 'index', object: e, index };
      } else return e;
    }
  }

  #subquery(mode: 'scalar' | 'exists' | 'array'): Expr {
    this.#expect('(');
    const query = this.query();
    this.#expect(')');
    return { kind: 'subquery', query, mode };
  }

  #primary(): Expr {
    const t = this.#t;
    switch (t.kind) {
      case 'number':
      case 'string':
        this.#i++;
        return { kind: 'literal', value: t.value };
      case 'parameter':
        this.#i++;
        return { kind: 'parameter', name: t.text };
      case 'punct':
        if (t.text === '(') {
          if (this.#isKeyword('SELECT', 1)) return this.#subquery('scalar');
          this.#i++;
          const e = this.expression();
          this.#expect(')');
          return e;
        }
        if (t.text === '[') {
          this.#i++;
          const items: Expr[] = [];
          if (!this.#punct(']')) {
            do items.push(this.expression());
            while (this.#punct(','));
            this.#expect(']');
          }
          return { kind: 'array', items };
        }
        if (t.text === '{') {
          this.#i++;
          const properties: { key: string; value: Expr }[] = [];
          if (!this.#punct('}')) {
            do {
              const k = this.#t;
              if (k.kind !== 'identifier' && k.kind !== 'string') this.#fail();
              this.#i++;
              this.#expect(':');
              properties.push({ key: k.kind === 'string' ? (k.value as string) : k.text, value: this.expression() });
            } while (this.#punct(','));
            this.#expect('}');
          }
          return { kind: 'object', properties };
        }
        return this.#fail();
      case 'identifier': {
        const upper = t.text.toUpperCase();
        if (upper === 'TRUE' || upper === 'FALSE') {
          this.#i++;
          return { kind: 'literal', value: upper === 'TRUE' };
        }
        if (upper === 'NULL') {
          this.#i++;
          return { kind: 'literal', value: null };
        }
        if (upper === 'UNDEFINED') {
          this.#i++;
          return { kind: 'literal', value: undefined };
        }
        if ((upper === 'EXISTS' || upper === 'ARRAY') && this.tokens[this.#i + 1]?.text === '(' && this.#isKeyword('SELECT', 2)) {
          this.#i++;
          return this.#subquery(upper === 'EXISTS' ? 'exists' : 'array');
        }
        if (upper === 'UDF' && this.tokens[this.#i + 1]?.text === '.') {
          this.#i += 2;
          const name = this.#name();
          return { kind: 'call', name, args: this.#arguments(), udf: true };
        }
        if (this.tokens[this.#i + 1]?.text === '(' && this.tokens[this.#i + 1]?.kind === 'punct') {
          this.#i++;
          return { kind: 'call', name: upper, args: this.#arguments(), udf: false };
        }
        if (KEYWORDS.has(upper)) this.#fail();
        this.#i++;
        return { kind: 'identifier', name: t.text };
      }
      default:
        return this.#fail();
    }
  }

  #arguments(): Expr[] {
    this.#expect('(');
    const args: Expr[] = [];
    if (this.#punct(')')) return args;
    do args.push(this.expression());
    while (this.#punct(','));
    this.#expect(')');
    return args;
  }
}

/**
 * How deep a parsed tree goes, walked without recursion: operator chains (a + b + c …) are folded
 * into nodes nested as deep as the chain is long, which the parser builds in a loop.
 */
function checkDepth(root: object): void {
  const stack: [unknown, number][] = [[root, 0]];
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (depth > MAX_SQL_NESTING * 2) throw new SqlSyntaxError(`The query nests expressions more than ${MAX_SQL_NESTING} levels deep.`, 0);
    if (typeof node !== 'object' || node === null) continue;
    for (const child of Array.isArray(node) ? node : Object.values(node)) if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
  }
}

export function parseQuery(text: string): Query {
  const parser = new Parser(tokenize(text));
  const query = parser.query();
  parser.end();
  checkDepth(query);
  return query;
}

/** A bare predicate, as a patch's condition carries it after "FROM c WHERE". */
export function parseExpression(text: string): Expr {
  const parser = new Parser(tokenize(text));
  const e = parser.expression();
  parser.end();
  checkDepth(e);
  return e;
}
