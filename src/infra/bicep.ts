// A reader for the Bicep this repository writes (no Bicep CLI can run here): declarations
// (targetScope, param, var, resource, module, output, type, func, import) and values — objects,
// arrays, strings with interpolation, numbers, booleans, null. Anything else (references,
// function calls, conditions, loops, operators) is kept as an expression with its source text, so
// the drift test can still see which settings and entities are declared. What it cannot read it
// reports with the file and line: it never guesses.

export type BicepValue =
  | { kind: 'object'; properties: Map<string, BicepValue>; line: number }
  | { kind: 'array'; items: BicepValue[]; line: number }
  | { kind: 'string'; value: string; interpolated: boolean; line: number }
  | { kind: 'number'; value: number; line: number }
  | { kind: 'bool'; value: boolean; line: number }
  | { kind: 'null'; line: number }
  /** A loop `[for x in y: body]`; the body is read too. */
  | { kind: 'for'; body: BicepValue; text: string; line: number }
  /** Anything else: a reference, a call, an operator expression. */
  | { kind: 'expr'; text: string; line: number };

export interface BicepDeclaration {
  keyword: 'param' | 'var' | 'resource' | 'module' | 'output' | 'targetScope' | 'type' | 'func' | 'import' | 'metadata';
  name: string;
  /** resource type@version, module path, param/output type. */
  target?: string;
  /** The declared value (var, output, resource/module body, param default). */
  value?: BicepValue;
  /** `if (…)` condition of a resource or module. */
  condition?: string;
  decorators: string[];
  line: number;
}

export class BicepParseError extends Error {
  override name = 'BicepParseError';
}

interface Token {
  type: 'ident' | 'string' | 'number' | 'punct' | 'newline' | 'multiline';
  text: string;
  /** The string's pieces: text and ${…} expressions. */
  parts?: { text?: string; expr?: string }[];
  line: number;
}

function tokenize(src: string, file: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  const fail = (msg: string): never => {
    throw new BicepParseError(`${file}:${line}: ${msg}`);
  };
  while (i < src.length) {
    const c = src[i]!;
    if (c === '\n') {
      tokens.push({ type: 'newline', text: '\n', line });
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (c === '/' && src[i + 1] === '/') {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      if (end < 0) fail('unterminated comment');
      line += (src.slice(i, end).match(/\n/g) ?? []).length;
      i = end + 2;
    } else if (src.startsWith("'''", i)) {
      const end = src.indexOf("'''", i + 3);
      if (end < 0) fail('unterminated multi-line string');
      const text = src.slice(i + 3, end);
      tokens.push({ type: 'multiline', text, parts: [{ text }], line });
      line += (text.match(/\n/g) ?? []).length;
      i = end + 3;
    } else if (c === "'") {
      const start = line;
      const parts: { text?: string; expr?: string }[] = [];
      let buf = '';
      i++;
      for (;;) {
        if (i >= src.length) fail('unterminated string');
        const d = src[i]!;
        if (d === "'") {
          i++;
          break;
        }
        if (d === '\n') fail('a newline inside a string');
        if (d === '\\') {
          const e = src[i + 1]!;
          buf += ({ n: '\n', r: '\r', t: '\t', "'": "'", '\\': '\\', $: '$' } as Record<string, string>)[e] ?? fail(`unknown escape \\${e}`);
          i += 2;
        } else if (d === '$' && src[i + 1] === '{') {
          if (buf) parts.push({ text: buf });
          buf = '';
          let depth = 1;
          let j = i + 2;
          while (j < src.length && depth > 0) {
            if (src[j] === '{') depth++;
            else if (src[j] === '}') depth--;
            j++;
          }
          if (depth > 0) fail('unterminated ${…} in a string');
          parts.push({ expr: src.slice(i + 2, j - 1).trim() });
          i = j;
        } else {
          buf += d;
          i++;
        }
      }
      if (buf || parts.length === 0) parts.push({ text: buf });
      tokens.push({ type: 'string', text: parts.map((p) => (p.expr !== undefined ? `\${${p.expr}}` : p.text)).join(''), parts, line: start });
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(\.[0-9]+)?/.exec(src.slice(i))!;
      tokens.push({ type: 'number', text: m[0], line });
      i += m[0].length;
    } else if (/[A-Za-z_@]/.test(c)) {
      const m = /^@?[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!;
      tokens.push({ type: 'ident', text: m[0], line });
      i += m[0].length;
    } else {
      const two = src.slice(i, i + 2);
      if (['==', '!=', '<=', '>=', '&&', '||', '??', '.?', '!.'].includes(two)) {
        tokens.push({ type: 'punct', text: two, line });
        i += 2;
      } else if ('{}[]():,.?=!<>+-*/%|&'.includes(c)) {
        tokens.push({ type: 'punct', text: c, line });
        i++;
      } else fail(`unexpected character '${c}'`);
    }
  }
  return tokens;
}

/** A line that starts with one of these continues the expression of the line before. */
const CONTINUATIONS = new Set(['?', ':', '&&', '||', '??', '+', '-', '*', '/', '%', '.', '==', '!=', '<', '>', '<=', '>=']);

const KEYWORDS = new Set(['param', 'var', 'resource', 'module', 'output', 'targetScope', 'type', 'func', 'import', 'metadata']);

class Parser {
  #i = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly file: string,
  ) {}

  #peek(offset = 0): Token | undefined {
    return this.tokens[this.#i + offset];
  }

  #fail(msg: string, token = this.#peek()): never {
    throw new BicepParseError(`${this.file}:${token?.line ?? '?'}: ${msg}`);
  }

  #skipNewlines(): void {
    while (this.#peek()?.type === 'newline') this.#i++;
  }

  #expect(text: string): Token {
    const t = this.#peek();
    if (t?.text !== text) this.#fail(`expected '${text}', found '${t?.text ?? 'end of file'}'`);
    this.#i++;
    return t!;
  }

  parseFile(): BicepDeclaration[] {
    const decls: BicepDeclaration[] = [];
    let decorators: string[] = [];
    for (;;) {
      this.#skipNewlines();
      const t = this.#peek();
      if (!t) return decls;
      if (t.type === 'ident' && t.text.startsWith('@')) {
        decorators.push(this.#restOfDecorator());
        continue;
      }
      if (t.type !== 'ident' || !KEYWORDS.has(t.text)) this.#fail(`expected a declaration, found '${t.text}'`);
      decls.push(this.#declaration(decorators));
      decorators = [];
    }
  }

  #restOfDecorator(): string {
    const start = this.#peek()!;
    const parts: string[] = [];
    let depth = 0;
    for (;;) {
      const t = this.#peek();
      if (!t) break;
      if (t.type === 'newline' && depth === 0) break;
      if (t.text === '(' || t.text === '[' || t.text === '{') depth++;
      if (t.text === ')' || t.text === ']' || t.text === '}') depth--;
      parts.push(t.text);
      this.#i++;
    }
    void start;
    return parts.join('');
  }

  #declaration(decorators: string[]): BicepDeclaration {
    const kw = this.#peek()!;
    this.#i++;
    const keyword = kw.text as BicepDeclaration['keyword'];
    if (keyword === 'targetScope') {
      this.#expect('=');
      return { keyword, name: 'targetScope', value: this.#value(), decorators, line: kw.line };
    }
    if (keyword === 'import') {
      while (this.#peek() && this.#peek()!.type !== 'newline') this.#i++;
      return { keyword, name: 'import', decorators, line: kw.line };
    }
    const nameTok = this.#peek();
    if (nameTok?.type !== 'ident') this.#fail(`expected a name after '${keyword}'`);
    this.#i++;
    const name = nameTok!.text;
    if (keyword === 'resource' || keyword === 'module') {
      const target = this.#peek();
      if (target?.type !== 'string') this.#fail(`expected the ${keyword === 'resource' ? 'resource type' : 'module path'} of '${name}'`);
      this.#i++;
      if (this.#peek()?.text === 'existing') this.#i++;
      this.#expect('=');
      let condition: string | undefined;
      if (this.#peek()?.text === 'if') {
        this.#i++;
        condition = this.#balancedText('(', ')');
      }
      const value = this.#value();
      return { keyword, name, target: target!.text, value, ...(condition ? { condition } : {}), decorators, line: kw.line };
    }
    if (keyword === 'param' || keyword === 'output' || keyword === 'type' || keyword === 'func') {
      if (keyword === 'func') {
        while (this.#peek() && this.#peek()!.type !== 'newline') this.#i++;
        return { keyword, name, decorators, line: kw.line };
      }
      const typeParts: string[] = [];
      while (this.#peek() && this.#peek()!.text !== '=' && this.#peek()!.type !== 'newline') {
        typeParts.push(this.#peek()!.text);
        this.#i++;
      }
      if (this.#peek()?.text === '=') {
        this.#i++;
        return { keyword, name, target: typeParts.join(' '), value: this.#value(), decorators, line: kw.line };
      }
      return { keyword, name, target: typeParts.join(' '), decorators, line: kw.line };
    }
    this.#expect('=');
    return { keyword, name, value: this.#value(), decorators, line: kw.line };
  }

  /** The source text between an opening token and its match, the brackets excluded. */
  #balancedText(open: string, close: string): string {
    this.#expect(open);
    const parts: string[] = [];
    let depth = 1;
    for (;;) {
      const t = this.#peek();
      if (!t) this.#fail(`unbalanced '${open}'`);
      if (t!.text === open) depth++;
      if (t!.text === close && --depth === 0) {
        this.#i++;
        return parts.join(' ');
      }
      if (t!.type !== 'newline') parts.push(t!.type === 'string' ? `'${t!.text}'` : t!.text);
      this.#i++;
    }
  }

  /** A value: a literal, or an expression up to the end of the line / item. */
  #value(): BicepValue {
    this.#skipNewlines();
    const t = this.#peek();
    if (!t) this.#fail('expected a value');
    const first = this.#primary();
    // Operators, member access, calls or a ternary after a literal make it an expression.
    const next = this.#peek();
    if (next && next.type !== 'newline' && ![',', ')', ']', '}', ':'].includes(next.text)) {
      const rest = this.#expressionRest();
      return { kind: 'expr', text: `${this.#textOf(first)} ${rest}`.trim(), line: first.line };
    }
    return first;
  }

  #textOf(v: BicepValue): string {
    switch (v.kind) {
      case 'string':
        return `'${v.value}'`;
      case 'number':
        return String(v.value);
      case 'bool':
        return String(v.value);
      case 'null':
        return 'null';
      case 'expr':
      case 'for':
        return v.text;
      default:
        return v.kind === 'object' ? '{…}' : '[…]';
    }
  }

  /** Tokens of an expression until the end of the line at bracket depth 0 (a line that starts with an operator continues it). */
  #expressionRest(): string {
    const parts: string[] = [];
    let depth = 0;
    for (;;) {
      const t = this.#peek();
      if (!t) break;
      if (depth === 0 && t.type === 'newline') {
        let j = 0;
        while (this.#peek(j)?.type === 'newline') j++;
        if (CONTINUATIONS.has(this.#peek(j)?.text ?? '')) {
          this.#i += j;
          continue;
        }
        break;
      }
      if (depth === 0 && [',', ')', ']', '}'].includes(t.text)) break;
      if (['(', '[', '{'].includes(t.text)) depth++;
      if ([')', ']', '}'].includes(t.text)) depth--;
      parts.push(t.type === 'string' ? `'${t.text}'` : t.text);
      this.#i++;
    }
    return parts.join(' ');
  }

  #primary(): BicepValue {
    const t = this.#peek()!;
    if (t.text === '{') return this.#object();
    if (t.text === '[') return this.#array();
    if (t.type === 'string' || t.type === 'multiline') {
      this.#i++;
      return { kind: 'string', value: t.text, interpolated: (t.parts ?? []).some((p) => p.expr !== undefined), line: t.line };
    }
    if (t.type === 'number') {
      this.#i++;
      return { kind: 'number', value: Number(t.text), line: t.line };
    }
    if (t.text === 'true' || t.text === 'false') {
      this.#i++;
      return { kind: 'bool', value: t.text === 'true', line: t.line };
    }
    if (t.text === 'null') {
      this.#i++;
      return { kind: 'null', line: t.line };
    }
    if (t.text === '-' && this.#peek(1)?.type === 'number') {
      this.#i += 2;
      return { kind: 'number', value: -Number(this.#peek(-1)!.text), line: t.line };
    }
    if (t.type === 'ident' || t.text === '(' || t.text === '!') {
      return { kind: 'expr', text: this.#expressionRest(), line: t.line };
    }
    this.#fail(`unexpected '${t.text}'`);
  }

  #object(): BicepValue {
    const open = this.#expect('{');
    const properties = new Map<string, BicepValue>();
    for (;;) {
      this.#skipNewlines();
      const t = this.#peek();
      if (!t) this.#fail('unterminated object', open);
      if (t.text === '}') {
        this.#i++;
        return { kind: 'object', properties, line: open.line };
      }
      if (t.type === 'ident' && t.text.startsWith('@')) {
        this.#restOfDecorator();
        continue;
      }
      if (t.type !== 'ident' && t.type !== 'string') this.#fail(`expected a property name, found '${t.text}'`);
      this.#i++;
      this.#expect(':');
      const key = t.text;
      if (properties.has(key)) this.#fail(`property '${key}' appears twice`, t);
      properties.set(key, this.#value());
      if (this.#peek()?.text === ',') this.#i++;
    }
  }

  #array(): BicepValue {
    const open = this.#expect('[');
    this.#skipNewlines();
    if (this.#peek()?.text === 'for') {
      const head: string[] = [];
      let depth = 0;
      while (this.#peek() && !(depth === 0 && this.#peek()!.text === ':')) {
        const t = this.#peek()!;
        if (['(', '[', '{'].includes(t.text)) depth++;
        if ([')', ']', '}'].includes(t.text)) depth--;
        if (t.type !== 'newline') head.push(t.type === 'string' ? `'${t.text}'` : t.text);
        this.#i++;
      }
      this.#expect(':');
      let body: BicepValue;
      this.#skipNewlines();
      if (this.#peek()?.text === 'if') {
        this.#i++;
        const cond = this.#balancedText('(', ')');
        body = this.#value();
        head.push(`if (${cond})`);
      } else body = this.#value();
      this.#skipNewlines();
      this.#expect(']');
      return { kind: 'for', body, text: `[${head.join(' ')}: …]`, line: open.line };
    }
    const items: BicepValue[] = [];
    for (;;) {
      this.#skipNewlines();
      const t = this.#peek();
      if (!t) this.#fail('unterminated array', open);
      if (t.text === ']') {
        this.#i++;
        return { kind: 'array', items, line: open.line };
      }
      items.push(this.#value());
      if (this.#peek()?.text === ',') this.#i++;
    }
  }
}

export function parseBicep(source: string, file = 'main.bicep'): BicepDeclaration[] {
  return new Parser(tokenize(source, file), file).parseFile();
}

/** A plain JS value of a literal (objects, arrays, scalars); expressions become `{ $expr: text }`. */
export function toPlain(v: BicepValue | undefined): unknown {
  if (!v) return undefined;
  switch (v.kind) {
    case 'object':
      return Object.fromEntries([...v.properties].map(([k, x]) => [k, toPlain(x)]));
    case 'array':
      return v.items.map(toPlain);
    case 'string':
      return v.value;
    case 'number':
    case 'bool':
      return v.value;
    case 'null':
      return null;
    case 'for':
      return { $for: v.text, body: toPlain(v.body) };
    case 'expr':
      return { $expr: v.text };
  }
}
