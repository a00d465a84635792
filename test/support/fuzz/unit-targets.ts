// Fuzz targets that call the decoders and evaluators directly: each must return a value or throw
// one of the app's typed errors (ValidationError and its kin; ConditionError and SqlFilterError for
// configuration), never a TypeError, RangeError or stack overflow, and must leave
// Object.prototype as it was.
import { join } from 'node:path';
import fc from 'fast-check';
import { loadTopology } from '@backbone/azure-model/topology';
import { compileSqlFilter, SqlFilterError, type FilterMessage, type SqlValue } from '@backbone/local-azure/broker/sql-filter';
import { parseEnvelope, parseEnvelopeInput } from '../../../src/esb/envelope';
import { decodeAvro, encodeAvro } from '../../../src/esb/formats/avro';
import { parseCsv, rowToPayload, toCsv } from '../../../src/esb/formats/csv';
import { typedFromText, typedFromXml } from '../../../src/esb/formats/typed-values';
import { envelopeToXml, parseXmlDocument, payloadToXml, readXmlEnvelope, xmlToPayload } from '../../../src/esb/formats/xml';
import { decodeUtf8, parseJson } from '../../../src/esb/ingress';
import { checkJsonText, checkValueLimits } from '../../../src/esb/input-limits';
import { compileCondition, ConditionError, OPERATORS, type Condition } from '../../../src/esb/routing/conditions';
import { RouteTable } from '../../../src/esb/routing/routes';
import { modelName, SchemaRegistry } from '../../../src/esb/schemas';
import { buildTransformGraph } from '../../../src/esb/transforms/catalog';
import { appRoot } from '../../../src/shared/app-paths';
import { jsonValue, MODEL_NAMES, mutated, nastyNumber, nastyString, PROTOTYPE_KEYS, rawBytes, rawText, spliced, validEnvelope, validPayload } from './inputs';
import { returnsOrThrowsTyped, type FuzzTarget } from './runner';

const registry = SchemaRegistry.load();
const graph = buildTransformGraph(registry, join(appRoot(), 'config', 'transforms.yaml'));
const routes = RouteTable.load(join(appRoot(), 'config', 'routes.yaml'), { topology: loadTopology(join(appRoot(), 'config', 'topology.yaml')), registry, graph });

/** What the router does with a queued JSON body: limits, envelope, payload schema, route match. */
function routeJsonText(text: string): void {
  checkJsonText(text);
  const envelope = parseEnvelope(parseJson(text));
  const model = registry.find(modelName(envelope.messageType, envelope.schemaVersion));
  if (model) registry.validatePayload(model, envelope.payload);
  routes.match(envelope);
}

const envelopeInput = fc.oneof(validEnvelope, mutated(validEnvelope), jsonValue);

const envelopeTarget: FuzzTarget = {
  name: 'envelope',
  level: 'unit',
  what: 'parseEnvelopeInput / parseEnvelope, then the payload schema and the route table, on near-valid envelopes and any JSON value',
  property: (ctx) =>
    fc.property(envelopeInput, (value) => {
      ctx.tick(value);
      returnsOrThrowsTyped(() => {
        checkValueLimits(value);
        parseEnvelopeInput(value);
        const envelope = parseEnvelope(value);
        const model = registry.find(modelName(envelope.messageType, envelope.schemaVersion));
        if (model) registry.validatePayload(model, envelope.payload);
        routes.match(envelope);
      });
    }),
};

const jsonTarget: FuzzTarget = {
  name: 'json',
  level: 'unit',
  what: 'the JSON path of the ingress and router (UTF-8 decode, limit scan, JSON.parse, envelope) on raw bytes, raw text and spliced envelopes',
  property: (ctx) =>
    fc.property(
      fc.oneof(
        rawBytes,
        rawText.map((t) => new TextEncoder().encode(t)),
        spliced(envelopeInput.map((v) => JSON.stringify(v) ?? 'null')).map((t) => new TextEncoder().encode(t)),
        envelopeInput.map((v) => new TextEncoder().encode(JSON.stringify(v) ?? 'null')),
      ),
      (bytes) => {
        ctx.tick(bytes);
        returnsOrThrowsTyped(() => routeJsonText(decodeUtf8(Buffer.from(bytes))));
      },
    ),
};

const xmlName = fc.oneof(fc.constantFrom('message', 'payload', 'headers', 'item', 'orderId', 'items', 'PurchaseOrder', 'x:y', ...PROTOTYPE_KEYS), fc.stringMatching(/^[A-Za-z_][A-Za-z0-9._:-]{0,8}$/));
const xmlTree: fc.Arbitrary<string> = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small' },
    nastyString.map((s) => s.replace(/[<&]/g, '')),
    fc
      .tuple(
        xmlName,
        fc.array(
          fc.tuple(
            xmlName,
            nastyString.map((s) => s.replace(/["<&]/g, '')),
          ),
          { maxLength: 2 },
        ),
        fc.array(tie('node'), { maxLength: 3 }),
      )
      .map(([name, attrs, children]) => `<${name}${attrs.map(([k, v]) => ` ${k}="${v}"`).join('')}>${children.join('')}</${name}>`),
  ),
})).node;

const xmlTarget: FuzzTarget = {
  name: 'xml',
  level: 'unit',
  what: 'parseXmlDocument, the <message> mapping and partner roots, typed by the schema, on raw text, generated trees and spliced valid documents',
  property: (ctx) =>
    fc.property(
      fc.oneof(
        rawText,
        xmlTree,
        xmlTree.map((inner) => `<message messageType="OrderPlaced"><payload>${inner}</payload></message>`),
        spliced(validEnvelope.map((e) => envelopeToXml(e as never))),
        spliced(validPayload('PartnerOrder.v1').map((p) => payloadToXml('PurchaseOrder', p))),
      ),
      (text) => {
        ctx.tick(text);
        returnsOrThrowsTyped(() => {
          const doc = parseXmlDocument(text);
          if (doc.root === 'message') {
            const { payloadNode, ...fields } = readXmlEnvelope(doc);
            const model = registry.find(modelName(fields.messageType, fields.schemaVersion));
            const input = parseEnvelopeInput(JSON.parse(JSON.stringify({ ...fields, payload: xmlToPayload(model?.schema, payloadNode) })));
            if (model) registry.validatePayload(model, input.payload);
          } else {
            const model = registry.byXmlRoot(doc.root);
            if (model) registry.validatePayload(model, xmlToPayload(model.schema, doc.node));
          }
        });
      },
    ),
};

const column = fc.oneof(
  fc.constantFrom('orderId', 'customerId', 'items[0].sku', 'items[1].quantity', 'shippingAddress.city', '@messageId', '@correlationId', 'items[999]', 'items[1000].sku', 'a..b', '[0]', 'a[*]'),
  fc.constantFrom(...PROTOTYPE_KEYS).map((k) => `${k}.polluted`),
  fc.tuple(fc.constantFrom(...PROTOTYPE_KEYS), fc.constantFrom(...PROTOTYPE_KEYS)).map(([a, b]) => `${a}.${b}.x`),
  fc.tuple(fc.constantFrom('items', 'a'), fc.oneof(fc.nat(), fc.constantFrom(4294967294, 2 ** 53, 99999999))).map(([k, i]) => `${k}[${i}].sku`),
  nastyString,
);
const cell = fc.oneof(nastyString, nastyNumber.map(String), fc.constant(''));
const quote = (s: string) => (/[",\r\n]/.test(s) || s === '' ? `"${s.replaceAll('"', '""')}"` : s);
const csvTable = fc
  .tuple(fc.uniqueArray(column, { minLength: 1, maxLength: 5 }), fc.array(cell, { minLength: 1, maxLength: 20 }), fc.integer({ min: 1, max: 4 }))
  .map(([columns, cells, rows]) =>
    [columns.map(quote).join(','), ...Array.from({ length: rows }, (_, r) => columns.map((_, c) => quote(cells[(r * columns.length + c) % cells.length]!)).join(','))].join('\n'),
  );

const csvTarget: FuzzTarget = {
  name: 'csv',
  level: 'unit',
  what: 'parseCsv and rowToPayload (column paths written into payloads), typed by each model, on raw text, generated tables and spliced valid batches',
  property: (ctx) =>
    fc.property(
      fc.constantFrom(...MODEL_NAMES),
      fc.oneof(
        rawText,
        csvTable,
        spliced(
          fc
            .constantFrom(...MODEL_NAMES)
            .chain((m) => fc.array(validPayload(m), { minLength: 1, maxLength: 3 }))
            .map((ps) => toCsv(ps.map((payload) => ({ payload })))),
        ),
      ),
      (model, text) => {
        ctx.tick([model, text]);
        returnsOrThrowsTyped(() => {
          const m = registry.get(model);
          const table = parseCsv(text);
          table.rows.forEach((row, i) => registry.validatePayload(m, rowToPayload(row, m.schema, `rows[${i}]`)));
        });
      },
    ),
};

const avroModels = registry.models.filter((m) => m.avro).map((m) => m.name) as typeof MODEL_NAMES;
const varint = (n: number) => {
  let v = BigInt(Math.trunc(n)) * 2n;
  if (v < 0n) v = -v - 1n;
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number((v & 0x7fn) | 0x80n));
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
};

const avroTarget: FuzzTarget = {
  name: 'avro',
  level: 'unit',
  what: 'decodeAvro for every Avro model on random bytes and on valid encodings with bytes flipped, cut, or huge counts and lengths spliced in',
  property: (ctx) =>
    fc.property(
      fc.constantFrom(...avroModels).chain((model) =>
        fc.tuple(
          fc.constant(model),
          fc.oneof(
            rawBytes,
            fc
              .tuple(validPayload(model), fc.nat(), fc.oneof(fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), fc.constantFrom(1e9, -1e9, 2 ** 31, 1001, 40_000)), fc.nat({ max: 4 }))
              .map(([payload, at, count, drop]) => {
                const bytes = [...encodeAvro(registry.get(model), payload)];
                const i = at % (bytes.length + 1);
                return Uint8Array.from([...bytes.slice(0, i), ...varint(count), ...bytes.slice(i + drop)]);
              }),
            fc.tuple(validPayload(model), fc.nat(), fc.nat({ max: 255 })).map(([payload, at, byte]) => {
              const bytes = encodeAvro(registry.get(model), payload);
              if (bytes.length) bytes[at % bytes.length] = byte;
              return Uint8Array.from(bytes.subarray(0, bytes.length - (at % 3)));
            }),
          ),
        ),
      ),
      ([model, bytes]) => {
        ctx.tick([model, bytes]);
        returnsOrThrowsTyped(() => {
          const m = registry.get(model);
          registry.validatePayload(m, decodeAvro(m, Buffer.from(bytes)));
        });
      },
    ),
};

const typedValuesTarget: FuzzTarget = {
  name: 'typed-values',
  level: 'unit',
  what: "typedFromXml and typedFromText with every model's schema over arbitrary trees (hostile keys included)",
  property: (ctx) =>
    fc.property(fc.constantFrom(...registry.models.map((m) => m.name)), jsonValue, (model, tree) => {
      ctx.tick([model, tree]);
      returnsOrThrowsTyped(() => {
        const schema = registry.get(model).schema;
        typedFromXml(schema, tree);
        typedFromText(schema, tree);
      });
    }),
};

const fieldPath = fc.oneof(
  fc.constantFrom(
    'messageType',
    'headers.priority',
    'payload.totalAmount',
    'payload.items[*].sku',
    'payload.items[0].quantity',
    'payload',
    'payload.__proto__',
    'constructor.prototype',
    'payload[*]',
    'a..b',
    '',
    '[0]',
  ),
  nastyString,
);
const regexSource = fc.oneof(
  fc.constantFrom('^o-\\d+$', '^TEST-', '(a+)+$', '(a|a)*$', '(\\w|\\d)+$', '[', '(?<n>a)\\k<n>', '\\p{L}+', '.*', '^$', '(?=a)a', '\\u{1F600}', 'a{2,1}', '\\'),
  fc.array(fc.constantFrom('a', 'b', '\\d', '\\w', '.', '*', '+', '?', '|', '(', ')', '[', ']', '^', '$', '{2}', '{1,}', '\\', '-', '(?:', '[^a]', '\\s'), { maxLength: 12 }).map((p) => p.join('')),
);
const fieldCondition = fc.record(
  {
    field: fieldPath,
    operator: fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...OPERATORS) }, { weight: 1, arbitrary: nastyString }),
    value: fc.oneof(nastyString, nastyNumber, regexSource, fc.array(fc.oneof(nastyString, nastyNumber), { maxLength: 3 }), jsonValue),
  },
  { requiredKeys: ['field', 'operator'] },
);
const condition: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  c: fc.oneof(
    { depthSize: 'small' },
    fieldCondition,
    fc.array(tie('c'), { maxLength: 3 }).map((all) => ({ all })),
    fc.array(tie('c'), { maxLength: 3 }).map((any) => ({ any })),
    tie('c').map((not) => ({ not })),
    jsonValue,
  ),
})).c;

const conditionsTarget: FuzzTarget = {
  name: 'route-conditions',
  level: 'unit',
  what: 'compileCondition on generated condition trees (regexes included), each compiled predicate evaluated on arbitrary messages',
  property: (ctx) =>
    fc.property(condition, fc.array(fc.oneof(validEnvelope, mutated(validEnvelope), jsonValue), { minLength: 1, maxLength: 3 }), (c, messages) => {
      ctx.tick([c, messages]);
      const predicate = returnsOrThrowsTyped(() => compileCondition(c as Condition), [ConditionError]);
      if (!predicate) return;
      for (const m of messages) {
        const result = returnsOrThrowsTyped(() => predicate(m), []);
        if (typeof result !== 'boolean') throw new Error(`the predicate returned ${typeof result}, not a boolean`);
      }
    }),
};

const sqlToken = fc.oneof(
  fc.constantFrom('region', 'total', 'sys.Label', 'sys.MessageId', 'user.priority', '[odd name]', '__proto__', 'constructor', "'EU'", "'it''s'", "'%a_'", '1500', '1.5e3', '-1', 'TRUE', 'NULL'),
  fc.constantFrom('=', '<>', '!=', '<', '>', '<=', '>=', 'AND', 'OR', 'NOT', 'IN', '(', ')', ',', 'LIKE', 'ESCAPE', 'IS', 'EXISTS', '+', '-', '*', '/', '%'),
  nastyString,
);
const sqlValue: fc.Arbitrary<SqlValue> = fc.oneof(nastyString, nastyNumber, fc.boolean(), fc.constant(null), fc.date({ noInvalidDate: true }));
const filterMessage: fc.Arbitrary<FilterMessage> = fc.record({
  system: fc.record({ MessageId: nastyString, Label: nastyString, ContentType: nastyString, DeliveryCount: fc.nat() }),
  application: fc.dictionary(fc.oneof(fc.constantFrom('region', 'total', 'priority', ...PROTOTYPE_KEYS), nastyString), sqlValue, { maxKeys: 5 }),
});

const sqlFilterTarget: FuzzTarget = {
  name: 'sql-filter',
  level: 'unit',
  what: "the embedded broker's SQL filter: compileSqlFilter on token soup and raw text, matches() on arbitrary messages",
  property: (ctx) =>
    fc.property(
      fc.oneof(
        fc.array(sqlToken, { minLength: 1, maxLength: 12 }).map((t) => t.join(' ')),
        rawText,
      ),
      filterMessage,
      (expression, message) => {
        ctx.tick([expression, message]);
        const filter = returnsOrThrowsTyped(() => compileSqlFilter(expression), [SqlFilterError]);
        if (!filter) return;
        const result = returnsOrThrowsTyped(() => filter.matches(message), []);
        if (typeof result !== 'boolean') throw new Error(`matches returned ${typeof result}, not a boolean`);
      },
    ),
};

export const UNIT_TARGETS: FuzzTarget[] = [envelopeTarget, jsonTarget, xmlTarget, csvTarget, avroTarget, typedValuesTarget, conditionsTarget, sqlFilterTarget];
