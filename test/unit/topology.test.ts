import { join } from 'node:path';
import { loadTopology, parseTopology, receiverSettings, TopologyError } from '@backbone/azure-model/topology';
import { parseDuration, parseIsoDuration, parseTimeSpan } from '@backbone/azure-model/durations';
import { repoRoot } from '../support/messaging-harness';

describe('the topology declaration', () => {
  test('the app topology loads, with Service Bus defaults resolved', () => {
    const topology = loadTopology(join(repoRoot, 'config', 'topology.yaml'));
    const inbound = topology.serviceBus.queues.find((q) => q.name === 'inbound')!;
    expect(receiverSettings(inbound)).toMatchObject({ lockDurationMs: 60_000, maxDeliveryCount: 10, deadLetterOnExpiration: true });
    expect(receiverSettings({})).toMatchObject({ lockDurationMs: 60_000, maxDeliveryCount: 10, requiresSession: false });
  });

  test.each([
    ['a bad duration', 'queues: [{ name: q, lockDuration: "1 minute" }]\n  topics: []', /queues\[0\] \(q\)\.lockDuration/],
    ['a lock over 5 minutes', 'queues: [{ name: q, lockDuration: PT6M }]\n  topics: []', /queue q\.lockDuration = PT6M/],
    ['a duplicate window under 20 s', 'queues: [{ name: q, requiresDuplicateDetection: true, duplicateDetectionHistoryTimeWindow: PT5S }]\n  topics: []', /duplicateDetectionHistoryTimeWindow/],
    ['an unknown property', 'queues: [{ name: q, maxDelivery: 3 }]\n  topics: []', /queues\[0\] \(q\): must NOT have additional properties "maxDelivery"/],
    ['a duplicate name', 'queues: [{ name: q }, { name: Q }]\n  topics: []', /declared twice/],
    ['a rule without its filter', 'queues: []\n  topics: [{ name: t, subscriptions: [{ name: s, rules: [{ name: r, filterType: SqlFilter }] }] }]', /rules\[0\] \(r\)/],
  ])('%s is refused with a message naming the entity and field', (_what, body, message) => {
    expect(() => parseTopology(`serviceBus:\n  ${body}\n`, 'test.yaml')).toThrow(TopologyError);
    expect(() => parseTopology(`serviceBus:\n  ${body}\n`, 'test.yaml')).toThrow(message);
  });
});

describe('durations', () => {
  test.each([
    ['PT30S', 30_000],
    ['PT1M', 60_000],
    ['P14D', 14 * 86_400_000],
    ['P1DT2H', 26 * 3_600_000],
    ['PT0.5S', 500],
  ])('ISO %s = %d ms', (text, ms) => expect(parseIsoDuration(text)).toBe(ms));

  test.each([
    ['00:05:00', 300_000],
    ['1.02:03:04', 93_784_000],
    ['00:00:00.80', 800],
  ])('TimeSpan %s = %d ms', (text, ms) => expect(parseTimeSpan(text)).toBe(ms));

  test('either notation through parseDuration; nonsense is refused', () => {
    expect(parseDuration('PT1M')).toBe(parseDuration('00:01:00'));
    expect(() => parseIsoDuration('P')).toThrow();
    expect(() => parseTimeSpan('five minutes')).toThrow();
  });
});
