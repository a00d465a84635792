// Route regexes are checked for catastrophic backtracking when the routes file loads: nested
// quantifiers (safe-regex2), and what safe-regex2 misses — alternatives of a repeated group that
// can begin alike, and neighbouring repetitions that can match the same character.
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { readFileSync } from 'node:fs';
import { loadTopology } from '@backbone/azure-model/topology';
import { backtrackingRisk } from '../../src/esb/routing/regex-safety';
import { RouteTable, RoutesFileError } from '../../src/esb/routing/routes';
import { SchemaRegistry } from '../../src/esb/schemas';
import { buildTransformGraph } from '../../src/esb/transforms/catalog';
import { repoRoot } from '../support/messaging-harness';

const registry = SchemaRegistry.load();
const deps = { topology: loadTopology(join(repoRoot, 'config', 'topology.yaml')), registry, graph: buildTransformGraph(registry) };

test.each([
  ['(a|a)*$', /alternatives that can both begin with "a"/],
  ['(a|aa)+$', /alternatives that can both begin with "a"/],
  ['^(\\w|\\d)+$', /alternatives that can both begin with "0"/],
  ['(?:x|y|[x-z])*!', /alternatives that can both begin with "x"/],
  ['(a|[^b])*c', /alternatives that can both begin with "a"/],
  ['^(?<part>\\p{L}|é)+$', /alternatives that can both begin with "é"/],
  ['\\d*\\d*\\d*$', /neighbouring repetitions can both match "0"/],
  ['.*.*=x', /neighbouring repetitions/],
  ['(a)\\1*a*', /neighbouring repetitions can both match a back-referenced text/],
])('%s is refused: %s', (pattern, why) => {
  expect(backtrackingRisk(pattern)).toMatch(why);
});

test.each([
  '^o-\\d+$',
  '^TEST-',
  '^(EU|US)-\\d+$',
  '^([A-Z]|[0-9])+$',
  '[a-z]+@[a-z]+\\.com',
  '^\\p{Lu}\\p{Ll}*$',
  '.*foo.*',
  '^[^,]*,[^,]*$',
  '\\s*\\S+',
  '(ab|ac){2}',
  '\\u{1F600}+x',
  '^(?=a)(x|y)*$',
])('%s is accepted', (pattern) => {
  expect(backtrackingRisk(pattern)).toBeUndefined();
});

test('every regex of the shipped routes file passes', () => {
  const text = readFileSync(join(repoRoot, 'config', 'routes.yaml'), 'utf8');
  const patterns = JSON.stringify(parseYaml(text)).match(/"operator":"matches","value":"((?:[^"\\]|\\.)*)"/g) ?? [];
  expect(patterns.length).toBeGreaterThan(0);
  expect(() => RouteTable.parse(text, 'routes.yaml', deps)).not.toThrow();
});

test('a routes file with a catastrophic regex is refused at load, naming the route, the field and why', () => {
  const yaml = `routes:
  - name: sku_check
    conditions:
      all:
        - { field: messageType, operator: equals, value: OrderPlaced }
        - { field: "payload.items[*].sku", operator: matches, value: "^(\\\\w|\\\\d)+$" }
    destinations:
      - topic: order-events
`;
  expect(() => RouteTable.parse(yaml, 'routes.yaml', deps)).toThrow(RoutesFileError);
  expect(() => RouteTable.parse(yaml, 'routes.yaml', deps)).toThrow(
    /^routes\.yaml: route 'sku_check': conditions\.all\[1\]\.value: the pattern can backtrack catastrophically: a repeated group has alternatives that can both begin with "0".*: \^\(\\w\|\\d\)\+\$$/,
  );
  const nested = yaml.replace('^(\\\\w|\\\\d)+$', '(a+)+$');
  expect(() => RouteTable.parse(nested, 'routes.yaml', deps)).toThrow(/conditions\.all\[1\]\.value: the pattern can backtrack catastrophically \(nested quantifiers\)/);
});
