// The simulated payment service provider's answer to a card authorization. It needs the card
// number and expiry in clear — the one consumer in the app that decrypts them (config/
// field-encryption.yaml consumers.authorizePayment) — and answers like a real provider's test
// mode: the networks' published decline test numbers are declined, an expired card is refused,
// anything else is authorized. Only the brand and last four digits come back.
import { cardBrand, last4, luhnValid } from '../security/card-numbers';

export type CardAuthorization = { approved: true; card: { brand: string; last4: string } } | { approved: false; reason: string };

/** Test numbers a provider declines, with the decline code it gives (the published test cards). */
const ISSUER_DECLINES: Record<string, string> = {
  '4000000000000002': 'CardDeclined: the issuer declined the card',
  '4000000000009995': 'InsufficientFunds: the card has insufficient funds',
  '4000000000009987': 'CardDeclined: the card was reported lost',
  '4000000000000127': 'IncorrectCvc: the card security code is incorrect',
};

/** MM/YY: the card is valid to the end of that month. */
function expired(expiry: string, now: Date): boolean {
  const m = /^(0[1-9]|1[0-2])\/([0-9]{2})$/.exec(expiry);
  if (!m) return true;
  const endOfMonth = Date.UTC(2000 + Number(m[2]), Number(m[1]), 1);
  return now.getTime() >= endOfMonth;
}

export function authorizeCard(card: { number: string; expiry: string }, now: Date): CardAuthorization {
  const ending = last4(card.number);
  if (!luhnValid(card.number)) return { approved: false, reason: `InvalidCardNumber: the card ending ${ending} fails the Luhn check` };
  if (expired(card.expiry, now)) return { approved: false, reason: `CardExpired: the card ending ${ending} expired ${card.expiry}` };
  const declined = ISSUER_DECLINES[card.number];
  if (declined) return { approved: false, reason: `${declined} (card ending ${ending})` };
  return { approved: true, card: { brand: cardBrand(card.number), last4: ending } };
}
