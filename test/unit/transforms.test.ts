import { SchemaRegistry } from '../../src/esb/schemas';
import { buildTransformGraph } from '../../src/esb/transforms/catalog';
import type { Doc } from '../../src/esb/transforms/document';
import { compileFieldMap, parseFieldMaps } from '../../src/esb/transforms/field-map';
import { TransformationError } from '../../src/esb/transforms/graph';

const registry = SchemaRegistry.load();
const graph = buildTransformGraph(registry);
const meta = { messageId: 'm-1', correlationId: 'c-1', timestamp: '2026-01-01T00:00:00.000Z', headers: { priority: 'high' as const } };
const order = {
  orderId: 'o-1',
  customerId: 'c-1',
  items: [
    { sku: 'A-1', quantity: 2, unitPrice: 10 },
    { sku: 'B-2', quantity: 1, unitPrice: 5.5 },
  ],
  totalAmount: 25.5,
  currency: 'EUR',
  shippingAddress: { line1: 'Main St 1', city: 'Berlin', postalCode: '10115', country: 'DE' },
};
const doc = (model: string, content: unknown, format: Doc['format'] = 'json'): Doc => ({ model, format, meta, content });

describe('the transform graph', () => {
  test('with no direct transform, the shortest chain is used', () => {
    const plan = graph.plan({ model: 'PartnerOrder.v1', format: 'xml' }, { model: 'FulfilmentRequest.v1', format: 'avro' });
    expect(plan.map((t) => t.name)).toEqual(['PartnerOrder.v1:xml-to-json', 'partner-order-to-canonical', 'order-to-fulfilment', 'FulfilmentRequest.v1:json-to-avro']);
    expect(graph.plan({ model: 'OrderPlaced.v1', format: 'xml' }, { format: 'csv' }).map((t) => t.name)).toEqual(['OrderPlaced.v1:xml-to-json', 'OrderPlaced.v1:json-to-csv']);
    expect(graph.plan({ model: 'OrderPlaced.v1', format: 'json' }, { format: 'json' })).toEqual([]);
  });

  test('a named transform then a format: order → fulfilment request → XML', () => {
    const out = graph.run(doc('OrderPlaced.v1', order), graph.plan({ model: 'OrderPlaced.v1', format: 'json' }, { transform: 'order-to-fulfilment', format: 'xml' }));
    expect(out.model).toBe('FulfilmentRequest.v1');
    expect(out.content).toContain('<message messageId="m-1" messageType="FulfilmentRequest" schemaVersion="1"');
    expect(out.content).toContain('<priority>express</priority>');
    expect(out.content).toContain('<lines><item><sku>A-1</sku><quantity>2</quantity></item><item><sku>B-2</sku><quantity>1</quantity></item></lines>');
  });

  test('no chain, or an unknown transform, is a TransformationError', () => {
    expect(() => graph.plan({ model: 'OrderCancelled.v1', format: 'json' }, { format: 'avro' })).toThrow(TransformationError);
    expect(() => graph.plan({ model: 'OrderPlaced.v1', format: 'json' }, { transform: 'nope' })).toThrow(/No transform named "nope"/);
    expect(() => graph.plan({ model: 'CustomerFeedback.v1', format: 'json' }, { model: 'OrderPlaced.v1' })).toThrow(/No chain of transforms/);
  });

  test('a step that fails names itself', () => {
    const bad = doc('OrderPlaced.v1', '<not-a-message/>', 'xml');
    expect(() => graph.run(bad, graph.plan({ model: 'OrderPlaced.v1', format: 'xml' }, { format: 'json' }))).toThrow(
      /OrderPlaced.v1:xml-to-json: <not-a-message> is not an XML form of OrderPlaced.v1/,
    );
  });

  test('XML cannot carry control characters: the conversion fails rather than corrupting the text', () => {
    const plan = graph.plan({ model: 'OrderPlaced.v1', format: 'json' }, { format: 'xml' });
    expect(() => graph.run(doc('OrderPlaced.v1', { ...order, orderId: 'o\u0001' }), plan)).toThrow(/characters XML cannot represent/);
  });
});

describe('model mappings', () => {
  test('order-to-fulfilment: lines, ship-to, and express for large or urgent orders', () => {
    const run = (content: unknown, priority: 'high' | 'normal') =>
      graph.run({ ...doc('OrderPlaced.v1', content), meta: { ...meta, headers: { priority } } }, [graph.get('order-to-fulfilment')!]).content;
    expect(run(order, 'high')).toEqual({
      orderId: 'o-1',
      priority: 'express',
      lines: [
        { sku: 'A-1', quantity: 2 },
        { sku: 'B-2', quantity: 1 },
      ],
      shipTo: order.shippingAddress,
    });
    expect(run({ ...order, shippingAddress: undefined }, 'normal')).toEqual({ orderId: 'o-1', priority: 'standard', lines: expect.any(Array) });
    expect((run({ ...order, totalAmount: 1500 }, 'normal') as { priority: string }).priority).toBe('express');
  });

  test('partner-order-to-canonical (a declarative field map): templates, constants, each, sumProduct, when', () => {
    const partner = {
      PurchaseOrderNumber: '77',
      BuyerId: 'b-9',
      Currency: 'EUR',
      Lines: [
        { ItemCode: 'A-1', Qty: 3, Price: 19.99 },
        { ItemCode: 'B-2', Qty: 1, Price: 0.01 },
      ],
    };
    const out = graph.run(doc('PartnerOrder.v1', partner), [graph.get('partner-order-to-canonical')!]);
    expect(out.model).toBe('OrderPlaced.v1');
    expect(out.content).toEqual({
      orderId: 'PO-77',
      customerId: 'partner:b-9',
      channel: 'partner',
      currency: 'EUR',
      items: [
        { sku: 'A-1', quantity: 3, unitPrice: 19.99 },
        { sku: 'B-2', quantity: 1, unitPrice: 0.01 },
      ],
      totalAmount: 59.98,
    });
    registry.validatePayload(registry.get('OrderPlaced.v1'), out.content);
    const withShipTo = graph.run(doc('PartnerOrder.v1', { ...partner, ShipTo: { Street: 'S', City: 'C', Zip: 'Z', CountryCode: 'NL' } }), [graph.get('partner-order-to-canonical')!]);
    expect((withShipTo.content as { shippingAddress: unknown }).shippingAddress).toEqual({ line1: 'S', city: 'C', postalCode: 'Z', country: 'NL' });
  });

  test('field map operations: from with default and lookup map, optional, sum, and errors for missing fields', () => {
    const [def] = parseFieldMaps(
      {
        transforms: [
          {
            name: 'demo',
            from: 'A.v1',
            to: 'B.v1',
            fields: {
              code: { from: 'kind', map: { a: 'ALPHA', b: 'BETA' } },
              region: { from: 'region', default: 'EU' },
              maybe: { from: 'nothing', optional: true },
              total: { sum: 'lines[*].amount', round: 1 },
              nested: { fields: { id: { from: 'id' } } },
              skipped: { when: 'absent', fields: { x: { value: 1 } } },
            },
          },
        ],
      },
      'test',
    );
    const map = compileFieldMap(def!);
    expect(map({ kind: 'a', id: 7, lines: [{ amount: 1.04 }, { amount: 2.01 }] })).toEqual({ code: 'ALPHA', region: 'EU', total: 3.1, nested: { id: 7 } });
    expect(() => map({ kind: 'z', id: 1, lines: [] })).toThrow(/no mapping for kind = z/);
    expect(() => map({ id: 1, lines: [] })).toThrow(/kind is missing/);
  });

  test('a field map with an unknown operation is refused when loading', () => {
    expect(() => parseFieldMaps({ transforms: [{ name: 'x', from: 'A.v1', to: 'B.v1', fields: { a: { copy: 'b' } } }] }, 'test.yaml')).toThrow(/test.yaml/);
  });
});
