// Nothing acknowledged is lost: the host is killed with SIGKILL while messages are being posted
// and consumed, restarted on the same data directory, and every message that was answered 202
// is delivered to the consumer.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChildHost } from '../support/child-host';
import { waitFor } from '../support/host';

const TOTAL = 400;
const CONCURRENCY = 16;
const KILL_AFTER_ACCEPTED = 150;

let dataDir: string;
beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'crash-'));
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

test('every message answered 202 before a SIGKILL is routed after the restart', async () => {
  const lines: string[] = [];
  // Transient faults in the first run keep messages queued and being redelivered at the kill
  // (0.3^10: a message is practically never dead-lettered by them).
  const first = await ChildHost.start(dataDir, lines, { FAULT_INJECTION: JSON.stringify({ routeMessage: 0.3 }) });
  const accepted = new Set<string>();
  let next = 0;
  let killed = false;

  const post = async (id: string) => {
    try {
      const res = await fetch(`${first.baseUrl}/api/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          messageId: id,
          messageType: 'OrderPlaced',
          payload: { orderId: id, customerId: 'c-1', items: [{ sku: 'A-1', quantity: 1, unitPrice: 10 }], totalAmount: 10, currency: 'EUR' },
        }),
      });
      if (res.status === 202) accepted.add(id);
      else expect(res.status).toBe(202); // any other answer than 202 or a dropped connection is a bug
    } catch {
      // the connection died with the process: not acknowledged, so not owed
    }
  };
  const worker = async () => {
    while (!killed && next < TOTAL) {
      const id = `crash-${next++}`;
      await post(id);
      if (!killed && accepted.size >= KILL_AFTER_ACCEPTED) {
        killed = true;
        await first.kill('SIGKILL');
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  expect(killed).toBe(true);
  expect(accepted.size).toBeGreaterThanOrEqual(KILL_AFTER_ACCEPTED);
  const consumedIds = () => new Set(lines.map((l) => /Routed OrderPlaced (crash-\d+) /.exec(l)?.[1]).filter((x): x is string => Boolean(x)));
  const owedAfterKill = [...accepted].filter((id) => !consumedIds().has(id)).length;
  // The restart has work to do, or this test would prove nothing.
  expect(owedAfterKill).toBeGreaterThan(0);

  const second = await ChildHost.start(dataDir, lines);
  // A message the first host routed just before the kill may have lost its "Routed" line with the
  // process's unflushed stdout; for those, the proof is where its outputs are: the trail must show
  // each of the three destinations its routes send an OrderPlaced to.
  const confirmed = new Set<string>();
  const DESTINATIONS = ['fulfilment', 'audit-log', 'order-events/subscriptions/analytics'];
  const routedPerTrail = async (id: string) => {
    const res = await fetch(`${second.baseUrl}/api/ops/trail?messageId=${encodeURIComponent(id)}`);
    if (res.status !== 200) return false;
    const { trail } = (await res.json()) as { trail: { entity: string; causationId?: string }[] };
    return DESTINATIONS.every((d) => trail.some((e) => e.entity === d && e.causationId === id));
  };
  const unrouted = () => [...accepted].filter((id) => !consumedIds().has(id) && !confirmed.has(id));
  try {
    try {
      await waitFor(
        async () => {
          const pending = unrouted();
          if (pending.length > 20) return false; // still routing: their log lines are on their way
          for (const id of pending) if (await routedPerTrail(id)) confirmed.add(id);
          return unrouted().length === 0;
        },
        'every accepted message to be routed',
        60_000,
      );
    } catch (error) {
      // Say where the missing messages are, so a failure explains itself.
      const missing = unrouted();
      const trails = await Promise.all(missing.slice(0, 5).map(async (id) => [id, await (await fetch(`${second.baseUrl}/api/ops/trail?messageId=${id}`)).text()]));
      const entities = await (await fetch(`${second.baseUrl}/api/ops/entities`)).text();
      throw new Error(
        `${(error as Error).message}\nmissing ${missing.length}: ${missing.slice(0, 20).join(', ')}\ntrails: ${JSON.stringify(trails)}\nentities: ${entities}\nlast host lines:\n${lines.slice(-40).join('\n')}`,
        { cause: error },
      );
    }
    const depth = (await (await fetch(`${second.baseUrl}/api/ops/entities`)).json()) as { entities: { path: string; activeMessageCount: number; deadLetterMessageCount: number }[] };
    expect(depth.entities.find((e) => e.path === 'inbound')).toMatchObject({ deadLetterMessageCount: 0 });
    expect(unrouted()).toEqual([]);
  } finally {
    await second.kill('SIGTERM');
  }
}, 90_000);
