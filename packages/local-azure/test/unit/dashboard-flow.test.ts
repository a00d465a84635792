// The dashboard's flow rates: cumulative counters (usage meter, entity depths) sampled on demand
// and turned into messages per second over a sliding window.
import { FlowSampler, type FlowSources } from '../../src/host/dashboard';
import type { EntityRuntimeProperties } from '@backbone/azure-model/service-bus';
import type { UsageRecord } from '../../src/usage';

function fakeBroker() {
  let now = 0;
  const usage = new Map<string, UsageRecord>();
  const totals = new Map<string, number>([
    ['q', 0],
    ['t/subscriptions/s', 0],
  ]);
  const count = (resource: string, operation: string, calls: number, items = 0) => {
    const key = `${resource}|${operation}`;
    const r = usage.get(key) ?? { service: 'serviceBus' as const, resource, operation, calls: 0, items: 0, bytes: 0, kb: 0, ms: 0 };
    r.calls += calls;
    r.items += items;
    usage.set(key, r);
  };
  const sources: FlowSources = {
    entities: () => [
      { path: 'q', kind: 'queue' },
      { path: 't', kind: 'topic' },
      { path: 't/subscriptions/s', kind: 'subscription', topic: 't' },
    ],
    runtimeProperties: (path): EntityRuntimeProperties => {
      if (path === 't') return { name: 't', kind: 'topic', scheduledMessageCount: 0, sizeInBytes: 0, subscriptionCount: 1 };
      const total = totals.get(path)!;
      const common = { activeMessageCount: total, deadLetterMessageCount: 0, transferMessageCount: 0, transferDeadLetterMessageCount: 0, totalMessageCount: total };
      return path === 'q' ? { name: 'q', kind: 'queue', scheduledMessageCount: 0, sizeInBytes: 0, ...common } : { name: path, kind: 'subscription', topicName: 't', subscriptionName: 's', ...common };
    },
    usage: () => [...usage.values()].map((r) => ({ ...r })),
  };
  return {
    sources,
    clock: () => now,
    advance: (ms: number) => (now += ms),
    /** n messages sent to the queue, m of them completed; k published to the topic and delivered to the subscription. */
    send: (path: string, n: number) => {
      count(path, 'send', 1, n);
      if (path === 'q') totals.set('q', totals.get('q')! + n);
      if (path === 't') totals.set('t/subscriptions/s', totals.get('t/subscriptions/s')! + n);
    },
    complete: (path: string, n: number) => {
      count(path, 'complete', n);
      totals.set(path, totals.get(path)! - n);
    },
    resetUsage: () => usage.clear(),
  };
}

const of = (report: ReturnType<FlowSampler['report']>, path: string) => report.entities.find((e) => e.path === path)!;

test('rates average over the time since the first sample while it is inside the window', () => {
  const b = fakeBroker();
  const sampler = new FlowSampler(b.sources, { now: b.clock, windowMs: 10_000 });
  b.advance(2_000);
  b.send('q', 10);
  b.complete('q', 4);
  b.send('t', 6);
  b.complete('t/subscriptions/s', 2);
  const r = sampler.report();
  expect(r.windowSeconds).toBe(2);
  expect(of(r, 'q')).toMatchObject({ incomingPerSecond: 5, completedPerSecond: 2, activeMessageCount: 6 });
  expect(of(r, 't')).toMatchObject({ incomingPerSecond: 3, completedPerSecond: null, activeMessageCount: null });
  // Nothing counts a subscription's arrivals: what it holds now beyond then, plus what was completed.
  expect(of(r, 't/subscriptions/s')).toMatchObject({ incomingPerSecond: 3, completedPerSecond: 1, activeMessageCount: 4 });
  expect(r.totals).toEqual({ incomingPerSecond: 8, completedPerSecond: 3, activeMessageCount: 10, deadLetterMessageCount: 0 });
});

test('the window slides: traffic older than the window stops counting', () => {
  const b = fakeBroker();
  const sampler = new FlowSampler(b.sources, { now: b.clock, windowMs: 10_000 });
  b.send('q', 100);
  for (let i = 0; i < 12; i++) {
    b.advance(1_000);
    sampler.report();
  }
  b.advance(1_000);
  b.send('q', 20);
  const r = sampler.report();
  expect(r.windowSeconds).toBeLessThanOrEqual(10);
  expect(r.windowSeconds).toBeGreaterThan(9);
  expect(of(r, 'q').incomingPerSecond).toBeCloseTo(20 / r.windowSeconds, 1);
});

test('after a long quiet spell the next poll averages over the gap, the one after over its own interval', () => {
  const b = fakeBroker();
  const sampler = new FlowSampler(b.sources, { now: b.clock, windowMs: 10_000 });
  b.advance(60_000);
  b.send('q', 60);
  expect(sampler.report()).toMatchObject({ windowSeconds: 60 });
  b.advance(2_000);
  b.send('q', 10);
  const r = sampler.report();
  expect(r.windowSeconds).toBe(2);
  expect(of(r, 'q').incomingPerSecond).toBe(5);
});

test('a counter reset (UsageMeter.reset) reads as no traffic, never as a negative rate', () => {
  const b = fakeBroker();
  const sampler = new FlowSampler(b.sources, { now: b.clock, windowMs: 10_000 });
  b.send('q', 50);
  b.advance(1_000);
  sampler.report();
  b.resetUsage();
  b.advance(1_000);
  const r = sampler.report();
  for (const e of r.entities) {
    expect(e.incomingPerSecond).toBeGreaterThanOrEqual(0);
    expect(e.completedPerSecond ?? 0).toBeGreaterThanOrEqual(0);
  }
});

test('two polls within 100 ms share a baseline instead of piling up samples', () => {
  const b = fakeBroker();
  const sampler = new FlowSampler(b.sources, { now: b.clock, windowMs: 10_000 });
  b.advance(1_000);
  b.send('q', 10);
  const first = sampler.report();
  b.advance(50);
  const second = sampler.report();
  expect(of(first, 'q').incomingPerSecond).toBe(10);
  expect(second.windowSeconds).toBeCloseTo(1.05, 2);
  expect(of(second, 'q').incomingPerSecond).toBeCloseTo(10 / 1.05, 1);
});
