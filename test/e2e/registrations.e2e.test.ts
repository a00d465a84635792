// The app's function registrations, as the embedded host captures them from @azure/functions:
// the same binding metadata Azure receives. A mistake in registration options fails here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTopology } from '../../src/config/topology';
import { repoRoot } from '../support/messaging-harness';
import { startHost, type RunningHost } from '../support/host';

let running: RunningHost;
beforeAll(async () => {
  running = await startHost(repoRoot);
});
afterAll(() => running.stop());

const fn = (name: string) => {
  const found = running.host.functions.find((f) => f.name === name);
  if (!found) throw new Error(`function ${name} is not registered`);
  return found;
};
const trigger = (name: string) => Object.values(fn(name).bindings).find((b) => b.direction === 'in' && b.type?.endsWith('Trigger'))!;

test('the app registers exactly the expected functions', () => {
  expect(running.host.functions.map((f) => f.name).sort()).toEqual(
    [
      'health',
      'ingestMessage',
      'opsDeadLetters',
      'opsEntities',
      'opsMessageTrail',
      'opsPurgeDeadLetters',
      'opsResubmitDeadLetter',
      'opsResubmitDeadLetters',
      'routeMessage',
      'triageInboundDeadLetters',
    ].sort(),
  );
});

test.each([
  ['ingestMessage', ['POST'], 'messages', 'function'],
  ['health', ['GET'], 'health', 'anonymous'],
  ['opsEntities', ['GET'], 'ops/entities', 'function'],
  ['opsDeadLetters', ['GET'], 'ops/deadletters', 'function'],
  ['opsResubmitDeadLetter', ['POST'], 'ops/deadletters/{sequenceNumber:long}/resubmit', 'function'],
  ['opsResubmitDeadLetters', ['POST'], 'ops/deadletters/resubmit', 'function'],
  ['opsPurgeDeadLetters', ['DELETE'], 'ops/deadletters', 'function'],
  ['opsMessageTrail', ['GET'], 'ops/trail', 'function'],
])('%s is an HTTP function: %j %s, authLevel %s, with an http return binding', (name, methods, route, authLevel) => {
  expect(trigger(name)).toMatchObject({ type: 'httpTrigger', methods, route, authLevel });
  expect(fn(name).bindings.$return).toMatchObject({ type: 'http', direction: 'out' });
});

test('routeMessage settles the inbound queue itself: SDK-type binding, no auto-complete', () => {
  expect(trigger('routeMessage')).toMatchObject({
    type: 'serviceBusTrigger',
    queueName: 'inbound',
    connection: 'ServiceBusConnection',
    sdkBinding: true,
    autoCompleteMessages: false,
    properties: { supportsDeferredBinding: 'true' },
  });
  expect(trigger('routeMessage').isSessionsEnabled).toBeFalsy();
});

test("triageInboundDeadLetters is triggered by the inbound queue's dead-letter queue", () => {
  expect(trigger('triageInboundDeadLetters')).toMatchObject({
    type: 'serviceBusTrigger',
    queueName: 'inbound/$deadletterqueue',
    connection: 'ServiceBusConnection',
    sdkBinding: true,
    autoCompleteMessages: false,
  });
});

test('every queue a function names is declared in config/topology.yaml with a matching session setting', () => {
  const topology = loadTopology(join(repoRoot, 'config', 'topology.yaml'));
  for (const f of running.host.functions) {
    for (const b of Object.values(f.bindings)) {
      if (!b.type?.startsWith('serviceBus')) continue;
      const queue = topology.serviceBus.queues.find((q) => q.name === String(b.queueName).replace(/\/\$deadletterqueue$/i, ''));
      expect({ fn: f.name, queue: b.queueName, declared: Boolean(queue) }).toEqual({ fn: f.name, queue: b.queueName, declared: true });
      expect(Boolean(queue!.requiresSession)).toBe(b.isSessionsEnabled === true);
    }
  }
});

test('every connection a binding names is configured in local.settings.json', () => {
  const values = (JSON.parse(readFileSync(join(repoRoot, 'local.settings.json'), 'utf8')) as { Values: Record<string, string> }).Values;
  const connections = running.host.functions.flatMap((f) => Object.values(f.bindings).map((b) => b.connection)).filter(Boolean);
  expect(connections.length).toBeGreaterThan(0);
  for (const c of connections) expect(Object.keys(values)).toContain(c);
});
