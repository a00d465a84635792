// Payment card numbers (PANs): the Luhn check, the brand from the issuer prefix, the last four
// digits a business may keep in clear, and a scanner that finds card numbers in stored text —
// the check behind "no card number in clear in the event store, the views or the broker".

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

// 13 to 19 digits, either in one run or in groups separated by one space or dash each (4-4-4-4,
// 4-6-5, 4-4-4-4-3 …). A candidate must not touch a letter or digit on either side: digits
// inside a longer number or an identifier are not a card number on their own.
const CANDIDATE = /(?<![0-9A-Za-z])[0-9](?:[ -]?[0-9]){12,18}(?![0-9A-Za-z])/g;

/** Every Luhn-valid sequence of 13–19 digits in the text, with or without separators. */
export function findCardNumbers(text: string): CardNumberFinding[] {
  const found: CardNumberFinding[] = [];
  for (const m of text.matchAll(CANDIDATE)) {
    const digits = m[0].replace(/[ -]/g, '');
    if (digits.length >= 13 && digits.length <= 19 && luhnValid(digits)) found.push({ digits, match: m[0], index: m.index });
  }
  return found;
}
