// The raw-text pass over an XML body that runs before the validator and the parser: nesting
// depth, child elements per element (an XML array is a container of <item>s), text and attribute
// lengths, and the entity policy. Entities are disabled: a DOCTYPE is refused, and the only
// references accepted are the five XML predefines and character references to characters XML
// 1.0 allows — so nothing can expand, reach a file or a URL, or smuggle a character the
// encoder could not write back. Names that would be prototype keys in the parsed tree
// (__proto__, constructor, prototype) are refused here, with a 400 rather than the parser's
// generic error. One linear pass; anything malformed it leaves for the validator to report.
import { ValidationError } from '../../shared/errors';
import { arrayTooLong, depthExceeded, INPUT_LIMIT_SETTINGS, stringTooLong, type InputLimits } from '../input-limits';

const PREDEFINED = new Set(['lt', 'gt', 'amp', 'quot', 'apos']);
const RESERVED_NAMES = new Set(['__proto__', 'constructor', 'prototype']);

/** Whether a code point is a Char of XML 1.0 (section 2.2). */
export function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/** The code point a character reference (#38, #x26) names, or undefined when it names none XML allows. */
export function characterReference(body: string): number | undefined {
  const m = /^#(?:x([0-9A-Fa-f]{1,6})|([0-9]{1,7}))$/.exec(body);
  if (!m) return undefined;
  const cp = m[1] !== undefined ? parseInt(m[1], 16) : Number(m[2]);
  return isXmlChar(cp) ? cp : undefined;
}

/** Checks every & in a run of text or an attribute value against the entity policy. */
function checkReferences(text: string, from: number, to: number, where: string): void {
  for (let amp = text.indexOf('&', from); amp !== -1 && amp < to; amp = text.indexOf('&', amp + 1)) {
    const semi = text.indexOf(';', amp);
    const body = semi !== -1 && semi < to && semi - amp <= 12 ? text.slice(amp + 1, semi) : undefined;
    if (body !== undefined && (PREDEFINED.has(body) || characterReference(body) !== undefined)) continue;
    if (body !== undefined && body.startsWith('#')) {
      throw new ValidationError(`The character reference &${body}; ${where} names a character XML cannot carry`, '');
    }
    if (body !== undefined && /^[A-Za-z_][\w.-]*$/.test(body)) {
      throw new ValidationError(`The entity reference &${body}; ${where} is not accepted: entities are disabled (only &lt; &gt; &amp; &quot; &apos; and character references)`, '');
    }
    return; // a bare & is malformed XML: the validator says where
  }
}

function checkName(name: string): void {
  const local = name.includes(':') ? name.slice(name.indexOf(':') + 1) : name;
  if (RESERVED_NAMES.has(local)) throw new ValidationError(`"${name}" cannot be an element or attribute name`, '');
}

interface Frame {
  name: string;
  children: number;
}

function pathOf(frames: Frame[]): string {
  return frames.map((f) => f.name).join('/');
}

/** Throws InputLimitError or ValidationError for what the limits or the entity policy refuse. */
export function checkXmlText(text: string, limits: InputLimits): void {
  const frames: Frame[] = [];
  const n = text.length;
  let i = 0;
  const text_ = (from: number, to: number) => {
    if (to - from > limits.maxStringLength) throw stringTooLong(limits, pathOf(frames), to - from, 'A text');
    checkReferences(text, from, to, `in <${frames[frames.length - 1]?.name ?? ''}>`);
  };
  while (i < n) {
    const lt = text.indexOf('<', i);
    const runEnd = lt === -1 ? n : lt;
    if (runEnd > i) text_(i, runEnd);
    if (lt === -1) return;
    if (text.startsWith('<!--', lt)) {
      const end = text.indexOf('-->', lt + 4);
      if (end === -1) return;
      i = end + 3;
    } else if (text.startsWith('<![CDATA[', lt)) {
      const end = text.indexOf(']]>', lt + 9);
      if (end === -1) return;
      if (end - (lt + 9) > limits.maxStringLength) throw stringTooLong(limits, pathOf(frames), end - (lt + 9), 'A CDATA section');
      i = end + 3;
    } else if (text.startsWith('<?', lt)) {
      const end = text.indexOf('?>', lt + 2);
      if (end === -1) return;
      i = end + 2;
    } else if (text.startsWith('<!', lt)) {
      throw new ValidationError('XML with a DOCTYPE or entity declarations is not accepted', '');
    } else if (text.startsWith('</', lt)) {
      frames.pop();
      const end = text.indexOf('>', lt);
      if (end === -1) return;
      i = end + 1;
    } else {
      // A start tag: its name, then attributes (values quoted, may hold '>'), then > or />.
      let j = lt + 1;
      while (j < n && !/[\s/>]/.test(text[j]!)) j++;
      const name = text.slice(lt + 1, j);
      checkName(name);
      let selfClosing = false;
      let attributes = 0;
      for (;;) {
        while (j < n && /\s/.test(text[j]!)) j++;
        if (j >= n) return;
        const c = text[j]!;
        if (c === '>') break;
        if (c === '/') {
          selfClosing = text[j + 1] === '>';
          j++;
          if (selfClosing) break;
          continue;
        }
        const nameStart = j;
        while (j < n && !/[\s=/>]/.test(text[j]!)) j++;
        if (j === nameStart)
          j++; // not a name character: let the validator complain, keep moving
        else {
          checkName(text.slice(nameStart, j));
          if (++attributes > limits.maxArrayLength)
            throw arrayTooLong(limits, pathOf(frames), '', `<${name}> has more than ${limits.maxArrayLength} attributes (${INPUT_LIMIT_SETTINGS.maxArrayLength})`);
        }
        while (j < n && /\s/.test(text[j]!)) j++;
        if (text[j] !== '=') continue;
        j++;
        while (j < n && /\s/.test(text[j]!)) j++;
        const quote = text[j];
        if (quote !== '"' && quote !== "'") continue;
        const close = text.indexOf(quote, j + 1);
        if (close === -1) return;
        if (close - j - 1 > limits.maxStringLength) throw stringTooLong(limits, pathOf(frames), close - j - 1, `An attribute of <${name}>`);
        checkReferences(text, j + 1, close, `in an attribute of <${name}>`);
        j = close + 1;
      }
      const parent = frames[frames.length - 1];
      if (parent && ++parent.children > limits.maxArrayLength)
        throw arrayTooLong(limits, pathOf(frames), '', `<${parent.name}> has more than ${limits.maxArrayLength} child elements (${INPUT_LIMIT_SETTINGS.maxArrayLength})`);
      if (frames.length + 1 > limits.maxDepth) throw depthExceeded(limits, `${pathOf(frames)}/${name}`.replace(/^\//, ''), 'The XML');
      if (!selfClosing) frames.push({ name, children: 0 });
      i = j + 1;
    }
  }
}
