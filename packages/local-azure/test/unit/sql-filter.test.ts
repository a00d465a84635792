import { compileCorrelationFilter, compileSqlFilter, SqlFilterError, type FilterMessage } from '../../src/broker/sql-filter';

const message = (application: FilterMessage['application'], system: FilterMessage['system'] = {}): FilterMessage => ({
  system: { MessageId: 'm-1', Label: 'OrderPlaced', ContentType: 'application/json', DeliveryCount: 0, ...system },
  application,
});

const order = message({ region: 'EU', total: 1500, priority: 'high', express: true, ratio: 0.5, note: null });

function matches(expression: string, msg: FilterMessage = order): boolean {
  return compileSqlFilter(expression).matches(msg);
}

describe('SQL filter: comparison operators', () => {
  test.each([
    ["region = 'EU'", true],
    ["region = 'eu'", false], // ordinal, case-sensitive string comparison
    ["region <> 'US'", true],
    ["region != 'EU'", false],
    ['total > 1000', true],
    ['total > 1500', false],
    ['total >= 1500', true],
    ['total < 2000', true],
    ['total <= 1499', false],
    ['ratio = 0.5', true],
    ['total = 1500.0', true], // int64 and double compare numerically
    ['express = TRUE', true],
    ['express = false', false],
  ])('%s → %s', (expression, expected) => {
    expect(matches(expression)).toBe(expected);
  });
});

describe('SQL filter: IN, LIKE, EXISTS, IS NULL', () => {
  test.each([
    ["priority IN ('high', 'urgent')", true],
    ["priority IN ('low')", false],
    ["priority NOT IN ('low', 'normal')", true],
    ["priority NOT IN ('high')", false],
    ['total IN (1, 1500, 3)', true],
    ["region LIKE 'E%'", true],
    ["region LIKE 'E_'", true],
    ["region LIKE 'E'", false],
    ["region NOT LIKE 'U%'", true],
    ["sys.Label LIKE 'Order%'", true],
    ["note LIKE '%'", false], // NULL value: UNKNOWN
    ['EXISTS(region)', true],
    ['EXISTS(missing)', false],
    ['NOT EXISTS(missing)', true],
    ['missing IS NULL', true],
    ['note IS NULL', true],
    ['region IS NOT NULL', true],
    ['region IS NULL', false],
  ])('%s → %s', (expression, expected) => {
    expect(matches(expression)).toBe(expected);
  });

  test('LIKE with ESCAPE matches the escaped wildcard literally', () => {
    const msg = message({ code: 'ABC%' });
    expect(matches("code LIKE 'ABC!%' ESCAPE '!'", msg)).toBe(true);
    expect(matches("code LIKE 'AB!%' ESCAPE '!'", msg)).toBe(false);
    expect(matches("code LIKE 'ABC%'", message({ code: 'ABCDEF' }))).toBe(true);
    expect(matches("code LIKE 'ABC!%' ESCAPE '!'", message({ code: 'ABCDEF' }))).toBe(false);
  });
});

describe('SQL filter: boolean logic is three-valued', () => {
  test.each([
    ["region = 'EU' AND total > 1000", true],
    ["region = 'EU' AND total > 5000", false],
    ["region = 'US' OR total > 1000", true],
    ["region = 'US' OR total > 5000", false],
    ["NOT region = 'US'", true],
    ["NOT (region = 'EU' AND express = TRUE)", false],
    ["(region = 'US' OR region = 'EU') AND (priority = 'high')", true],
    // missing property → UNKNOWN: a comparison with it never matches, nor does its negation
    ["missing = 'x'", false],
    ["NOT missing = 'x'", false],
    ["missing <> 'x'", false],
    // UNKNOWN AND FALSE = FALSE, UNKNOWN OR TRUE = TRUE
    ["NOT (missing = 'x' AND region = 'US')", true],
    ["missing = 'x' OR region = 'EU'", true],
    // comparing a string with a number is undefined, not an error
    ["total = '1500'", false],
  ])('%s → %s', (expression, expected) => {
    expect(matches(expression)).toBe(expected);
  });

  test('1=1 and 1=0 are the true and false filters', () => {
    expect(matches('1=1')).toBe(true);
    expect(matches('1=0')).toBe(false);
  });
});

describe('SQL filter: properties and expressions', () => {
  test('system properties are read with sys., names and keywords in any case', () => {
    expect(matches("sys.MessageId = 'm-1'")).toBe(true);
    expect(matches("SYS.messageid = 'm-1' and sys.label = 'OrderPlaced'")).toBe(true);
    expect(matches("sys.ContentType = 'application/json'")).toBe(true);
    expect(matches('sys.DeliveryCount = 0')).toBe(true);
  });

  test('application properties are read unqualified, with user., or by a case-insensitive name', () => {
    expect(matches("user.region = 'EU'")).toBe(true);
    expect(matches("REGION = 'EU'")).toBe(true);
    expect(matches("[region] = 'EU'", order)).toBe(true);
    expect(matches('"order-total" > 10', message({ 'order-total': 20 }))).toBe(true);
  });

  test('arithmetic follows operator precedence and integer division', () => {
    expect(matches('total / 2 = 750')).toBe(true);
    expect(matches('total - 500 * 2 = 500')).toBe(true);
    expect(matches('(total - 500) * 2 = 2000')).toBe(true);
    expect(matches('total % 7 = 2')).toBe(true);
    expect(matches('-total < 0')).toBe(true);
    expect(matches('7 / 2 = 3')).toBe(true);
  });

  test("string literals escape '' as a quote", () => {
    expect(matches("name = 'O''Brien'", message({ name: "O'Brien" }))).toBe(true);
  });

  test('dates compare by instant', () => {
    const msg = message({}, { EnqueuedTimeUtc: new Date('2026-01-01T00:00:00Z') });
    expect(compileSqlFilter('sys.EnqueuedTimeUtc IS NOT NULL').matches(msg)).toBe(true);
  });
});

describe('SQL filter: invalid expressions fail at compile time with the position', () => {
  test.each([["region = 'EU"], ['region ='], ["sys.NotAProperty = 'x'"], ["region IN 'EU'"], ['AND region = 1'], ["region = 'EU' extra"]])('%s', (expression) => {
    expect(() => compileSqlFilter(expression)).toThrow(SqlFilterError);
  });

  test('filters over 1024 characters are refused', () => {
    expect(() => compileSqlFilter(`a = '${'x'.repeat(1030)}'`)).toThrow(/1024/);
  });
});

describe('Correlation filter', () => {
  test('all named properties must be equal (case-sensitive), application properties included', () => {
    const filter = compileCorrelationFilter({ label: 'OrderPlaced', properties: { region: 'EU', express: true } });
    expect(filter.matches(order)).toBe(true);
    expect(filter.matches(message({ region: 'eu', express: true }))).toBe(false);
    expect(filter.matches(message({ region: 'EU' }))).toBe(false);
    expect(compileCorrelationFilter({ correlationId: 'c-1' }).matches(message({}, { CorrelationId: 'c-1' }))).toBe(true);
    expect(compileCorrelationFilter({ contentType: 'text/plain' }).matches(order)).toBe(false);
  });
});
