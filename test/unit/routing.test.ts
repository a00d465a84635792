import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTopology } from '@backbone/azure-model/topology';
import { compileCondition, ConditionError, type Condition } from '../../src/esb/routing/conditions';
import { RouteTable, RouteTableSource, RoutesFileError } from '../../src/esb/routing/routes';
import { SchemaRegistry } from '../../src/esb/schemas';
import { buildTransformGraph } from '../../src/esb/transforms/catalog';
import { repoRoot } from '../support/messaging-harness';

const message = {
  messageType: 'OrderPlaced',
  headers: { priority: 'high', source: 'web' },
  payload: {
    orderId: 'o-1',
    totalAmount: 1500,
    currency: 'EUR',
    tags: ['gift', 'vip'],
    note: null,
    items: [
      { sku: 'A-1', quantity: 2 },
      { sku: 'TEST-9', quantity: 1 },
    ],
    shippingAddress: { country: 'DE' },
  },
};

const holds = (c: Condition) => compileCondition(c)(message);

describe('route conditions: every operator', () => {
  test.each<[string, Condition, boolean]>([
    ['equals', { field: 'messageType', operator: 'equals', value: 'OrderPlaced' }, true],
    ['equals, other type', { field: 'payload.totalAmount', operator: 'equals', value: '1500' }, false],
    ['not_equals', { field: 'headers.priority', operator: 'not_equals', value: 'low' }, true],
    ['in', { field: 'headers.priority', operator: 'in', value: ['high', 'urgent'] }, true],
    ['not_in', { field: 'headers.priority', operator: 'not_in', value: ['high'] }, false],
    ['greater_than', { field: 'payload.totalAmount', operator: 'greater_than', value: 1000 }, true],
    ['greater_than, equal', { field: 'payload.totalAmount', operator: 'greater_than', value: 1500 }, false],
    ['greater_or_equal', { field: 'payload.totalAmount', operator: 'greater_or_equal', value: 1500 }, true],
    ['less_than', { field: 'payload.items[0].quantity', operator: 'less_than', value: 3 }, true],
    ['less_or_equal', { field: 'payload.items[1].quantity', operator: 'less_or_equal', value: 0 }, false],
    ['greater_than on strings', { field: 'payload.orderId', operator: 'greater_than', value: 'o-0' }, true],
    ['exists', { field: 'payload.shippingAddress.country', operator: 'exists' }, true],
    ['exists, null value', { field: 'payload.note', operator: 'exists' }, false],
    ['not_exists', { field: 'payload.coupon', operator: 'not_exists' }, true],
    ['matches', { field: 'payload.orderId', operator: 'matches', value: '^o-\\d+$' }, true],
    ['contains in a string', { field: 'headers.source', operator: 'contains', value: 'we' }, true],
    ['contains in a list', { field: 'payload.tags', operator: 'contains', value: 'vip' }, true],
    ['starts_with', { field: 'messageType', operator: 'starts_with', value: 'Order' }, true],
    ['a missing field fails a positive operator', { field: 'payload.nope', operator: 'equals', value: 1 }, false],
    ['and passes a negative one', { field: 'payload.nope', operator: 'not_equals', value: 1 }, true],
  ])('%s', (_name, condition, expected) => {
    expect(holds(condition)).toBe(expected);
  });

  test('[*] reaches every item: any item satisfies a positive operator, none a negative one', () => {
    expect(holds({ field: 'payload.items[*].sku', operator: 'starts_with', value: 'TEST-' })).toBe(true);
    expect(holds({ field: 'payload.items[*].sku', operator: 'not_equals', value: 'TEST-9' })).toBe(false);
    expect(holds({ field: 'payload.items[*].quantity', operator: 'greater_than', value: 5 })).toBe(false);
  });
});

describe('route conditions: groups nest', () => {
  test('all, any and not, nested', () => {
    const condition: Condition = {
      all: [
        { field: 'messageType', operator: 'equals', value: 'OrderPlaced' },
        { any: [{ field: 'headers.priority', operator: 'equals', value: 'urgent' }, { not: { field: 'payload.totalAmount', operator: 'less_than', value: 1000 } }] },
        {
          not: {
            any: [
              { field: 'payload.currency', operator: 'equals', value: 'USD' },
              { field: 'payload.coupon', operator: 'exists' },
            ],
          },
        },
      ],
    };
    expect(holds(condition)).toBe(true);
    expect(holds({ all: [condition, { field: 'payload.currency', operator: 'equals', value: 'USD' }] })).toBe(false);
    expect(
      holds({
        any: [
          { field: 'messageType', operator: 'equals', value: 'X' },
          { field: 'messageType', operator: 'equals', value: 'Y' },
        ],
      }),
    ).toBe(false);
  });

  test.each<[string, unknown, string]>([
    ['an unknown operator', { field: 'a', operator: 'like', value: 1 }, 'conditions.operator'],
    ['a missing value', { field: 'a', operator: 'equals' }, 'conditions.value'],
    ['in without a list', { field: 'a', operator: 'in', value: 'x' }, 'conditions.value'],
    ['a bad path', { field: 'a..b', operator: 'exists' }, 'conditions.field'],
    ['an invalid regex', { field: 'a', operator: 'matches', value: '([' }, 'conditions.value'],
    ['a catastrophic regex', { field: 'a', operator: 'matches', value: '(a+)+$' }, 'conditions.value'],
    ['an empty group', { all: [] }, 'conditions.all'],
    ['a nested mistake', { all: [{ field: 'a', operator: 'exists' }, { any: [{ field: 'b', operator: 'nope' }] }] }, 'conditions.all[1].any[0].operator'],
  ])('%s is refused, naming where', (_name, condition, at) => {
    try {
      compileCondition(condition as Condition);
      throw new Error('expected a ConditionError');
    } catch (error) {
      expect(error).toBeInstanceOf(ConditionError);
      expect((error as ConditionError).at).toBe(at);
    }
  });
});

const registry = SchemaRegistry.load();
const graph = buildTransformGraph(registry);
const topology = loadTopology(join(repoRoot, 'config', 'topology.yaml'));
const deps = { topology, registry, graph };
const table = (yaml: string) => RouteTable.parse(yaml, 'test-routes.yaml', deps);
const dest = '[{ topic: order-events }]';

describe('route table: order, recipient lists, default', () => {
  test('routes are tried by priority, lowest first; the first match stops', () => {
    const t = table(`routes:
  - { name: later, priority: 20, conditions: { field: messageType, operator: exists }, destinations: ${dest} }
  - { name: first, priority: 10, conditions: { field: messageType, operator: equals, value: OrderPlaced }, destinations: ${dest} }
  - { name: same-priority-later-in-file, priority: 10, conditions: { field: messageType, operator: exists }, destinations: ${dest} }`);
    expect(t.match(message).map((r) => r.name)).toEqual(['first']);
    expect(t.match({ messageType: 'Other' }).map((r) => r.name)).toEqual(['same-priority-later-in-file']);
  });

  test('stopOnMatch: false lets a message go to every matching route (recipient list)', () => {
    const t = table(`routes:
  - { name: audit, priority: 1, stopOnMatch: false, conditions: { field: messageType, operator: exists }, destinations: ${dest} }
  - { name: copy, priority: 2, stopOnMatch: false, conditions: { field: headers.priority, operator: equals, value: high }, destinations: ${dest} }
  - { name: main, priority: 3, conditions: { field: messageType, operator: equals, value: OrderPlaced }, destinations: ${dest} }
  - { name: never, priority: 4, conditions: { field: messageType, operator: exists }, destinations: ${dest} }`);
    expect(t.match(message).map((r) => r.name)).toEqual(['audit', 'copy', 'main']);
  });

  test('a default route takes what nothing else matched; without one nothing matches', () => {
    const withDefault = table(`routes:
  - { name: orders, conditions: { field: messageType, operator: equals, value: OrderPlaced }, destinations: ${dest} }
  - { name: fallback, default: true, destinations: [{ queue: archive }] }`);
    expect(withDefault.match(message).map((r) => r.name)).toEqual(['orders']);
    expect(withDefault.match({ messageType: 'Unknown' }).map((r) => r.name)).toEqual(['fallback']);
    const without = table(`routes:
  - { name: orders, conditions: { field: messageType, operator: equals, value: OrderPlaced }, destinations: ${dest} }`);
    expect(without.match({ messageType: 'Unknown' })).toEqual([]);
  });

  test('the shipped routes file loads and sends large urgent orders express', () => {
    const shipped = RouteTable.load(join(repoRoot, 'config', 'routes.yaml'), deps);
    expect(shipped.match(message).map((r) => r.name)).toEqual(['order_audit', 'critical_orders']);
    expect(shipped.match({ ...message, headers: {}, payload: { ...message.payload, items: [{ sku: 'A' }] } }).map((r) => r.name)).toEqual(['order_audit', 'standard_orders']);
    expect(shipped.match({ messageType: 'CustomerFeedback', payload: {} })).toEqual([]);
  });
});

describe('route table: a bad file fails with the route and field at fault', () => {
  test.each([
    ['an unknown operator', `routes:\n  - { name: r1, conditions: { field: a, operator: bigger }, destinations: ${dest} }`, "route 'r1': conditions.operator: operator must be one of"],
    [
      'a nested condition error',
      `routes:\n  - { name: r2, conditions: { all: [{ field: a, operator: exists }, { field: b, operator: in, value: x }] }, destinations: ${dest} }`,
      "route 'r2': conditions.all[1].value",
    ],
    [
      'an unknown queue',
      `routes:\n  - { name: r3, conditions: { field: a, operator: exists }, destinations: [{ queue: nowhere }] }`,
      "route 'r3': destinations[0].queue: queue 'nowhere' is not in the topology",
    ],
    [
      'an unknown transform',
      `routes:\n  - { name: r4, conditions: { field: a, operator: exists }, destinations: [{ topic: order-events, transform: nope }] }`,
      "route 'r4': destinations[0].transform: no transform named 'nope'",
    ],
    [
      'a session queue without sessionId',
      `routes:\n  - { name: r5, conditions: { field: a, operator: exists }, destinations: [{ queue: inventory-updates }] }`,
      "route 'r5': destinations[0].sessionId",
    ],
    [
      'a chain that does not exist',
      `routes:\n  - { name: r6, conditions: { field: messageType, operator: equals, value: OrderCancelled }, destinations: [{ topic: order-events, format: avro }] }`,
      "route 'r6': destinations[0]: No chain of transforms leads from OrderCancelled.v1:json to OrderCancelled.v1:avro",
    ],
    [
      'an unknown key',
      `routes:\n  - { name: r7, conditions: { field: a, operator: exists }, destinations: ${dest}, retries: 3 }`,
      'route \'r7\': (route): must NOT have additional properties "retries"',
    ],
    [
      'a duplicate name',
      `routes:\n  - { name: r8, conditions: { field: a, operator: exists }, destinations: ${dest} }\n  - { name: r8, conditions: { field: a, operator: exists }, destinations: ${dest} }`,
      "route 'r8': name: another route has this name",
    ],
    [
      'a default route with conditions',
      `routes:\n  - { name: r9, default: true, conditions: { field: a, operator: exists }, destinations: ${dest} }`,
      "route 'r9': conditions: the default route takes no conditions",
    ],
    [
      'a bad template',
      `routes:\n  - { name: r10, conditions: { field: a, operator: exists }, destinations: [{ queue: inventory-updates, sessionId: "{payload..sku}" }] }`,
      "route 'r10': destinations[0].sessionId",
    ],
  ])('%s', (_name, yaml, message) => {
    expect(() => table(yaml)).toThrow(RoutesFileError);
    expect(() => table(yaml)).toThrow(message);
  });
});

describe('route table: reloads when the file changes', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'routes-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('a changed file takes effect; a broken change keeps the previous table and is reported', () => {
    const file = join(dir, 'routes.yaml');
    writeFileSync(file, `routes:\n  - { name: v1, conditions: { field: messageType, operator: exists }, destinations: ${dest} }\n`);
    let now = 0;
    const errors: Error[] = [];
    const source = new RouteTableSource(
      file,
      deps,
      (e) => errors.push(e),
      1000,
      () => now,
    );
    expect(source.current().routes.map((r) => r.name)).toEqual(['v1']);
    writeFileSync(file, `routes:\n  - { name: v2, conditions: { field: messageType, operator: exists }, destinations: ${dest} }\n`);
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    expect(source.current().routes.map((r) => r.name)).toEqual(['v1']); // checked at most once a second
    now += 1500;
    expect(source.current().routes.map((r) => r.name)).toEqual(['v2']);
    writeFileSync(file, 'routes: [ {');
    utimesSync(file, new Date(), new Date(Date.now() + 10_000));
    now += 1500;
    expect(source.current().routes.map((r) => r.name)).toEqual(['v2']);
    expect(errors).toHaveLength(1);
  });
});
