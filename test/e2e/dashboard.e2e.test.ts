// The operations dashboard at the HTTP level (the browser test drives the page itself): the page
// and its assets come from this host only, nothing outside dashboard/ can be read through it,
// and the host-only endpoints answer with flow figures and spans, or a 4xx JSON for bad input.
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { postJson, startHost, waitFor, type RunningHost } from '../support/host';
import { repoRoot } from '../support/messaging-harness';

let running: RunningHost;
beforeAll(async () => {
  running = await startHost(repoRoot);
});
afterAll(() => running.stop());

const url = (path: string) => running.url(path);

/** A request whose path goes out exactly as written (fetch would resolve the dots first). */
function raw(path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  const { hostname, port } = new URL(running.host.baseUrl);
  return new Promise((resolve, reject) => {
    const req = request({ hostname: hostname === 'localhost' ? '127.0.0.1' : hostname, port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the page', () => {
  test('/ serves the dashboard: HTML whose every script, stylesheet and link is on this host', async () => {
    const res = await fetch(url('/'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    // The browser enforces what this test reads: only this host, nothing inline.
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    const html = await res.text();
    expect(html).toContain('<script src="/dashboard/app.js"');
    const refs = [...html.matchAll(/\b(?:src|href)\s*=\s*"([^"]*)"/g)].map((m) => m[1]!);
    expect(refs).toEqual(expect.arrayContaining(['/dashboard/app.js', '/dashboard/style.css']));
    for (const ref of refs) expect(ref).toMatch(/^(\/(?!\/)|#|data:)/);
    expect(html).not.toMatch(/https?:\/\//);
  });

  test('the assets carry no address of another host: no CDN, no web font, no import', () => {
    const js = readFileSync(join(repoRoot, 'dashboard', 'app.js'), 'utf8');
    const css = readFileSync(join(repoRoot, 'dashboard', 'style.css'), 'utf8');
    // The SVG namespace is a name, never fetched.
    expect([...js.matchAll(/https?:\/\/[^\s'"`)]+/g)].map((m) => m[0])).toEqual(['http://www.w3.org/2000/svg']);
    expect(css).not.toMatch(/https?:\/\/|@import|@font-face/);
  });

  test.each([
    ['app.js', 'text/javascript; charset=utf-8'],
    ['style.css', 'text/css; charset=utf-8'],
    ['index.html', 'text/html; charset=utf-8'],
  ])('/dashboard/%s is served as %s, read from dashboard/', async (name, type) => {
    const res = await fetch(url(`/dashboard/${name}`));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(type);
    expect(await res.text()).toBe(readFileSync(join(repoRoot, 'dashboard', name), 'utf8'));
    const head = await fetch(url(`/dashboard/${name}`), { method: 'HEAD' });
    expect(head.status).toBe(200);
  });

  test.each([
    '/dashboard/..%2fpackage.json',
    '/dashboard/%2e%2e%2fpackage.json',
    '/dashboard/..%5cpackage.json',
    '/dashboard/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    '/dashboard/..%2f..%2f..%2fetc%2fpasswd',
    '/dashboard/../package.json',
    '/dashboard/.env',
    '/dashboard/local.settings.json',
    '/dashboard/%00app.js',
    '/dashboard/%E0%A4%A',
  ])('%s is refused with a 4xx and no file content', async (path) => {
    const res = await raw(path);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.body).not.toContain('azure-integration-backbone');
    expect(res.body).not.toContain('root:');
    expect(res.body).not.toContain('Values');
  });

  test('an unknown asset is a 404 JSON; anything but GET is a 405', async () => {
    const missing = await raw('/dashboard/nope.js');
    expect(missing.status).toBe(404);
    expect(missing.type).toContain('application/json');
    expect(JSON.parse(missing.body)).toMatchObject({ error: { code: 'NotFound' } });
    const posted = await raw('/', 'POST');
    expect(posted.status).toBe(405);
    expect(JSON.parse(posted.body)).toMatchObject({ error: { code: 'MethodNotAllowed' } });
    expect((await raw('/dashboard/api/nothing')).status).toBe(404);
  });

  test('the app keeps its own routes: /api is not the dashboard', async () => {
    const res = await fetch(url('/api/health'));
    expect(res.status).toBe(200);
  });
});

describe('GET /dashboard/api/flow', () => {
  test('messages per second in and completed per entity, and depths, once messages have flowed', async () => {
    const order = { orderId: 'o-flow', customerId: 'c-1', items: [{ sku: 'A-1', quantity: 1, unitPrice: 10 }], totalAmount: 10, currency: 'EUR' };
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await postJson(url('/api/messages'), { messageId: `flow-${i}`, messageType: 'OrderPlaced', payload: order });
      expect(res.status).toBe(202);
      ids.push(`flow-${i}`);
    }
    for (const id of ids) await waitFor(() => running.logs.some((l) => l.message.startsWith('Routed ') && l.message.includes(` ${id} `)), `routing of ${id}`);

    // "Routed" is logged before the router completes the message: read the flow once inbound is drained.
    const res = await waitFor(async () => {
      const r = await fetch(url('/dashboard/api/flow'));
      const body = (await r.clone().json()) as { entities?: { path: string; activeMessageCount: number | null }[] };
      return (r.status !== 200 || body.entities?.find((e) => e.path === 'inbound')?.activeMessageCount === 0) && r;
    }, 'inbound to drain');
    expect(res.status).toBe(200);
    const flow = (await res.json()) as {
      windowSeconds: number;
      sampledAt: string;
      entities: {
        path: string;
        kind: string;
        topic?: string;
        incomingPerSecond: number;
        completedPerSecond: number | null;
        activeMessageCount: number | null;
        deadLetterMessageCount: number | null;
      }[];
      totals: Record<string, number>;
    };
    expect(flow.windowSeconds).toBeGreaterThan(0);
    expect(Number.isNaN(Date.parse(flow.sampledAt))).toBe(false);
    expect(Object.keys(flow.totals).sort()).toEqual(['activeMessageCount', 'completedPerSecond', 'deadLetterMessageCount', 'incomingPerSecond']);
    for (const e of flow.entities) {
      expect(['queue', 'topic', 'subscription']).toContain(e.kind);
      expect(e.incomingPerSecond).toBeGreaterThanOrEqual(0);
      if (e.kind === 'topic') expect(e).toMatchObject({ completedPerSecond: null, activeMessageCount: null, deadLetterMessageCount: null });
      else {
        expect(typeof e.completedPerSecond).toBe('number');
        expect(typeof e.activeMessageCount).toBe('number');
        expect(typeof e.deadLetterMessageCount).toBe('number');
      }
      if (e.kind === 'subscription') expect(e.path.startsWith(`${e.topic}/subscriptions/`)).toBe(true);
    }
    const entity = (path: string) => flow.entities.find((e) => e.path === path)!;
    // Three sent to inbound and completed by the router; a copy of each reached the topic and
    // its analytics subscription, where nobody consumes them.
    expect(entity('inbound').incomingPerSecond).toBeGreaterThan(0);
    expect(entity('inbound').completedPerSecond).toBeGreaterThan(0);
    expect(entity('inbound').activeMessageCount).toBe(0);
    expect(entity('order-events').incomingPerSecond).toBeGreaterThan(0);
    expect(entity('order-events/subscriptions/analytics')).toMatchObject({ kind: 'subscription', topic: 'order-events', completedPerSecond: 0 });
    expect(entity('order-events/subscriptions/analytics').incomingPerSecond).toBeGreaterThan(0);
    expect(entity('order-events/subscriptions/analytics').activeMessageCount).toBeGreaterThanOrEqual(3);
    expect(flow.totals.incomingPerSecond).toBeGreaterThan(0);
  });
});

describe('GET /dashboard/api/traces', () => {
  test('400 JSON without a correlationId, or with one too long; never a 5xx', async () => {
    for (const q of ['', '?correlationId=', '?correlationId=%20%20', `?correlationId=${'x'.repeat(129)}`]) {
      const res = await raw(`/dashboard/api/traces${q}`);
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'BadRequest' } });
    }
  });

  test('the spans of the traces of one correlationId, each trace whole', async () => {
    const res = await postJson(url('/api/messages'), {
      messageId: 'trace-1',
      correlationId: 'dash-trace-1',
      messageType: 'OrderPlaced',
      payload: { orderId: 'o-trace', customerId: 'c-1', items: [{ sku: 'A-1', quantity: 1, unitPrice: 10 }], totalAmount: 10, currency: 'EUR' },
    });
    expect(res.status).toBe(202);
    const body = await waitFor(async () => {
      const r = (await (await fetch(url('/dashboard/api/traces?correlationId=dash-trace-1'))).json()) as {
        correlationId: string;
        traceIds: string[];
        spanCount: number;
        truncated: boolean;
        spans: { traceId: string; spanId: string; parentSpanId?: string; name: string; start: number; durationMs: number; attributes: Record<string, unknown> }[];
      };
      return r.spanCount > 0 && r;
    }, 'spans of dash-trace-1');
    expect(body).toMatchObject({ correlationId: 'dash-trace-1', truncated: false });
    expect(body.spans).toHaveLength(body.spanCount);
    expect(new Set(body.spans.map((s) => s.traceId))).toEqual(new Set(body.traceIds));
    expect(body.spans.some((s) => s.attributes.correlationId === 'dash-trace-1')).toBe(true);
    // In start order, as the waterfall draws them.
    expect(body.spans.map((s) => s.start)).toEqual([...body.spans.map((s) => s.start)].sort((a, b) => a - b));
    const none = (await (await fetch(url('/dashboard/api/traces?correlationId=nobody-has-this'))).json()) as { spanCount: number; spans: unknown[] };
    expect(none).toMatchObject({ spanCount: 0, spans: [] });
  });
});
