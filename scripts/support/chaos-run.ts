// Load with the host killed (SIGKILL) at random moments and restarted on the same data directory,
// then the invariants that must survive any crash:
//   - every accepted message processed, or dead-lettered with a reason (0 lost);
//   - no duplicate events (each stream's versions are 1..n, no event appended twice);
//   - every saga terminal, every participant's ledger consistent with its saga's outcome;
//   - every projection equal to a rebuild from the events.
// Used by `npm run chaos` and, smaller, by the test suite.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ChildHost } from './child-host';
import { deadLetterCensus } from './dead-letter-census';
import { messageIdOf, planOrders, sendOrders, type AcceptedMessage, type TrafficMessageType } from './order-traffic';
import { progress } from './progress';

export interface ChaosOptions {
  orders: number;
  concurrency: number;
  kills: number;
  /** A kill comes this long after the host started (random in the range). */
  killAfterMs: [number, number];
  /** Orders started per second; default: spread over the traffic kills' longest schedule, so they land while orders arrive. */
  rate?: number;
  /** Every n-th order gets a late AddOrderItem, which is dead-lettered unless it overtook the submit. */
  lateEditEvery: number;
  showProgress?: boolean;
  log?: (line: string) => void;
  /**
   * A phase that waits (sagas ending, projections catching up, commands draining, rebuilds) fails
   * only when nothing has advanced for this long — so a run of any size gets the time its work
   * takes. Default 180 s.
   */
  stallTimeoutMs?: number;
}

/** Where each kill landed. */
export interface KillsByPhase {
  /** While orders were still arriving. */
  traffic: number;
  /** After the traffic, while sagas were still running. */
  sagas: number;
  /** After every saga had ended (projections and commands may still have been catching up). */
  settled: number;
}

export interface ChaosResult {
  orders: number;
  kills: number;
  killsByPhase: KillsByPhase;
  accepted: number;
  refused: number;
  processed: number;
  deadLettered: Record<string, number>;
  lost: string[];
  duplicateEvents: string[];
  sagaOutcomes: Record<string, number>;
  sagasNotTerminal: string[];
  inconsistentParticipants: string[];
  projections: { name: string; documents: number; equal: boolean }[];
  /** Each waiting phase: how long it took, and why it stopped waiting if it did not finish. */
  phases: { name: string; durationMs: number; stalled?: string }[];
  stallTimeoutMs: number;
  durationMs: number;
}

const TERMINAL = new Set(['Completed', 'Compensated', 'CompensationFailed', 'Failed', 'Terminated']);
const SKUS = Array.from({ length: 20 }, (_, i) => `CHAOS-SKU-${i}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** GET with retries: the host may be restarting. */
async function getJson<T>(url: string, attempts = 100): Promise<{ status: number; body: T }> {
  for (let i = 1; ; i++) {
    try {
      const res = await fetch(url);
      if (res.status !== 503) return { status: res.status, body: (await res.json()) as T };
    } catch (error) {
      if (i >= attempts) throw error;
    }
    await sleep(100);
  }
}

type Doc = Record<string, unknown> & { id: string };

function readContainer(file: string, container: string): Doc[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT body FROM doc_items WHERE container = ?').pluck().all(container) as string[]).map((b) => JSON.parse(b) as Doc);
  } finally {
    db.close();
  }
}

/** How many views of a projection's generation are written (a rebuild's progress). */
function viewCount(file: string, projection: string, generation: number): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare("SELECT COUNT(*) FROM doc_items WHERE container = 'views' AND json_extract(body, '$.projection') = ? AND json_extract(body, '$.generation') = ?")
      .pluck()
      .get(projection, generation) as number;
  } finally {
    db.close();
  }
}

function latestLsn(file: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare("SELECT value FROM doc_lsn WHERE container = 'events'").pluck().get() as number | undefined) ?? 0;
  } finally {
    db.close();
  }
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? (() => undefined);
  const dataDir = mkdtempSync(join(tmpdir(), 'chaos-'));
  const dbFile = join(dataDir, 'embedded.sqlite');
  const port = await freePort();
  const baseUrl = `http://localhost:${port}`;
  const lines: string[] = [];
  const started = performance.now();
  let host = await ChildHost.start(dataDir, lines, {}, port);
  const orders = planOrders(options.orders, SKUS);
  const accepted: (AcceptedMessage & { messageId: string })[] = [];
  let refused = 0;
  try {
    for (const sku of SKUS) {
      const res = await fetch(`${baseUrl}/api/inventory/${sku}/receipts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': `chaos-${sku}` },
        body: JSON.stringify({ quantity: 1_000_000 }),
      });
      if (res.status >= 300) throw new Error(`stock for ${sku}: ${res.status} ${await res.text()}`);
    }
    // The kills: two thirds while orders arrive, the rest while the sagas run on (at least one there
    // when there are two or more), each at a random moment after the host came up.
    const sagaKills = options.kills >= 2 ? Math.max(1, Math.floor(options.kills / 3)) : 0;
    const trafficKills = options.kills - sagaKills;
    // The orders arrive over at least as long as the traffic kills can take (each comes at most
    // killAfterMs[1] after a start), so those kills land while orders still arrive.
    const longestKillAfterMs = options.killAfterMs[1];
    const perOrder = 2 + 1 / options.lateEditEvery;
    const sendBar = options.showProgress ? progress('accepted', Math.round(options.orders * perOrder)) : undefined;
    const traffic = sendOrders(orders, {
      baseUrl,
      concurrency: options.concurrency,
      rate: options.rate ?? options.orders / ((Math.max(1, trafficKills) * longestKillAfterMs) / 1000),
      retryForMs: 300_000,
      lateEditEvery: options.lateEditEvery,
      onAccepted: (a) => {
        accepted.push({ ...a, messageId: messageIdOf(orders[a.index]!, a.messageType) });
        sendBar?.increment();
      },
      onRefused: (r) => {
        refused++;
        log(`refused: ${r.messageType} of order ${r.index}: ${r.status} ${r.error}`);
      },
    });
    let trafficDone = false;
    void traffic.finally(() => (trafficDone = true));

    const killsByPhase: KillsByPhase = { traffic: 0, sagas: 0, settled: 0 };
    let sagasEnded = false;
    const killOnce = async (phase: string) => {
      const [min, max] = options.killAfterMs;
      await sleep(min + Math.random() * (max - min));
      await host.kill('SIGKILL');
      const at: keyof KillsByPhase = !trafficDone ? 'traffic' : sagasEnded ? 'settled' : 'sagas';
      killsByPhase[at]++;
      log(`kill ${killsByPhase.traffic + killsByPhase.sagas + killsByPhase.settled} (${phase}, landed in ${at}): SIGKILL after ${accepted.length} accepted messages`);
      host = await ChildHost.start(dataDir, lines, {}, port);
    };
    for (let k = 0; k < trafficKills; k++) await killOnce('traffic');
    await traffic;
    sendBar?.stop();

    // Settle, with the saga-phase kills running beside it: every saga ends (asked in bulk, by
    // outcome, from GET /api/sagas; one by one only for the few the outcomes do not name, such
    // as a Failed or Terminated orchestration), the projections reach the end of the change feed,
    // the order-commands queue drains. Each phase gives up only when it stops advancing.
    const stallTimeoutMs = options.stallTimeoutMs ?? 180_000;
    const phases: ChaosResult['phases'] = [];
    const waitWhileAdvancing = async (name: string, progressOf: () => Promise<{ done: boolean; position: number }>, pollMs: () => number) => {
      const began = Date.now();
      let last = Number.NaN;
      let lastMove = Date.now();
      for (;;) {
        const { done, position } = await progressOf();
        if (done) {
          phases.push({ name, durationMs: Date.now() - began });
          return;
        }
        if (position !== last) {
          last = position;
          lastMove = Date.now();
        } else if (Date.now() - lastMove > stallTimeoutMs) {
          const stalled = `nothing advanced for ${Math.round(stallTimeoutMs / 1000)} s (at ${position})`;
          phases.push({ name, durationMs: Date.now() - began, stalled });
          log(`${name}: ${stalled}`);
          return;
        }
        await sleep(pollMs());
      }
    };
    const sagaPhaseKills = (async () => {
      for (let k = 0; k < sagaKills; k++) await killOnce('sagas');
    })();

    const orderIds = orders.map((o) => o.orderId);
    const sagaStatus = new Map<string, string>();
    const settleBar = options.showProgress ? progress('sagas ended', orderIds.length) : undefined;
    const created = new Set(accepted.filter((a) => a.messageType === 'CreateOrder').map((a) => orders[a.index]!.orderId));
    const submittedIndexes = new Set(accepted.filter((a) => a.messageType === 'SubmitOrder').map((a) => a.index));
    const submitted = orderIds.filter((id, i) => created.has(id) && submittedIndexes.has(i));
    const ended = () => submitted.filter((id) => TERMINAL.has(sagaStatus.get(id) ?? '')).length;
    let listingMs = 0;
    await waitWhileAdvancing(
      'sagas end',
      async () => {
        const began = Date.now();
        for (let continuation: string | undefined, first = true; first || continuation; first = false) {
          const { status, body } = await getJson<{ sagas?: { orderId: string; status: string }[]; continuation?: string }>(
            `${baseUrl}/api/sagas?limit=200${continuation ? `&continuation=${encodeURIComponent(continuation)}` : ''}`,
          );
          if (status !== 200) break;
          for (const s of body.sagas ?? []) sagaStatus.set(s.orderId, s.status);
          continuation = body.continuation;
        }
        const remaining = submitted.filter((id) => !TERMINAL.has(sagaStatus.get(id) ?? ''));
        if (remaining.length <= 50) {
          for (const orderId of remaining) {
            const { status, body } = await getJson<{ status?: string }>(`${baseUrl}/api/sagas/${orderId}`);
            if (status === 200 && body.status) sagaStatus.set(orderId, body.status);
          }
        }
        listingMs = Date.now() - began;
        settleBar?.update(ended());
        return { done: ended() === submitted.length, position: ended() };
      },
      // The listing costs the host work too: ask at most a fifth of the time.
      () => Math.max(500, listingMs * 4),
    );
    sagasEnded = true;
    settleBar?.stop();
    await sagaPhaseKills;

    const projectionPosition = () => {
      const lease = readContainer(dbFile, 'leases').find((l) => String(l.id).startsWith('projections-') && String(l.id).endsWith('..0'));
      return lease === undefined ? 0 : Number(JSON.parse(String(lease.ContinuationToken)));
    };
    await waitWhileAdvancing(
      'projections catch up',
      async () => ({ done: projectionPosition() === latestLsn(dbFile), position: projectionPosition() }),
      () => 200,
    );
    // Late edits are retried a while before they are dead-lettered; let the order-commands queue drain.
    await waitWhileAdvancing(
      'order-commands drain',
      async () => {
        const { body } = await getJson<{ entities: { path: string; activeMessageCount?: number; scheduledMessageCount?: number }[] }>(`${baseUrl}/api/ops/entities`);
        const commands = body.entities.find((e) => e.path === 'order-commands');
        const left = (commands?.activeMessageCount ?? 0) + (commands?.scheduledMessageCount ?? 0);
        return { done: left === 0, position: -left };
      },
      () => 250,
    );

    // 1. Every accepted message processed or dead-lettered with a reason.
    const census = await deadLetterCensus(baseUrl);
    const deadLettered: Record<string, number> = {};
    const lost: string[] = [];
    let processed = 0;
    const eventsOf = new Map<string, { version: number; type: string; data: unknown; metadata: { causationId?: string } }[]>();
    const checkBar = options.showProgress ? progress('check orders', orderIds.length) : undefined;
    for (const orderId of orderIds) {
      const { status, body } = await getJson<{ events?: { version: number; type: string; data: unknown; metadata: { causationId?: string } }[] }>(`${baseUrl}/api/orders/${orderId}/events`);
      eventsOf.set(orderId, status === 200 ? (body.events ?? []) : []);
      checkBar?.increment();
    }
    checkBar?.stop();
    for (const a of accepted) {
      const order = orders[a.index]!;
      const applied = (eventsOf.get(order.orderId) ?? []).some((e) => e.metadata.causationId === a.messageId);
      if (applied) {
        processed++;
        continue;
      }
      const dead = census.find((d) => d.correlationId === order.correlationId && d.messageType === (a.messageType as TrafficMessageType));
      if (dead) deadLettered[dead.reason] = (deadLettered[dead.reason] ?? 0) + 1;
      else lost.push(`${a.messageId} (accepted, neither applied nor dead-lettered)`);
    }

    // 2. No duplicate events, in any stream (orders, inventory, …): versions 1..n, no event twice.
    const duplicateEvents: string[] = [];
    const byStream = new Map<string, Doc[]>();
    for (const d of readContainer(dbFile, 'events')) {
      if (d.kind !== undefined && d.kind !== 'event') continue;
      if (typeof d.version !== 'number' || typeof d.streamId !== 'string') continue;
      if (!byStream.has(d.streamId)) byStream.set(d.streamId, []);
      byStream.get(d.streamId)!.push(d);
    }
    for (const [stream, events] of byStream) {
      events.sort((a, b) => (a.version as number) - (b.version as number));
      if (events.some((e, i) => e.version !== i + 1)) duplicateEvents.push(`${stream}: versions ${events.map((e) => e.version).join(',')}`);
      const seen = new Set<string>();
      for (const e of events) {
        const key = `${String(e.type)} ${JSON.stringify(e.data)}`;
        if (seen.has(key)) duplicateEvents.push(`${stream}: ${String(e.type)} appended twice`);
        seen.add(key);
      }
    }

    // 3. Every saga terminal; every participant consistent with its outcome.
    const sagaOutcomes: Record<string, number> = {};
    const sagasNotTerminal: string[] = [];
    const inconsistentParticipants: string[] = [];
    for (const orderId of submitted) {
      const s = sagaStatus.get(orderId);
      if (!s || !TERMINAL.has(s)) {
        sagasNotTerminal.push(`${orderId}: ${s ?? 'not started'}`);
        continue;
      }
      sagaOutcomes[s] = (sagaOutcomes[s] ?? 0) + 1;
      const { status, body } = await getJson<{ consistent?: boolean; problems?: string[] }>(`${baseUrl}/api/ops/sagas/${orderId}/participants`);
      if (status !== 200 || !body.consistent) inconsistentParticipants.push(`${orderId}: ${(body.problems ?? [JSON.stringify(body)]).join('; ')}`);
    }

    // 4. Every projection equal to a rebuild.
    const projections: ChaosResult['projections'] = [];
    const { body: list } = await getJson<{ projections: { name: string; activeGeneration: number }[] }>(`${baseUrl}/api/ops/projections`);
    const views = (projection: string, generation: number) =>
      readContainer(dbFile, 'views')
        .filter((d) => d.projection === projection && d.generation === generation)
        .map(({ updatedAt: _u, generation: _g, id, ...rest }): Doc => ({ ...rest, id: String(id).replace(/^g\d+:/, '') }))
        .sort((a, b) => a.id.localeCompare(b.id));
    for (const p of list.projections) {
      const live = views(p.name, p.activeGeneration);
      const res = await fetch(`${baseUrl}/api/ops/projections/${p.name}/rebuild`, { method: 'POST' });
      if (res.status !== 202) throw new Error(`rebuild ${p.name}: ${res.status} ${await res.text()}`);
      const generation = p.activeGeneration + 1;
      await waitWhileAdvancing(
        `rebuild ${p.name}`,
        async () => {
          const { body } = await getJson<{ projections: { name: string; activeGeneration: number }[] }>(`${baseUrl}/api/ops/projections`);
          return { done: body.projections.find((x) => x.name === p.name)!.activeGeneration >= generation, position: viewCount(dbFile, p.name, generation) };
        },
        () => 200,
      );
      const rebuilt = views(p.name, generation);
      projections.push({ name: p.name, documents: live.length, equal: JSON.stringify(rebuilt) === JSON.stringify(live) });
    }

    return {
      orders: options.orders,
      kills: killsByPhase.traffic + killsByPhase.sagas + killsByPhase.settled,
      killsByPhase,
      accepted: accepted.length,
      refused,
      processed,
      deadLettered,
      lost,
      duplicateEvents,
      sagaOutcomes,
      sagasNotTerminal,
      inconsistentParticipants,
      projections,
      phases,
      stallTimeoutMs,
      durationMs: Math.round(performance.now() - started),
    };
  } finally {
    await host.kill('SIGTERM').catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Whether the run upheld every invariant. */
export function chaosPassed(r: ChaosResult): boolean {
  return (
    r.lost.length === 0 &&
    r.duplicateEvents.length === 0 &&
    r.sagasNotTerminal.length === 0 &&
    r.inconsistentParticipants.length === 0 &&
    r.projections.length > 0 &&
    r.projections.every((p) => p.equal) &&
    r.phases.every((p) => p.stalled === undefined) &&
    r.kills > 0
  );
}
