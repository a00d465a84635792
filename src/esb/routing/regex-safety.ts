// Route regexes run on every message, on text a client chose, in a backtracking engine: a pattern
// that can match one string in exponentially many ways stalls the router for seconds or hours on
// a crafted string. safe-regex2 (used first, in conditions.ts) refuses nested quantifiers —
// (a+)+ — but not ambiguity within one level of repetition: (a|a)*$, (a|aa)+$ or (\w|\d)+$ are
// exponential too and pass it, and \d+\d*$ is polynomial. This check reads the pattern's
// structure and refuses, in a repeated group, alternatives that can begin with the same
// character, and quantified neighbours that can match the same character. It is conservative
// (an unambiguous (ab|ac)* is refused too; the message says how to rewrite it) and does not
// claim completeness: polynomial cases spread over a pattern (.*a.*a.*a) are bounded by the
// string length limit, not detected.

/** An atom's source and whether it can match nothing. */
type Atom = { kind: 'char'; source: string } | { kind: 'group'; alternatives: Term[][] } | { kind: 'assert'; alternatives?: Term[][] } | { kind: 'backref' };

interface Term {
  atom: Atom;
  min: number;
  max: number;
}

/** Characters every pair of first-atoms is tried on: ASCII, and a few beyond. */
const PROBES = [...Array.from({ length: 128 }, (_, i) => String.fromCharCode(i)), '\u00a0', '\u00df', '\u00e9', '\u03b1', '\u2028', '\u65e5', '\ufeff', '\u{1f600}'];
const ANY = '\u0000any';

class Reader {
  i = 0;
  constructor(readonly src: string) {}
  get done() {
    return this.i >= this.src.length;
  }
  peek(offset = 0) {
    return this.src[this.i + offset];
  }
}

function readEscape(r: Reader): Atom {
  const start = r.i;
  r.i++; // the backslash
  const c = r.src[r.i++] ?? '';
  if (c === 'b' || c === 'B') return { kind: 'assert' };
  if (/[1-9]/.test(c)) {
    while (/[0-9]/.test(r.peek() ?? '')) r.i++;
    return { kind: 'backref' };
  }
  if (c === 'k' && r.peek() === '<') {
    r.i = r.src.indexOf('>', r.i) + 1 || r.src.length;
    return { kind: 'backref' };
  }
  if ((c === 'p' || c === 'P') && r.peek() === '{') r.i = r.src.indexOf('}', r.i) + 1 || r.src.length;
  else if (c === 'u' && r.peek() === '{') r.i = r.src.indexOf('}', r.i) + 1 || r.src.length;
  else if (c === 'u') r.i += 4;
  else if (c === 'x') r.i += 2;
  else if (c === 'c') r.i += 1;
  return { kind: 'char', source: r.src.slice(start, r.i) };
}

function readClass(r: Reader): Atom {
  const start = r.i++;
  if (r.peek() === '^') r.i++;
  if (r.peek() === ']') r.i++;
  while (!r.done && r.peek() !== ']') r.i += r.peek() === '\\' ? 2 : 1;
  r.i++;
  return { kind: 'char', source: r.src.slice(start, r.i) };
}

function readQuantifier(r: Reader): { min: number; max: number } | undefined {
  const c = r.peek();
  let q: { min: number; max: number } | undefined;
  if (c === '*') q = { min: 0, max: Infinity };
  else if (c === '+') q = { min: 1, max: Infinity };
  else if (c === '?') q = { min: 0, max: 1 };
  else if (c === '{') {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(r.src.slice(r.i));
    if (!m) return undefined;
    r.i += m[0].length - 1;
    q = { min: Number(m[1]), max: m[2] === undefined ? Number(m[1]) : m[3] === '' ? Infinity : Number(m[3]) };
  }
  if (!q) return undefined;
  r.i++;
  if (r.peek() === '?') r.i++; // lazy: the same ambiguity, explored in another order
  return q;
}

function readAlternatives(r: Reader): Term[][] {
  const alternatives: Term[][] = [[]];
  while (!r.done) {
    const c = r.peek()!;
    if (c === ')') break;
    if (c === '|') {
      r.i++;
      alternatives.push([]);
      continue;
    }
    let atom: Atom;
    if (c === '(') {
      r.i++;
      let lookaround = false;
      if (r.peek() === '?') {
        const next = r.peek(1);
        const behind = next === '<' && (r.peek(2) === '=' || r.peek(2) === '!');
        lookaround = next === '=' || next === '!' || behind;
        if (next === ':' || next === '=' || next === '!') r.i += 2;
        else if (behind) r.i += 3;
        else if (next === '<') r.i = r.src.indexOf('>', r.i) + 1 || r.src.length; // a named group
      }
      const inner = readAlternatives(r);
      r.i++; // the closing parenthesis
      atom = lookaround ? { kind: 'assert', alternatives: inner } : { kind: 'group', alternatives: inner };
    } else if (c === '[') atom = readClass(r);
    else if (c === '\\') atom = readEscape(r);
    else if (c === '^' || c === '$') {
      r.i++;
      atom = { kind: 'assert' };
    } else {
      const cp = r.src.codePointAt(r.i)!;
      const ch = String.fromCodePoint(cp);
      r.i += ch.length;
      atom = { kind: 'char', source: ch };
    }
    const q = readQuantifier(r) ?? { min: 1, max: 1 };
    alternatives[alternatives.length - 1]!.push({ atom, ...q });
  }
  return alternatives;
}

function nullable(atom: Atom): boolean {
  if (atom.kind === 'assert') return true;
  if (atom.kind === 'group') return atom.alternatives.some((alt) => alt.every((t) => t.min === 0 || nullable(t.atom)));
  return false;
}

/** Sources of the atoms a sequence can begin with (ANY for a back-reference). */
function firstAtoms(sequence: Term[]): string[] {
  const out: string[] = [];
  for (const term of sequence) {
    const a = term.atom;
    if (a.kind === 'char') out.push(a.source);
    else if (a.kind === 'backref') out.push(ANY);
    else if (a.kind === 'group') for (const alt of a.alternatives) out.push(...firstAtoms(alt));
    if (!(term.min === 0 || nullable(a))) break;
  }
  return out;
}

function atomsOf(atom: Atom): string[] {
  if (atom.kind === 'char') return [atom.source];
  if (atom.kind === 'backref') return [ANY];
  return [];
}

const compiled = new Map<string, RegExp>();
function matcher(source: string): RegExp {
  let re = compiled.get(source);
  if (!re) {
    re = new RegExp(`^(?:${source})$`, 'u');
    compiled.set(source, re);
  }
  return re;
}

/** A character both lists of atoms can match, if any. */
function sharedCharacter(a: string[], b: string[]): string | undefined {
  if (a.length === 0 || b.length === 0) return undefined;
  if (a.includes(ANY) || b.includes(ANY)) return 'a back-referenced text';
  for (const ch of PROBES) if (a.some((s) => matcher(s).test(ch)) && b.some((s) => matcher(s).test(ch))) return JSON.stringify(ch);
  return undefined;
}

function check(alternatives: Term[][]): string | undefined {
  for (const sequence of alternatives) {
    for (let i = 0; i < sequence.length; i++) {
      const term = sequence[i]!;
      const a = term.atom;
      const repeated = term.max > 10;
      if (a.kind === 'group' || (a.kind === 'assert' && a.alternatives)) {
        const inner = check(a.alternatives!);
        if (inner) return inner;
      }
      if (repeated && a.kind === 'group' && a.alternatives.length > 1) {
        const firsts = a.alternatives.map(firstAtoms);
        for (let x = 0; x < firsts.length; x++) {
          for (let y = x + 1; y < firsts.length; y++) {
            const shared = sharedCharacter(firsts[x]!, firsts[y]!);
            if (shared)
              return `a repeated group has alternatives that can both begin with ${shared}, so a string can match in exponentially many ways (make the alternatives start differently, e.g. a character class instead of an alternation)`;
          }
        }
      }
      const next = sequence[i + 1];
      if (term.max === Infinity && next && next.max === Infinity) {
        const shared = sharedCharacter(atomsOf(a), atomsOf(next.atom));
        if (shared) return `two neighbouring repetitions can both match ${shared}, so the work grows with a power of the string's length (merge them into one)`;
      }
    }
  }
  return undefined;
}

/** Why the pattern can backtrack catastrophically, or undefined. The pattern must compile with the u flag. */
export function backtrackingRisk(source: string): string | undefined {
  return check(readAlternatives(new Reader(source)));
}
