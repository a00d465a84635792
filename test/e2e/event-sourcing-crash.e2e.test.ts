// SIGKILL during a burst of order commands, then a restart on the same data directory:
//  - every command answered 2xx before the kill is in the event store (nothing lost);
//  - replaying every command with its Idempotency-Key changes nothing that was applied, and each
//    order ends with exactly its events, versions 1..n (nothing duplicated);
//  - once the change feed has caught up, every projection equals a rebuild from the events.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { idFromKey } from '../../src/esb/ingress';
import { ChildHost } from '../support/child-host';
import { waitFor } from '../support/host';

const ORDERS = 120;
const CONCURRENCY = 12;
const KILL_AFTER_ACKS = 120;

type Op = 'create' | 'add' | 'submit';
const OPS: Op[] = ['create', 'add', 'submit'];
const EVENTS_PER_ORDER = 5; // OrderCreated + 2 ItemAdded, ItemAdded, OrderSubmitted

let dataDir: string;
beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'es-crash-'));
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const key = (orderId: string, op: Op) => `${orderId}:${op}`;

async function send(baseUrl: string, orderId: string, op: Op): Promise<Response> {
  const headers = { 'content-type': 'application/json', 'idempotency-key': key(orderId, op) };
  const request = {
    create: {
      path: '/api/orders',
      body: {
        orderId,
        customerId: `cust-${orderId.slice(-1)}`,
        items: [
          { sku: 'SKU-A', quantity: 1, unitPrice: 5 },
          { sku: 'SKU-B', quantity: 2, unitPrice: 2.5 },
        ],
      },
    },
    add: { path: `/api/orders/${orderId}/items`, body: { sku: 'SKU-C', quantity: 3, unitPrice: 1 } },
    submit: { path: `/api/orders/${orderId}/submit`, body: {} },
  }[op];
  return fetch(`${baseUrl}${request.path}`, { method: 'POST', headers, body: JSON.stringify(request.body) });
}

interface StoredEvent {
  version: number;
  type: string;
  metadata: { messageId?: string };
}

type Doc = Record<string, unknown> & { id: string };

/** Reads the host's SQLite file directly (WAL allows a reader beside the running host). */
function readDb(file: string, container: string): { docs: Doc[]; latest: number } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const docs = (db.prepare('SELECT body FROM doc_items WHERE container = ?').pluck().all(container) as string[]).map((b) => JSON.parse(b) as Doc);
    const latest = (db.prepare("SELECT value FROM doc_lsn WHERE container = 'events'").pluck().get() as number | undefined) ?? 0;
    return { docs, latest };
  } finally {
    db.close();
  }
}

test('after a SIGKILL mid-burst nothing acknowledged is lost, nothing is duplicated, and the views equal a rebuild', async () => {
  const lines: string[] = [];
  // The fulfilment saga has its own crash test; here submitted orders stay submitted.
  const first = await ChildHost.start(dataDir, lines, { SAGA_AUTOSTART: 'false' });
  const acked: { orderId: string; op: Op }[] = [];
  let next = 0;
  let killed = false;
  const worker = async () => {
    while (!killed && next < ORDERS) {
      const orderId = `crash-${next++}`;
      for (const op of OPS) {
        if (killed) return;
        try {
          const res = await send(first.baseUrl, orderId, op);
          expect([200, 201]).toContain(res.status);
          acked.push({ orderId, op });
        } catch {
          return; // the connection died with the process: not acknowledged, so not owed
        }
        if (!killed && acked.length >= KILL_AFTER_ACKS) {
          killed = true;
          await first.kill('SIGKILL');
        }
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  expect(killed).toBe(true);
  const started = next;

  const second = await ChildHost.start(dataDir, lines, { SAGA_AUTOSTART: 'false' });
  try {
    const events = async (orderId: string) => {
      const res = await fetch(`${second.baseUrl}/api/orders/${orderId}/events`);
      return res.status === 404 ? [] : (((await res.json()) as { events: StoredEvent[] }).events ?? []);
    };
    // Nothing lost: each acknowledged command's events are there.
    for (const { orderId, op } of acked) {
      const ids = (await events(orderId)).map((e) => e.metadata.messageId);
      expect({ orderId, op, stored: ids.includes(idFromKey('msg', key(orderId, op))) }).toEqual({ orderId, op, stored: true });
    }
    // The clients retry everything they sent (same keys): what was applied is not applied again.
    for (let i = 0; i < started; i++) {
      for (const op of OPS) {
        const res = await send(second.baseUrl, `crash-${i}`, op);
        // A create that never got in is made now (201); everything else was or is applied once (200).
        expect({ order: i, op, ok: (op === 'create' ? [200, 201] : [200]).includes(res.status) }).toEqual({ order: i, op, ok: true });
      }
    }
    for (let i = 0; i < started; i++) {
      const stream = await events(`crash-${i}`);
      expect(stream.map((e) => e.version)).toEqual(Array.from({ length: EVENTS_PER_ORDER }, (_, v) => v + 1));
      expect(stream.map((e) => e.type)).toEqual(['OrderCreated', 'ItemAdded', 'ItemAdded', 'ItemAdded', 'OrderSubmitted']);
    }

    // The change feed catches up: the projections' lease reaches the last change of the events container.
    const file = join(dataDir, 'embedded.sqlite');
    await waitFor(
      () => {
        const { docs, latest } = readDb(file, 'leases');
        const lease = docs.find((l) => String(l.id).startsWith('projections-') && String(l.id).endsWith('..0'));
        return lease !== undefined && Number(JSON.parse(String(lease.ContinuationToken))) === latest;
      },
      'the projections to catch up',
      30_000,
    );
    const views = (projection: string, generation: number) =>
      readDb(file, 'views')
        .docs.filter((d) => d.projection === projection && d.generation === generation)
        .map(({ updatedAt: _u, generation: _g, id, ...rest }): Doc => ({ ...rest, id: String(id).replace(/^g\d+:/, '') }))
        .sort((a, b) => a.id.localeCompare(b.id));

    for (const name of ['order-summary', 'customer-orders', 'sales-report', 'inventory-availability']) {
      const live = views(name, 1);
      const res = await fetch(`${second.baseUrl}/api/ops/projections/${name}/rebuild`, { method: 'POST' });
      expect(res.status).toBe(202);
      await waitFor(
        async () => {
          const body = (await (await fetch(`${second.baseUrl}/api/ops/projections`)).json()) as { projections: { name: string; activeGeneration: number }[] };
          return body.projections.find((p) => p.name === name)?.activeGeneration === 2;
        },
        `${name} rebuilt`,
        30_000,
      );
      expect({ name, views: views(name, 2) }).toEqual({ name, views: live });
    }
    // The sales report counts every submitted order once.
    const sales = views('sales-report', 2).filter((d) => d.kind === 'sales');
    expect(sales.find((s) => s.sku === 'SKU-C')).toMatchObject({ unitsSold: 3 * started, orders: started });
  } finally {
    await second.kill('SIGTERM');
  }
}, 120_000);
