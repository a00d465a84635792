// Payment card numbers (PANs): the Luhn check, the brand from the issuer prefix, the last four
// digits a business may keep in clear, a scanner that finds card numbers in stored text — the
// check behind "no card number in clear in the event store, the views or the broker" — and the
// refusal of a card number anywhere the app would keep it in clear (an id, a free-text field).
import { ValidationError } from '../shared/errors';

/** The Luhn (mod 10) checksum every payment card number satisfies. */
export function luhnValid(digits: string): boolean {
  if (!/^[0-9]+$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

export const CARD_BRANDS = ['visa', 'mastercard', 'amex', 'discover', 'diners', 'jcb', 'unionpay', 'maestro', 'unknown'] as const;
export type CardBrand = (typeof CARD_BRANDS)[number];

// Issuer identification number ranges of the networks (ISO/IEC 7812 prefixes as the networks
// publish them), most specific first.
const BRAND_PREFIXES: [CardBrand, RegExp][] = [
  ['amex', /^3[47]/],
  ['diners', /^3(?:0[0-5]|[68])/],
  ['jcb', /^35(?:2[89]|[3-8])/],
  ['mastercard', /^(?:5[1-5]|2(?:2[2-9]|[3-6]|7[01]|720))/],
  ['discover', /^(?:6011|65|64[4-9])/],
  ['unionpay', /^62/],
  ['maestro', /^(?:5[06-9]|6)/],
  ['visa', /^4/],
];

export function cardBrand(number: string): CardBrand {
  return BRAND_PREFIXES.find(([, prefix]) => prefix.test(number))?.[0] ?? 'unknown';
}

export function last4(number: string): string {
  return number.slice(-4);
}

export interface CardNumberFinding {
  /** The digits found, separators removed. */
  digits: string;
  /** The text as it appeared (with its separators). */
  match: string;
  index: number;
}

// A card number as it is written: 13 to 19 digits in one run, or in groups separated by one
// space or dash each — groups of four with a shorter last one (4-4-4-4, 4-4-4-1, 4-4-4-4-3) or
// Amex/Diners style (4-6-5, 4-6-4). It must stand on its own: not inside a longer number, an
// identifier, or the fraction of a decimal number.
const SEP = '([ -])';
const CANDIDATE = new RegExp(`(?<![0-9A-Za-z.])(?:[0-9]{13,19}|[0-9]{4}${SEP}[0-9]{4}\\1[0-9]{4}\\1[0-9]{1,4}(?:\\1[0-9]{1,3})?|[0-9]{4}${SEP}[0-9]{6}\\2[0-9]{4,5})(?![0-9A-Za-z])`, 'g');

/** W3C trace context (traceparent, Diagnostic-Id): its 16 hex digits of span id are sometimes all decimal digits. */
const TRACEPARENT = /\b00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}\b/g;

/**
 * A 13-digit number with a leading 1 is an epoch-millisecond timestamp (2001–2033), which one in
 * ten times passes the Luhn check; no card scheme issues 13-digit numbers starting with 1 (the
 * 13-digit ones are Visa's, starting with 4).
 */
const isMillisecondTimestamp = (digits: string) => digits.length === 13 && digits.startsWith('1');

/** Every Luhn-valid card number (13–19 digits, with or without separators) in the text. */
export function findCardNumbers(text: string): CardNumberFinding[] {
  const found: CardNumberFinding[] = [];
  const scanned = text.replace(TRACEPARENT, (id) => '.'.repeat(id.length));
  for (const m of scanned.matchAll(CANDIDATE)) {
    const digits = m[0].replace(/[ -]/g, '');
    if (digits.length >= 13 && digits.length <= 19 && !isMillisecondTimestamp(digits) && luhnValid(digits)) found.push({ digits, match: m[0], index: m.index });
  }
  return found;
}

/** A field path with array indexes as [*], as config/field-encryption.yaml names fields. */
const fieldPattern = (path: string) => path.replace(/\[\d+\]/g, '[*]');

/**
 * Throws ValidationError (400) naming the first key, string or number in `value` that holds a
 * Luhn-valid card number — in an id, a reason, a comment, a header, anywhere — except the fields
 * `exempt` names (the designated card fields, which field-level encryption seals) and values
 * `skip` says are not clear text (sealed ones). The message never repeats the number.
 */
export function refuseCardNumbers(value: unknown, root: string, options: { exempt?: readonly string[]; skip?: (value: unknown) => boolean } = {}): void {
  const exempt = new Set(options.exempt ?? []);
  const refuse = (where: string): never => {
    throw new ValidationError(
      `${where || 'the body'} holds a payment card number in clear; card numbers travel only in the designated card fields (config/field-encryption.yaml), which are encrypted — never in ids or free text`,
      where,
    );
  };
  const walk = (v: unknown, where: string): void => {
    if (options.skip?.(v)) return;
    if (exempt.has(fieldPattern(root ? where.slice(root.length + 1) : where))) return;
    if (typeof v === 'string') {
      if (findCardNumbers(v).length > 0) refuse(where);
    } else if (typeof v === 'number') {
      if (Number.isInteger(v) && findCardNumbers(String(v)).length > 0) refuse(where);
    } else if (Array.isArray(v)) {
      v.forEach((item, i) => walk(item, `${where}[${i}]`));
    } else if (v !== null && typeof v === 'object') {
      for (const [key, item] of Object.entries(v as Record<string, unknown>)) {
        const path = where ? `${where}.${key}` : key;
        if (findCardNumbers(key).length > 0) refuse(path);
        walk(item, path);
      }
    }
  };
  walk(value, root);
}
