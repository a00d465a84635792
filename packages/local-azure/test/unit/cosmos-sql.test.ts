// The Cosmos DB query language as the REST API evaluates it: parsing, three-valued logic, the
// ordering across types, projections' names, aggregates, subqueries and functions.
import { execute } from '../../src/cosmos-rest/sql/evaluate';
import { parseQuery, SqlSyntaxError } from '../../src/cosmos-rest/sql/parser';

const docs = [
  {
    id: '1',
    n: 3,
    s: 'b',
    tags: ['x', 'y'],
    o: { a: 1 },
    kids: [
      { name: 'k1', age: 4 },
      { name: 'k2', age: 9 },
    ],
  },
  { id: '2', n: 1, s: 'a', tags: [], o: { a: 2 } },
  { id: '3', s: 'c', nul: null, tags: ['y'] },
  { id: '4', n: '2', s: 'D' },
];

const run = (query: string, parameters: { name: string; value: unknown }[] = []) => execute(parseQuery(query), docs, { parameters, now: () => Date.UTC(2026, 0, 2) });

describe('Cosmos SQL parser', () => {
  test('keywords are case-insensitive; aliases with and without AS; bracket and dot paths', () => {
    expect(run('select value r.id from root r where r["o"].a = 2')).toEqual(['2']);
    expect(run('SELECT c.id AS i, c.o.a x FROM c WHERE c.id = "1"')).toEqual([{ i: '1', x: 1 }]);
  });

  test('a syntax error names the position', () => {
    expect(() => parseQuery('SELECT * FROM c WHERE')).toThrow(SqlSyntaxError);
    const error = (() => {
      try {
        parseQuery('SELECT * FROM c WHERE c.n = = 1');
        return undefined;
      } catch (e) {
        return e as SqlSyntaxError;
      }
    })();
    expect(error?.position).toBe(28);
    expect(error?.message).toBe("Syntax error, incorrect syntax near '='.");
    expect(() => parseQuery("SELECT * FROM c WHERE c.s = 'open")).toThrow(/Unterminated/);
  });

  test('string escapes, negative numbers, arrays and objects in expressions', () => {
    expect(run("SELECT VALUE 'it\\'s' FROM c WHERE c.id = '1'")).toEqual(["it's"]);
    expect(run('SELECT VALUE {"k": -c.n, "l": [c.n, c.missing]} FROM c WHERE c.id = "1"')).toEqual([{ k: -3, l: [3] }]);
  });
});

describe('Cosmos SQL evaluation', () => {
  test('comparisons across types are undefined: neither the test nor its negation matches', () => {
    expect(run('SELECT VALUE c.id FROM c WHERE c.n > 1')).toEqual(['1']);
    expect(run('SELECT VALUE c.id FROM c WHERE NOT (c.n > 1)')).toEqual(['2']);
    expect(run('SELECT VALUE c.id FROM c WHERE c.n = "2"')).toEqual(['4']);
    expect(run('SELECT VALUE c.id FROM c WHERE c.nul = null')).toEqual(['3']);
    expect(run('SELECT VALUE c.id FROM c WHERE c.n > 1 OR c.s = "c"')).toEqual(['1', '3']);
  });

  test('ORDER BY sorts undefined < null < booleans < numbers < strings; DESC reverses', () => {
    expect(run('SELECT VALUE c.id FROM c ORDER BY c.n')).toEqual(['3', '2', '1', '4']);
    expect(run('SELECT VALUE c.id FROM c ORDER BY c.n DESC')).toEqual(['4', '1', '2', '3']);
    expect(run('SELECT VALUE c.s FROM c ORDER BY c.s')).toEqual(['D', 'a', 'b', 'c']);
  });

  test('unnamed projections are $1, $2; undefined values are left out', () => {
    expect(run('SELECT c.n + 1, UPPER(c.s), c.n FROM c WHERE c.id IN ("1", "3")')).toEqual([{ $1: 4, $2: 'B', n: 3 }, { $2: 'C' }]);
  });

  test('aggregates skip undefined values; on no rows COUNT and SUM are 0 and AVG is absent', () => {
    expect(run('SELECT VALUE COUNT(c.n) FROM c')).toEqual([3]);
    expect(run('SELECT VALUE SUM(c.n) FROM c WHERE IS_NUMBER(c.n)')).toEqual([4]);
    expect(run('SELECT VALUE SUM(c.n) FROM c')).toEqual([]);
    expect(run('SELECT COUNT(1) AS n, SUM(c.n) AS s, AVG(c.n) AS a FROM c WHERE c.id = "none"')).toEqual([{ n: 0, s: 0 }]);
    expect(run('SELECT VALUE MAX(c.s) FROM c')).toEqual(['c']);
  });

  test('GROUP BY with aggregates per group', () => {
    expect(run('SELECT IS_NUMBER(c.n) AS num, COUNT(1) AS n FROM c GROUP BY IS_NUMBER(c.n)')).toEqual([
      { num: true, n: 2 },
      { num: false, n: 2 },
    ]);
  });

  test('JOIN, FROM ... IN, EXISTS and ARRAY subqueries', () => {
    expect(run('SELECT c.id, t FROM c JOIN t IN c.tags WHERE t = "y"')).toEqual([
      { id: '1', t: 'y' },
      { id: '3', t: 'y' },
    ]);
    expect(run('SELECT VALUE k.name FROM k IN c.kids WHERE k.age > 5')).toEqual(['k2']);
    expect(run('SELECT VALUE c.id FROM c WHERE EXISTS(SELECT VALUE k FROM k IN c.kids WHERE k.age < 5)')).toEqual(['1']);
    expect(run('SELECT c.id, ARRAY(SELECT VALUE k.name FROM k IN c.kids) AS names FROM c WHERE c.id = "1"')).toEqual([{ id: '1', names: ['k1', 'k2'] }]);
  });

  test('parameters, TOP and OFFSET LIMIT take parameters; DISTINCT keeps the first of equal results', () => {
    expect(run('SELECT TOP @n VALUE c.id FROM c ORDER BY c.id DESC', [{ name: '@n', value: 2 }])).toEqual(['4', '3']);
    expect(run('SELECT VALUE c.id FROM c ORDER BY c.id OFFSET 1 LIMIT 2')).toEqual(['2', '3']);
    expect(run('SELECT DISTINCT VALUE ARRAY_LENGTH(c.tags) FROM c')).toEqual([2, 0, 1]);
    expect(() => run('SELECT * FROM c WHERE c.n = @missing')).toThrow(/@missing/);
  });

  test('string, array, type and math functions', () => {
    const one = (expr: string) => run(`SELECT VALUE ${expr} FROM c WHERE c.id = "1"`)[0];
    expect(one('CONCAT(c.s, "-", ToString(c.n))')).toBe('b-3');
    expect(one('STARTSWITH("Hello", "he", true)')).toBe(true);
    expect(one('CONTAINS("Hello", "LL")')).toBe(false);
    expect(one('SUBSTRING("abcdef", 1, 3)')).toBe('bcd');
    expect(one('ARRAY_CONTAINS(c.kids, {"name": "k1"}, true)')).toBe(true);
    expect(one('ARRAY_CONTAINS(c.kids, {"name": "k1"})')).toBe(false);
    expect(one('ARRAY_SLICE(c.tags, -1)')).toEqual(['y']);
    expect(one('IS_DEFINED(c.nope) ? 1 : 2')).toBe(2);
    expect(one('c.nope ?? "fallback"')).toBe('fallback');
    expect(one('ROUND(2.5) + FLOOR(-1.5) + ABS(-3)')).toBe(4);
    expect(one('"abc" LIKE "a_c"')).toBe(true);
    expect(one('"50%" LIKE "50!%" ESCAPE "!"')).toBe(true);
    expect(one('REGEXMATCH("Abc", "^a", "i")')).toBe(true);
    expect(one('GetCurrentDateTime()')).toBe('2026-01-02T00:00:00.0000000Z');
    expect(() => one('NO_SUCH_FN(1)')).toThrow(/not a recognized built-in function/);
  });
});
