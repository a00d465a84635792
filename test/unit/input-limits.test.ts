// The input limits on each decoder's raw input: settings and defaults, the JSON text scan and the
// parsed-value walk, XML (with its entity policy), CSV and Avro — each limit refused with an
// InputLimitError naming its setting and, where there is one, the field.
import avro from 'avsc';
import { checkAvroLimits } from '../../src/esb/formats/avro-limits';
import { decodeAvro, encodeAvro } from '../../src/esb/formats/avro';
import { parseCsv, rowToPayload } from '../../src/esb/formats/csv';
import { parseXmlDocument } from '../../src/esb/formats/xml';
import { checkJsonText, checkValueLimits, DEFAULT_INPUT_LIMITS, inputLimits, InputLimitSettingError, type InputLimits } from '../../src/esb/input-limits';
import { SchemaRegistry } from '../../src/esb/schemas';
import { InputLimitError, ValidationError } from '../../src/shared/errors';

const small: InputLimits = { maxBodyBytes: 1000, maxBatchBytes: 2000, maxDepth: 4, maxStringLength: 10, maxArrayLength: 3 };
const registry = SchemaRegistry.load();

function limitError(fn: () => unknown): InputLimitError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InputLimitError);
    return error as InputLimitError;
  }
  throw new Error('expected an InputLimitError');
}

describe('settings', () => {
  test('defaults without settings; each INPUT_MAX_* setting replaces its default', () => {
    expect(inputLimits({})).toEqual(DEFAULT_INPUT_LIMITS);
    expect(DEFAULT_INPUT_LIMITS).toEqual({ maxBodyBytes: 262144, maxBatchBytes: 5242880, maxDepth: 32, maxStringLength: 32768, maxArrayLength: 1000 });
    expect(inputLimits({ INPUT_MAX_DEPTH: '8', INPUT_MAX_ARRAY_LENGTH: ' 50 ', INPUT_MAX_BODY_BYTES: '' })).toMatchObject({ maxDepth: 8, maxArrayLength: 50, maxBodyBytes: 262144 });
  });

  test.each(['0', '-1', '1.5', 'lots', '99999999999999999999'])('a malformed setting (%s) is refused, naming it', (value) => {
    expect(() => inputLimits({ INPUT_MAX_STRING_LENGTH: value })).toThrow(InputLimitSettingError);
    expect(() => inputLimits({ INPUT_MAX_STRING_LENGTH: value })).toThrow(/INPUT_MAX_STRING_LENGTH/);
  });
});

describe('JSON text, scanned before JSON.parse', () => {
  test('nesting: the limit itself passes, one more level is refused naming the setting and the path', () => {
    expect(() => checkJsonText('{"a":{"b":[{"c":1}]}}', small)).not.toThrow();
    const e = limitError(() => checkJsonText('{"a":{"b":[{"c":[1]}]}}', small));
    expect(e).toMatchObject({ status: 400, code: 'InputLimitExceeded', setting: 'INPUT_MAX_DEPTH', target: 'a.b[0].c' });
    expect(e.message).toMatch(/nested more than 4 levels deep \(INPUT_MAX_DEPTH\)/);
  });

  test('brackets inside strings are text, escapes are one character each', () => {
    expect(() => checkJsonText(`{"s":"${'[{'.repeat(3)}"}`, small)).not.toThrow();
    expect(() => checkJsonText('{"s":"\\"\\u0041\\n\\\\abcdef"}', small)).not.toThrow(); // 10 characters
    expect(limitError(() => checkJsonText('{"s":"\\"\\u0041\\n\\\\abcdefg"}', small))).toMatchObject({ setting: 'INPUT_MAX_STRING_LENGTH', target: 's' });
  });

  test('string length counts values and keys', () => {
    expect(limitError(() => checkJsonText('{"payload":{"note":"abcdefghijk"}}', small))).toMatchObject({ target: 'payload.note', setting: 'INPUT_MAX_STRING_LENGTH' });
    const key = limitError(() => checkJsonText('{"abcdefghijk":1}', small));
    expect(key.message).toMatch(/^A key at abcdefghijk has 11 characters; the limit is 10/);
  });

  test('array length counts elements of every kind, naming the array', () => {
    expect(() => checkJsonText('{"a":[1,"x",{}]}', small)).not.toThrow();
    expect(limitError(() => checkJsonText('{"p":{"items":[1,"x",{"y":2},[]]}}', small))).toMatchObject({ target: 'p.items', setting: 'INPUT_MAX_ARRAY_LENGTH' });
    expect(() => checkJsonText('[[1,2,3],[1,2,3],[1,2,3]]', small)).not.toThrow();
  });

  test('malformed text is left for JSON.parse: the scan throws nothing but limits', () => {
    for (const text of ['', '}}}]]]', '{"a":', '"unterm', '[,,,]', ':::', '{"a" "b"}', '"\\']) expect(() => checkJsonText(text, small)).not.toThrow();
  });
});

describe('parsed values, walked without recursion', () => {
  test('the same limits, with the path', () => {
    expect(limitError(() => checkValueLimits({ a: { b: [{ c: [1] }] } }, small))).toMatchObject({ setting: 'INPUT_MAX_DEPTH' });
    expect(limitError(() => checkValueLimits({ p: { list: [1, 2, 3, 4] } }, small))).toMatchObject({ target: 'p.list', setting: 'INPUT_MAX_ARRAY_LENGTH' });
    expect(limitError(() => checkValueLimits({ p: [{ s: 'abcdefghijk' }] }, small))).toMatchObject({ target: 'p[0].s', setting: 'INPUT_MAX_STRING_LENGTH' });
  });

  test('a tree 200,000 levels deep (JSON.parse builds it without recursion) is measured, not recursed into', () => {
    const deep = JSON.parse('['.repeat(200_000) + ']'.repeat(200_000)) as unknown;
    expect(limitError(() => checkValueLimits(deep))).toMatchObject({ setting: 'INPUT_MAX_DEPTH' });
  });
});

describe('XML: limits and entities disabled, before the validator and the parser', () => {
  test('depth, child elements, attributes, text, attribute values and CDATA', () => {
    expect(() => parseXmlDocument('<a><b><c><d>x</d></c></b></a>', small)).not.toThrow();
    expect(limitError(() => parseXmlDocument('<a><b><c><d><e/></d></c></b></a>', small))).toMatchObject({ setting: 'INPUT_MAX_DEPTH' });
    expect(limitError(() => parseXmlDocument('<a><b><d/><d>x</d><d/><d/></b></a>', small))).toMatchObject({ setting: 'INPUT_MAX_ARRAY_LENGTH', target: 'a/b' });
    expect(limitError(() => parseXmlDocument('<a p="1" q="2" r="3" s="4"/>', small)).message).toMatch(/<a> has more than 3 attributes/);
    expect(limitError(() => parseXmlDocument('<a><b>abcdefghijk</b></a>', small))).toMatchObject({ setting: 'INPUT_MAX_STRING_LENGTH', target: 'a/b' });
    expect(limitError(() => parseXmlDocument('<a b="abcdefghijk"/>', small))).toMatchObject({ setting: 'INPUT_MAX_STRING_LENGTH' });
    expect(limitError(() => parseXmlDocument('<a><![CDATA[abcdefghijk]]></a>', small))).toMatchObject({ setting: 'INPUT_MAX_STRING_LENGTH' });
  });

  test('markup inside CDATA, comments and attribute values is not nesting', () => {
    expect(() => parseXmlDocument(`<a x="<b><b><b><b><b>"><![CDATA[<b><b><b><b><b>]]><!--<b><b><b><b><b>--></a>`, { ...small, maxStringLength: 100 })).not.toThrow();
  });

  test('only the five predefined entities and character references to XML characters are read', () => {
    const doc = parseXmlDocument('<a>&lt;&gt;&amp;&quot;&apos;&#65;&#x1F600;&#13;</a>');
    expect(doc.node).toBe('<>&"\'A😀\r');
    for (const [xml, why] of [
      ['<a>&nbsp;</a>', /&nbsp; .*entities are disabled/],
      ['<a b="&xxe;"/>', /&xxe; .*entities are disabled/],
      ['<a>&#0;</a>', /&#0; .*cannot carry/],
      ['<a>&#xD800;</a>', /cannot carry/],
      ['<a>&#99999999;</a>', /cannot carry/],
      ['<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>', /DOCTYPE/],
      ['<?xml version="1.0"?><!DOCTYPE a SYSTEM "file:///etc/passwd"><a/>', /DOCTYPE/],
    ] as const) {
      expect(() => parseXmlDocument(xml)).toThrow(ValidationError);
      expect(() => parseXmlDocument(xml)).toThrow(why);
    }
  });

  test('names that are prototype keys or that the parser would rename are refused with a 400, not a 500', () => {
    for (const xml of ['<a><__proto__><x>1</x></__proto__></a>', '<a><constructor/></a>', '<a prototype="1"/>', '<a><hasOwnProperty>1</hasOwnProperty></a>', '<a><toString/></a>']) {
      expect(() => parseXmlDocument(xml)).toThrow(ValidationError);
    }
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  test('what the validator lets through and the parser refuses is a 400 (an unclosed processing instruction)', () => {
    expect(() => parseXmlDocument('<?xml 1.0" encoding="UTF-8"?><a/>')).toThrow(ValidationError);
  });
});

describe('CSV: cells and column paths, before any payload is written', () => {
  test('a cell over the string limit, naming the row', () => {
    expect(limitError(() => parseCsv('a,b\n1,2\n3,abcdefghijk\n', small))).toMatchObject({ setting: 'INPUT_MAX_STRING_LENGTH', target: 'rows[1]' });
  });

  test('a column index is an array length to be: refused past the limit before any row is read', () => {
    expect(() => parseCsv('i[2].s\nx\n', small)).not.toThrow();
    const e = limitError(() => parseCsv('items[99999999].sku\nx\n'));
    expect(e).toMatchObject({ setting: 'INPUT_MAX_ARRAY_LENGTH', target: 'items[99999999].sku' });
    expect(e.message).toBe('Column "items[99999999].sku" names index 99999999; arrays hold at most 1000 elements (INPUT_MAX_ARRAY_LENGTH)');
  });

  test('a column path deeper than the nesting limit', () => {
    expect(limitError(() => parseCsv('a.b.c.d\n1\n', small))).toMatchObject({ setting: 'INPUT_MAX_DEPTH' });
  });

  test('__proto__ and constructor columns are data (as JSON.parse makes them), never Object.prototype', () => {
    const table = parseCsv('__proto__.polluted,constructor.prototype.polluted2,orderId\nyes,yes,o-1\n');
    const payload = rowToPayload(table.rows[0]!, registry.get('OrderPlaced.v1').schema, 'rows[0]');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted2).toBeUndefined();
    expect(Object.keys(payload)).toEqual(['__proto__', 'constructor', 'orderId']);
    expect(() => registry.validatePayload(registry.get('OrderPlaced.v1'), payload)).toThrow(
      expect.objectContaining({ details: expect.arrayContaining([{ target: 'payload.__proto__', message: 'is not allowed here' }]) }),
    );
  });
});

describe('Avro: counts and lengths read before avsc decodes', () => {
  const order = { orderId: 'o', customerId: 'c', items: [{ sku: 's', quantity: 1, unitPrice: 1 }], totalAmount: 1, currency: 'EUR' };
  const model = registry.get('OrderPlaced.v1');
  // orderId "o", customerId "c", channel null, then an items block claiming a billion items.
  const billion = Buffer.from([2, 0x6f, 2, 0x63, 0, 0x80, 0xa8, 0xd6, 0xb9, 0x07]);

  test('a block claiming a billion items is refused at once, not looped over', () => {
    expect(limitError(() => decodeAvro(model, billion))).toMatchObject({ setting: 'INPUT_MAX_ARRAY_LENGTH', target: 'items' });
  });

  test('a string length over the limit, and nesting, over any schema', () => {
    expect(limitError(() => decodeAvro(model, encodeAvro(model, { ...order, orderId: 'abcdefghijk' }), small))).toMatchObject({ setting: 'INPUT_MAX_STRING_LENGTH', target: 'orderId' });
    const nested = avro.Type.forSchema({ type: 'array', items: { type: 'array', items: { type: 'array', items: { type: 'array', items: { type: 'array', items: 'int' } } } } });
    expect(limitError(() => checkAvroLimits(nested, nested.toBuffer([[[[[1]]]]]), small))).toMatchObject({ setting: 'INPUT_MAX_DEPTH' });
  });

  test('bytes the walk cannot follow are refused, not handed to avsc (which would step back on a negative length or read on past the end)', () => {
    expect(() => decodeAvro(model, Buffer.from([1, 0x6f]))).toThrow(/negative length \(-1\) at orderId/);
    expect(() => decodeAvro(model, Buffer.from([2, 0x6f, 2, 0x63, 0, 0xff, 0xff, 0xff]))).toThrow(/the data ends inside a number at items/);
    expect(() => decodeAvro(model, Buffer.from([2, 0x6f, 2, 0x63, 9]))).toThrow(/union branch -5 does not exist at channel/);
    expect(() => decodeAvro(model, Buffer.from([2, 0x6f, 2, 0x63, 0, 0xff, 0xff, 0xff]))).toThrow(ValidationError);
  });

  test('valid data within the limits decodes; malformed data is refused', () => {
    expect(decodeAvro(model, encodeAvro(model, order))).toEqual(order);
    expect(() => decodeAvro(model, Buffer.from([2, 0x6f]))).toThrow(/does not match the schema/);
  });
});
