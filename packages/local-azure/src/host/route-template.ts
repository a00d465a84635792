// HTTP trigger routes use ASP.NET Core route templates: literal segments (case-insensitive),
// {param}, {param?}, {param=default}, {*catchAll}, and inline constraints such as {id:int},
// {id:guid}, {name:alpha:minlength(2)}, {code:regex(^[a-z]{{3}}$)}. Routes are tried in template
// precedence order: literals before constrained parameters before plain ones, catch-alls last.

type Constraint = (value: string) => boolean;

interface ParamPart {
  kind: 'param';
  name: string;
  optional: boolean;
  catchAll: boolean;
  defaultValue?: string;
  constraints: Constraint[];
}

type Part = { kind: 'literal'; text: string } | ParamPart;

interface Segment {
  parts: Part[];
}

export class RouteTemplateError extends Error {
  override name = 'RouteTemplateError';
}

const NUMBER = /^-?\d+(\.\d+)?$/;

function makeConstraint(spec: string, template: string): Constraint {
  const m = /^([a-zA-Z]+)(?:\((.*)\))?$/s.exec(spec);
  if (!m) throw new RouteTemplateError(`Invalid constraint "${spec}" in route "${template}"`);
  const name = m[1]!.toLowerCase();
  const arg = m[2];
  const args = arg?.split(',').map((a) => a.trim()) ?? [];
  const n = (i: number) => Number(args[i]);
  switch (name) {
    case 'int':
      return (v) => /^-?\d+$/.test(v) && Math.abs(Number(v)) <= 2 ** 31;
    case 'long':
      return (v) => /^-?\d+$/.test(v);
    case 'bool':
      return (v) => /^(true|false)$/i.test(v);
    case 'datetime':
      return (v) => !Number.isNaN(Date.parse(v));
    case 'decimal':
    case 'double':
    case 'float':
      return (v) => NUMBER.test(v);
    case 'guid':
      return (v) => /^\{?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}?$/i.test(v);
    case 'alpha':
      return (v) => /^[a-z]+$/i.test(v);
    case 'minlength':
      return (v) => v.length >= n(0);
    case 'maxlength':
      return (v) => v.length <= n(0);
    case 'length':
      return args.length === 1 ? (v) => v.length === n(0) : (v) => v.length >= n(0) && v.length <= n(1);
    case 'min':
      return (v) => NUMBER.test(v) && Number(v) >= n(0);
    case 'max':
      return (v) => NUMBER.test(v) && Number(v) <= n(0);
    case 'range':
      return (v) => NUMBER.test(v) && Number(v) >= n(0) && Number(v) <= n(1);
    case 'required':
      return (v) => v.length > 0;
    case 'regex': {
      // {{ and }} escape braces inside templates.
      const re = new RegExp(arg?.replaceAll('{{', '{').replaceAll('}}', '}') ?? '', 'i');
      return (v) => re.test(v);
    }
    default:
      throw new RouteTemplateError(`Unknown route constraint "${name}" in route "${template}"`);
  }
}

function parseParam(body: string, template: string): ParamPart {
  let text = body;
  let catchAll = false;
  if (text.startsWith('**')) {
    catchAll = true;
    text = text.slice(2);
  } else if (text.startsWith('*')) {
    catchAll = true;
    text = text.slice(1);
  }
  let defaultValue: string | undefined;
  const eq = text.indexOf('=');
  if (eq >= 0 && !text.slice(0, eq).includes('(')) {
    defaultValue = text.slice(eq + 1);
    text = text.slice(0, eq);
  }
  let optional = false;
  if (text.endsWith('?')) {
    optional = true;
    text = text.slice(0, -1);
  }
  // Split "name:c1:c2(arg)" on colons outside parentheses.
  const pieces: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ':' && depth === 0) {
      pieces.push(current);
      current = '';
    } else current += ch;
  }
  pieces.push(current);
  const name = pieces[0]!;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new RouteTemplateError(`Invalid parameter name "${name}" in route "${template}"`);
  return {
    kind: 'param',
    name,
    optional: optional || defaultValue !== undefined,
    catchAll,
    defaultValue,
    constraints: pieces.slice(1).map((c) => makeConstraint(c, template)),
  };
}

function parseSegment(text: string, template: string): Segment {
  const parts: Part[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] === '{' && text[i + 1] !== '{') {
      let depth = 0;
      let j = i;
      for (; j < text.length; j++) {
        if (text[j] === '{' && text[j + 1] === '{') {
          j++;
          continue;
        }
        if (text[j] === '}' && text[j + 1] === '}') {
          j++;
          continue;
        }
        if (text[j] === '{') depth++;
        if (text[j] === '}' && --depth === 0) break;
      }
      if (j >= text.length) throw new RouteTemplateError(`Unclosed "{" in route "${template}"`);
      parts.push(parseParam(text.slice(i + 1, j), template));
      i = j + 1;
    } else {
      let j = i;
      let literal = '';
      while (j < text.length && !(text[j] === '{' && text[j + 1] !== '{')) {
        if ((text[j] === '{' || text[j] === '}') && text[j + 1] === text[j]) {
          literal += text[j];
          j += 2;
        } else literal += text[j++];
      }
      parts.push({ kind: 'literal', text: literal });
      i = j;
    }
  }
  return { parts };
}

export interface RouteMatch {
  params: Record<string, string>;
}

export class RouteTemplate {
  readonly segments: Segment[];
  /** Lower sorts first: one digit per segment, literal 1 … catch-all 5. */
  readonly precedence: string;

  constructor(readonly template: string) {
    const trimmed = template.replace(/^\/+|\/+$/g, '');
    this.segments = trimmed === '' ? [] : trimmed.split('/').map((s) => parseSegment(s, template));
    const names = new Set<string>();
    this.segments.forEach((seg, i) => {
      for (const p of seg.parts) {
        if (p.kind !== 'param') continue;
        const key = p.name.toLowerCase();
        if (names.has(key)) throw new RouteTemplateError(`The route parameter "${p.name}" appears more than once in "${template}"`);
        names.add(key);
        if (p.catchAll && i !== this.segments.length - 1) {
          throw new RouteTemplateError(`A catch-all parameter can only be the last segment of "${template}"`);
        }
      }
    });
    this.precedence = this.segments
      .map((seg) => {
        const p = seg.parts;
        if (p.length === 1 && p[0]!.kind === 'literal') return '1';
        if (p.length > 1) return '2';
        const param = p[0] as ParamPart;
        if (param.catchAll) return '5';
        if (param.optional) return '4';
        return param.constraints.length ? '2' : '3';
      })
      .join('');
  }

  match(path: string): RouteMatch | undefined {
    const trimmed = path.replace(/^\/+|\/+$/g, '');
    const raw = trimmed === '' ? [] : trimmed.split('/');
    const params: Record<string, string> = {};
    for (let i = 0; i < this.segments.length; i++) {
      const seg = this.segments[i]!;
      const only = seg.parts.length === 1 ? seg.parts[0]! : undefined;
      if (only?.kind === 'param' && only.catchAll) {
        const rest = raw.slice(i).map(decodeURIComponent).join('/');
        if (rest === '' && only.defaultValue === undefined && !only.optional) return undefined;
        const value = rest === '' ? (only.defaultValue ?? '') : rest;
        if (rest !== '' && !only.constraints.every((c) => c(value))) return undefined;
        if (value !== '' || only.defaultValue !== undefined) params[only.name] = value;
        return { params };
      }
      const text = raw[i];
      if (text === undefined) {
        // Missing trailing segments match only optional parameters.
        if (only?.kind === 'param' && only.optional) {
          if (only.defaultValue !== undefined) params[only.name] = only.defaultValue;
          continue;
        }
        return undefined;
      }
      let decoded: string;
      try {
        decoded = decodeURIComponent(text);
      } catch {
        return undefined;
      }
      if (!this.#matchSegment(seg, decoded, params)) return undefined;
    }
    return raw.length > this.segments.length ? undefined : { params };
  }

  #matchSegment(seg: Segment, text: string, params: Record<string, string>): boolean {
    let source = '^';
    const paramParts: ParamPart[] = [];
    for (const part of seg.parts) {
      if (part.kind === 'literal') source += part.text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      else {
        source += part.optional && seg.parts.length === 1 ? '(.*)' : '(.+?)';
        paramParts.push(part);
      }
    }
    const m = new RegExp(`${source}$`, 'is').exec(text);
    if (!m) return false;
    for (let i = 0; i < paramParts.length; i++) {
      const p = paramParts[i]!;
      const value = m[i + 1] ?? '';
      if (value === '') {
        if (!p.optional) return false;
        if (p.defaultValue !== undefined) params[p.name] = p.defaultValue;
        continue;
      }
      if (!p.constraints.every((c) => c(value))) return false;
      params[p.name] = value;
    }
    return true;
  }
}

export function compareRoutes(a: RouteTemplate, b: RouteTemplate): number {
  return a.precedence < b.precedence ? -1 : a.precedence > b.precedence ? 1 : 0;
}
