// Card numbers: the Luhn check and brands, the scanner the store-wide grep uses, and the
// simulated provider's answers.
import { authorizeCard } from '../../src/participants/card-authorization';
import { cardBrand, findCardNumbers, last4, luhnValid } from '../../src/security/card-numbers';

// The networks' published test numbers.
const TEST_CARDS: [string, string][] = [
  ['4111111111111111', 'visa'],
  ['4222222222222', 'visa'],
  ['5555555555554444', 'mastercard'],
  ['2223003122003222', 'mastercard'],
  ['378282246310005', 'amex'],
  ['6011111111111117', 'discover'],
  ['3530111333300000', 'jcb'],
  ['30569309025904', 'diners'],
  ['6200000000000005', 'unionpay'],
];

test.each(TEST_CARDS)('%s passes the Luhn check and is %s', (number, brand) => {
  expect(luhnValid(number)).toBe(true);
  expect(cardBrand(number)).toBe(brand);
  expect(last4(number)).toBe(number.slice(-4));
});

test('a changed digit fails the Luhn check', () => {
  expect(luhnValid('4111111111111112')).toBe(false);
  expect(luhnValid('41111111111111x1')).toBe(false);
  expect(cardBrand('9999999999999995')).toBe('unknown');
});

describe('the scanner finds card numbers as they are written', () => {
  test.each([
    ['in JSON', '{"number":"4111111111111111"}', '4111111111111111'],
    ['as a JSON number', '{"number":4111111111111111}', '4111111111111111'],
    ['with spaces', 'card 4111 1111 1111 1111 exp', '4111111111111111'],
    ['with dashes', '4111-1111-1111-1111', '4111111111111111'],
    ['Amex style', '3782 822463 10005', '378282246310005'],
    ['in an id built from it', 'pay-5555555555554444', '5555555555554444'],
    ['in CSV', '"o-1","4222222222222",12', '4222222222222'],
    ['in XML', '<number>6011111111111117</number>', '6011111111111117'],
    ['in Avro bytes (a length byte before it)', Buffer.from([0x20, ...Buffer.from('4111111111111111'), 0x20]).toString('latin1'), '4111111111111111'],
  ])('%s', (_where, text, digits) => {
    expect(findCardNumbers(text).map((f) => f.digits)).toEqual([digits]);
  });

  test.each([
    ['a number that fails Luhn', '4111111111111112'],
    ['digits inside a longer number', '14111111111111111'],
    ['digits inside an identifier', 'abc4111111111111111'],
    ['the fraction of a decimal', '0.4111111111111111'],
    ['an epoch-millisecond timestamp (Luhn-valid by chance)', '1795249944657'],
    ['a traceparent whose span id is all digits', '00-0af7651916cd43dd8448eb211c80319c-4111111111111111-01'],
    ['a UUID whose first groups are digits', '12345678-1234-4234-8234-123456789012'],
    ['too few digits', '411111111111'],
    ['an encrypted value', 'enc:v1:k1:AAAAAAAAAAAAAAAA:4111111111111111a:AAAAAAAAAAAAAAAAAAAAAA'],
  ])('not %s', (_what, text) => {
    expect(findCardNumbers(text)).toEqual([]);
  });
});

describe('the simulated payment provider', () => {
  const now = new Date('2026-06-15T12:00:00Z');
  test('authorizes a valid card and answers with its brand and last four digits only', () => {
    expect(authorizeCard({ number: '5555555555554444', expiry: '06/26' }, now)).toEqual({ approved: true, card: { brand: 'mastercard', last4: '4444' } });
  });
  test.each([
    ['an expired card', { number: '4111111111111111', expiry: '05/26' }, /^CardExpired: the card ending 1111 expired 05\/26$/],
    ['the generic decline test number', { number: '4000000000000002', expiry: '12/30' }, /^CardDeclined: .*ending 0002/],
    ['insufficient funds', { number: '4000000000009995', expiry: '12/30' }, /^InsufficientFunds/],
    ['a number that fails Luhn', { number: '4111111111111112', expiry: '12/30' }, /^InvalidCardNumber/],
  ])('declines %s, saying why without the number', (_what, card, reason) => {
    const answer = authorizeCard(card, now);
    expect(answer).toMatchObject({ approved: false, reason: expect.stringMatching(reason) });
    expect(JSON.stringify(answer)).not.toContain(card.number);
  });
});
