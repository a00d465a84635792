// HTTP authentication, authorization and audit through the embedded host with API_KEYS set: every
// HTTP function but health refuses a missing or unknown key (401, JSON, WWW-Authenticate); each
// group of operations refuses a key without its role (403) and serves one with it; commands and
// ops actions are audited with the caller and the correlationId — refusals too — and the order's
// events name who issued them; the Easy Auth principal counts only where it is trusted; an app in
// Azure with nothing configured refuses everyone; the dashboard's host API needs the ops role.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashApiKey } from '../../src/security/identity';
import type { AuditRecord } from '../../src/security/audit-log';
import { ChildHost } from '../support/child-host';
import { startHost, waitFor, type RunningHost } from '../support/host';
import { repoRoot } from '../support/messaging-harness';

const CALLERS = {
  ops: { name: 'ops-console', roles: ['ops'] },
  shop: { name: 'shop', roles: ['orders.write'] },
  reporting: { name: 'reporting', roles: ['orders.read'] },
  partner: { name: 'partner', roles: ['messages.write'] },
  warehouse: { name: 'warehouse', roles: ['inventory.write'] },
  risk: { name: 'risk-team', roles: ['sagas.approve'] },
} as const;
type Who = keyof typeof CALLERS;
const KEYS = Object.fromEntries(Object.keys(CALLERS).map((who) => [who, randomBytes(24).toString('base64url')])) as Record<Who, string>;
const API_KEYS = JSON.stringify(Object.entries(CALLERS).map(([who, c]) => ({ name: c.name, sha256: hashApiKey(KEYS[who as Who]), roles: c.roles })));

let running: RunningHost;
beforeAll(async () => {
  process.env.API_KEYS = API_KEYS;
  running = await startHost(repoRoot);
  expect((await call('POST', '/api/inventory/SKU-AUTH/receipts', { key: 'warehouse', body: { quantity: 100_000 } })).status).toBe(201);
});
afterAll(async () => {
  await running.stop();
  delete process.env.API_KEYS;
});

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown> & { error?: { code: string; message: string } };
}

async function call(method: string, path: string, options: { key?: Who | string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  const key = options.key === undefined ? undefined : options.key in KEYS ? KEYS[options.key as Who] : options.key;
  const res = await fetch(running.url(path), {
    method,
    headers: {
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(key !== undefined ? { 'x-api-key': key } : {}),
      ...options.headers,
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Answer['body']) : {} };
}

async function audit(query: Record<string, string>): Promise<AuditRecord[]> {
  const res = await call('GET', `/api/ops/audit?${new URLSearchParams(query)}`, { key: 'ops' });
  expect(res.status).toBe(200);
  return res.body.records as AuditRecord[];
}

let n = 0;
const newId = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++n}`;
const line = { sku: 'SKU-AUTH', quantity: 1, unitPrice: 10 };

describe('authentication: 401', () => {
  test('every HTTP function but health refuses a request without a key and one with an unknown key: 401, a JSON error, WWW-Authenticate', async () => {
    const http = running.host.functions.filter((f) => f.trigger === 'httpTrigger');
    expect(http.length).toBeGreaterThan(25);
    for (const f of http) {
      const route = String(Object.values(f.bindings).find((b) => b.type === 'httpTrigger')!.route);
      const path = `/api/${route.replace(/\{(\w+):long\}/g, '1').replace(/\{(\w+)\}/g, 'x-1')}`;
      const method = f.methods![0]!;
      const body = method === 'GET' || method === 'DELETE' ? undefined : {};
      if (f.name === 'health') {
        expect((await call(method, path)).status).toBe(200);
        continue;
      }
      for (const key of [undefined, 'not-a-key', KEYS.ops.slice(0, -1)]) {
        const res = await call(method, path, { key, body });
        expect({ fn: f.name, key, status: res.status }).toEqual({ fn: f.name, key, status: 401 });
        expect(res.body.error).toMatchObject({ code: 'AuthenticationRequired', message: key === undefined ? expect.stringContaining('needs an API key') : 'The API key is not valid.' });
        expect(res.headers.get('www-authenticate')).toMatch(/^ApiKey /);
        expect(res.headers.get('content-type')).toMatch(/application\/json/);
      }
    }
  });

  test('Authorization: ApiKey <key> works like x-api-key', async () => {
    expect((await call('GET', '/api/ops/entities', { headers: { authorization: `ApiKey ${KEYS.ops}` } })).status).toBe(200);
    expect((await call('GET', '/api/ops/entities', { headers: { authorization: `Bearer ${KEYS.ops}` } })).status).toBe(401);
  });
});

describe('authorization: 403 without the role, 2xx with it', () => {
  const forbidden = (res: Answer) => {
    expect(res.status).toBe(403);
    expect(res.body.error).toMatchObject({ code: 'Forbidden', message: expect.stringMatching(/may not call .* it needs the role/) });
  };

  test('order commands need orders.write — not read, not ops', async () => {
    const orderId = newId('az-cmd');
    for (const who of ['reporting', 'ops', 'partner', 'warehouse'] as const) forbidden(await call('POST', '/api/orders', { key: who, body: { orderId, customerId: 'c-1', items: [line] } }));
    expect((await call('POST', '/api/orders', { key: 'shop', body: { orderId, customerId: 'c-1', items: [line] } })).status).toBe(201);
    forbidden(await call('POST', `/api/orders/${orderId}/items`, { key: 'reporting', body: { sku: 'SKU-AUTH', quantity: 1, unitPrice: 2 } }));
    expect((await call('POST', `/api/orders/${orderId}/items`, { key: 'shop', body: { sku: 'SKU-B', quantity: 1, unitPrice: 2 } })).status).toBe(200);
    forbidden(await call('DELETE', `/api/orders/${orderId}/items/SKU-B`, { key: 'ops' }));
    expect((await call('DELETE', `/api/orders/${orderId}/items/SKU-B`, { key: 'shop' })).status).toBe(200);
    forbidden(await call('POST', `/api/orders/${orderId}/cancel`, { key: 'reporting', body: {} }));
    expect((await call('POST', `/api/orders/${orderId}/cancel`, { key: 'shop', body: { reason: 'changed my mind' } })).status).toBe(200);
  });

  test('reads need orders.read or ops', async () => {
    const orderId = newId('az-read');
    expect((await call('POST', '/api/orders', { key: 'shop', body: { orderId, customerId: 'c-read', items: [line] } })).status).toBe(201);
    // The customer's orders are a view: 404 until the projection has the customer.
    await waitFor(async () => (await call('GET', '/api/customers/c-read/orders', { key: 'reporting' })).status === 200, "the customer's orders view");
    for (const path of [
      `/api/orders/${orderId}`,
      `/api/orders/${orderId}/events`,
      '/api/customers/c-read/orders',
      '/api/reports/sales',
      '/api/inventory/SKU-AUTH',
      '/api/metrics/sales',
      '/api/sagas?limit=5',
    ]) {
      forbidden(await call('GET', path, { key: 'shop' }));
      forbidden(await call('GET', path, { key: 'partner' }));
      expect({ path, status: (await call('GET', path, { key: 'reporting' })).status }).toEqual({ path, status: 200 });
      expect({ path, status: (await call('GET', path, { key: 'ops' })).status }).toEqual({ path, status: 200 });
    }
  });

  test('stock receipts need inventory.write; the ESB ingress messages.write', async () => {
    forbidden(await call('POST', '/api/inventory/SKU-AUTH-2/receipts', { key: 'shop', body: { quantity: 5 } }));
    expect((await call('POST', '/api/inventory/SKU-AUTH-2/receipts', { key: 'warehouse', body: { quantity: 5 } })).status).toBe(201);
    const message = { ...(JSON.parse(readFileSync(join(repoRoot, 'config/samples/order-placed.json'), 'utf8')) as object), messageId: newId('az-msg') };
    forbidden(await call('POST', '/api/messages', { key: 'ops', body: message }));
    forbidden(await call('POST', '/api/messages', { key: 'shop', body: message }));
    expect((await call('POST', '/api/messages', { key: 'partner', body: message })).status).toBe(202);
  });

  test('the ops API needs ops: orders.read and orders.write callers are refused', async () => {
    for (const [method, path] of [
      ['GET', '/api/ops/entities'],
      ['GET', '/api/ops/deadletters?entity=inbound'],
      ['GET', '/api/ops/trail?correlationId=x'],
      ['GET', '/api/ops/projections'],
      ['GET', '/api/ops/audit'],
      ['DELETE', '/api/ops/deadletters?entity=inbound&all=true'],
      ['POST', '/api/ops/projections/order-summary/rebuild'],
      ['POST', '/api/ops/integration-events/republish'],
    ] as const) {
      forbidden(await call(method, path, { key: 'reporting', body: method === 'POST' ? {} : undefined }));
      forbidden(await call(method, path, { key: 'shop', body: method === 'POST' ? {} : undefined }));
    }
    expect((await call('GET', '/api/ops/entities', { key: 'ops' })).status).toBe(200);
    expect((await call('GET', '/api/ops/projections', { key: 'ops' })).status).toBe(200);
    expect((await call('DELETE', '/api/ops/deadletters?entity=inbound&all=true', { key: 'ops' })).status).toBe(200);
    expect((await call('POST', '/api/ops/projections/order-summary/rebuild', { key: 'ops', body: {} })).status).toBe(202);
  });
});

describe('audit', () => {
  test('a command is audited with its caller and correlationId; its events carry the caller; refused attempts are audited too', async () => {
    const orderId = newId('az-audit');
    const correlationId = `corr-${orderId}`;
    const headers = { 'x-correlation-id': correlationId };
    expect((await call('POST', '/api/orders', { key: 'reporting', headers, body: { orderId, customerId: 'c-a', items: [line] } })).status).toBe(403);
    expect((await call('POST', `/api/orders/${orderId}/submit`, { headers, body: {} })).status).toBe(401);
    expect((await call('POST', '/api/orders', { key: 'shop', headers, body: { orderId, customerId: 'c-a', items: [line] } })).status).toBe(201);
    expect((await call('POST', `/api/orders/${orderId}/cancel`, { key: 'shop', headers, body: { reason: 'test' } })).status).toBe(200);
    // Rejected by the order itself (cancelled orders take no lines): audited as rejected, with the error code.
    expect((await call('POST', `/api/orders/${orderId}/items`, { key: 'shop', headers, body: line })).status).toBe(422);

    const records = await audit({ target: `order:${orderId}` });
    const shop = { name: 'shop', kind: 'apiKey', roles: ['orders.write'] };
    expect(records.map((r) => [r.type, r.action, r.outcome, r.status])).toEqual([
      ['CommandIssued', 'order.addItem', 'rejected', 422],
      ['CommandIssued', 'order.cancel', 'accepted', 200],
      ['CommandIssued', 'order.create', 'accepted', 201],
      ['AccessRefused', 'order.submit', 'refused', 401],
    ]);
    for (const r of records) expect(r.correlationId).toBe(correlationId);
    expect(records[0]).toMatchObject({ caller: shop, reason: 'BusinessRuleViolated' });
    expect(records[2]).toMatchObject({ caller: shop, kind: 'command', target: `order:${orderId}` });
    expect(records[3]).toMatchObject({ caller: { name: 'unidentified', kind: 'unidentified', roles: [] }, reason: 'none' });
    // A refused create has no order yet: its target is the orders collection.
    const refusedCreate = (await audit({ target: 'orders', outcome: 'refused' })).find((r) => r.correlationId === correlationId);
    expect(refusedCreate).toMatchObject({ type: 'AccessRefused', action: 'order.create', status: 403, reason: 'Forbidden', caller: { name: 'reporting', kind: 'apiKey', roles: ['orders.read'] } });

    const events = (await call('GET', `/api/orders/${orderId}/events`, { key: 'reporting' })).body.events as { type: string; metadata: { caller?: unknown; correlationId?: string } }[];
    expect(events.length).toBeGreaterThanOrEqual(2);
    for (const e of events) expect(e.metadata).toMatchObject({ caller: { name: 'shop', kind: 'apiKey' }, correlationId });
  });

  test('ops actions are audited with the operator, the target and what they did', async () => {
    const correlationId = newId('corr-ops');
    const headers = { 'x-correlation-id': correlationId };
    expect((await call('DELETE', '/api/ops/deadletters?entity=inbound&reason=NoRouteMatched', { key: 'ops', headers })).status).toBe(200);
    expect((await call('POST', '/api/ops/integration-events/republish', { key: 'ops', headers, body: { streamPrefixes: ['order-az-'] } })).status).toBe(202);
    expect((await call('POST', '/api/ops/projections/no-such-projection/rebuild', { key: 'ops', headers, body: {} })).status).toBe(404);
    const records = (await audit({})).filter((r) => r.correlationId === correlationId);
    const ops = { name: 'ops-console', kind: 'apiKey', roles: ['ops'] };
    expect(records.map((r) => [r.type, r.action, r.target, r.outcome])).toEqual([
      ['OpsActionPerformed', 'projection.rebuild', 'projection:no-such-projection', 'rejected'],
      ['OpsActionPerformed', 'integrationEvents.republish', 'integration-events', 'accepted'],
      ['OpsActionPerformed', 'deadletters.purge', 'deadletters:inbound', 'accepted'],
    ]);
    for (const r of records) expect(r.caller).toEqual(ops);
    expect(records[2]!.details).toEqual({ filters: { reason: 'NoRouteMatched' }, purged: 0 });
    expect(records[1]!.details).toEqual({ streamPrefixes: ['order-az-'] });
    expect(records[0]).toMatchObject({ status: 404, reason: 'NotFound' });
  });

  test('a saga approval is audited as saga.approve by the caller, who is also who the saga says approved it', async () => {
    const orderId = newId('az-approve');
    const correlationId = `corr-${orderId}`;
    const headers = { 'x-correlation-id': correlationId };
    expect((await call('POST', '/api/orders', { key: 'shop', headers, body: { orderId, customerId: 'c-big', items: [{ sku: 'SKU-AUTH', quantity: 2, unitPrice: 1_000 }] } })).status).toBe(201);
    expect((await call('POST', `/api/orders/${orderId}/submit`, { key: 'shop', headers, body: {} })).status).toBe(200);
    await waitFor(async () => (await call('GET', `/api/sagas/${orderId}`, { key: 'reporting' })).body.status === 'AwaitingApproval', 'the saga to wait for approval', 20_000);
    expect((await call('POST', `/api/sagas/${orderId}/events/ManualApproval`, { key: 'shop', headers, body: { approved: true } })).status).toBe(403);
    // The body's `by` does not name the approver: the caller does.
    expect((await call('POST', `/api/sagas/${orderId}/events/ManualApproval`, { key: 'risk', headers, body: { approved: true, by: 'someone-else' } })).status).toBe(202);
    const saga = await waitFor(
      async () => {
        const s = (await call('GET', `/api/sagas/${orderId}`, { key: 'ops' })).body as { status: string; timeline: { phase: string; event: string; detail?: string }[] };
        return s.status === 'Completed' && s;
      },
      'the saga to complete',
      20_000,
    );
    expect(saga.timeline.find((t) => t.phase === 'approval' && t.event === 'approved')?.detail).toBe('risk-team');
    const records = await audit({ target: `saga:${orderId}` });
    expect(records.map((r) => [r.type, r.action, r.outcome, r.caller.name])).toEqual([
      ['OpsActionPerformed', 'saga.approve', 'accepted', 'risk-team'],
      ['AccessRefused', 'saga.raiseEvent', 'refused', 'shop'],
    ]);
    expect(records[0]).toMatchObject({ correlationId, details: { event: 'ManualApproval', approved: true } });
  });

  test("the Durable Functions API beside the app's routes needs the system key: no way round the roles to start, approve or terminate a saga", async () => {
    const orderId = newId('az-durable');
    expect((await call('POST', '/api/orders', { key: 'shop', body: { orderId, customerId: 'c-big', items: [{ sku: 'SKU-AUTH', quantity: 2, unitPrice: 1_000 }] } })).status).toBe(201);
    expect((await call('POST', `/api/orders/${orderId}/submit`, { key: 'shop', body: {} })).status).toBe(200);
    // The app's own saga API reaches the engine (through the client binding's URLs, which carry the key) …
    await waitFor(async () => (await call('GET', `/api/sagas/${orderId}`, { key: 'reporting' })).body.status === 'AwaitingApproval', 'the saga to wait for approval', 20_000);
    const instance = `order-saga-${orderId}`;
    // … while the webhooks refuse a caller without it, even one holding the ops key.
    for (const [method, path] of [
      ['GET', `/runtime/webhooks/durabletask/instances/${instance}`],
      ['POST', `/runtime/webhooks/durabletask/instances/${instance}/terminate?reason=bypass`],
      ['POST', `/runtime/webhooks/durabletask/instances/${instance}/raiseEvent/ManualApproval`],
      ['POST', `/runtime/webhooks/durabletask/instances/${instance}/terminate?reason=bypass&code=guessed`],
      ['POST', `/runtime/webhooks/durabletask/rpc/guessed/instances/${instance}/terminate`],
      ['POST', '/runtime/webhooks/durabletask/orchestrators/orderFulfilmentSaga/forged'],
    ] as const) {
      const res = await call(method, path, { key: 'ops', ...(method === 'POST' ? { body: { approved: true } } : {}) });
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 401 });
      expect(res.body.error?.message).toMatch(/system key/);
    }
    expect((await call('GET', `/api/sagas/${orderId}`, { key: 'reporting' })).body.status).toBe('AwaitingApproval');
    expect((await call('POST', `/api/ops/sagas/${orderId}/terminate?reason=cleanup`, { key: 'ops' })).status).toBe(202);
  });

  test('a command that comes as a message is issued by the ESB: audited, and its events say so', async () => {
    const orderId = newId('az-bus');
    const correlationId = `corr-${orderId}`;
    const sent = await call('POST', '/api/messages', {
      key: 'partner',
      body: { messageId: `m-${orderId}`, correlationId, messageType: 'CreateOrder', headers: { source: 'partner-portal' }, payload: { orderId, customerId: 'c-bus', items: [line] } },
    });
    expect(sent.status).toBe(202);
    const [record] = await waitFor(async () => {
      const found = await audit({ target: `order:${orderId}` });
      return found.length > 0 && found;
    }, 'the audit record of the message command');
    expect(record).toMatchObject({
      type: 'CommandIssued',
      action: 'CreateOrder',
      caller: { name: 'esb', kind: 'system', roles: [] },
      correlationId,
      outcome: 'accepted',
      // The routed copy's messageId, derived from the one sent.
      details: { messageId: expect.any(String), source: 'partner-portal' },
    });
    const events = (await call('GET', `/api/orders/${orderId}/events`, { key: 'reporting' })).body.events as { metadata: { caller?: unknown } }[];
    for (const e of events) expect(e.metadata.caller).toEqual({ name: 'esb', kind: 'system' });
  });
});

describe('Easy Auth and Azure', () => {
  const principal = (name: string, roles: string[]) =>
    Buffer.from(
      JSON.stringify({
        auth_typ: 'aad',
        name_typ: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name',
        role_typ: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role',
        claims: [
          { typ: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name', val: name },
          ...roles.map((val) => ({ typ: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role', val })),
        ],
      }),
    ).toString('base64');

  afterEach(() => {
    delete process.env.AUTH_TRUST_EASY_AUTH;
    delete process.env.WEBSITE_SITE_NAME;
    delete process.env.WEBSITE_AUTH_ENABLED;
    process.env.API_KEYS = API_KEYS;
  });

  test('a client principal is ignored unless trusted (anyone can send the header); trusted, it is the caller with its roles', async () => {
    const orderId = newId('az-easy');
    const body = { orderId, customerId: 'c-easy', items: [line] };
    const forged = { 'x-ms-client-principal': principal('mallory@contoso.com', ['orders.write']) };
    expect((await call('POST', '/api/orders', { headers: forged, body })).status).toBe(401);

    process.env.AUTH_TRUST_EASY_AUTH = 'true';
    const reader = { 'x-ms-client-principal': principal('rita@contoso.com', ['orders.read']) };
    expect((await call('POST', '/api/orders', { headers: reader, body })).status).toBe(403);
    expect((await call('POST', '/api/orders', { headers: { 'x-ms-client-principal': principal('ada@contoso.com', ['orders.write', 'Admin']) }, body })).status).toBe(201);
    const garbled = await call('POST', '/api/orders', { headers: { 'x-ms-client-principal': 'e30K!!' }, body });
    expect(garbled.status).toBe(401);
    expect(garbled.body.error?.message).toMatch(/not an App Service client principal/);
    // Keys still work beside it.
    expect((await call('GET', `/api/orders/${orderId}`, { key: 'reporting' })).status).toBe(200);

    const [created] = (await audit({ target: `order:${orderId}` })).filter((r) => r.action === 'order.create' && r.outcome === 'accepted');
    expect(created!.caller).toEqual({ name: 'ada@contoso.com', kind: 'easyAuth', roles: ['orders.write'] });
  });

  test('in Azure with neither keys nor App Service authentication every call is refused; health still answers', async () => {
    process.env.WEBSITE_SITE_NAME = 'integration-app';
    delete process.env.API_KEYS;
    const refused = await call('GET', '/api/ops/entities', { key: 'ops' });
    expect(refused.status).toBe(401);
    expect(refused.body.error?.message).toMatch(/Authentication is not configured/);
    expect((await call('GET', '/api/health')).status).toBe(200);
    // App Service authentication switched on: its principal is trusted there.
    process.env.WEBSITE_AUTH_ENABLED = 'True';
    expect((await call('GET', '/api/ops/entities', { headers: { 'x-ms-client-principal': principal('ops@contoso.com', ['ops']) } })).status).toBe(200);
    expect((await call('GET', '/api/ops/entities', { key: 'ops' })).status).toBe(401);
  });
});

describe('auth fails closed (security review, finding 2)', () => {
  afterEach(() => {
    process.env.API_KEYS = API_KEYS;
  });

  test.each([
    ['an empty list', '[]'],
    ['a blank value', '   '],
    ['an empty value', ''],
  ])('API_KEYS set to %s means on with nobody allowed: every route but health, the ops API and the Durable API answer 401', async (_, value) => {
    process.env.API_KEYS = value;
    // The running host reads the setting per request, as the app in Azure does after a key is revoked.
    for (const [method, path] of [
      ['GET', '/api/orders/o-closed'],
      ['POST', '/api/ops/deadletters/resubmit?entity=inbound&all=true'],
      ['DELETE', '/api/ops/deadletters?entity=inbound&all=true'],
      ['POST', '/api/sagas/o-closed/events/ManualApproval'],
    ] as const) {
      const answer = await call(method, path, { key: 'ops', body: method === 'POST' ? {} : undefined });
      expect([path, answer.status, answer.body.error?.code]).toEqual([path, 401, 'AuthenticationRequired']);
    }
    expect((await call('GET', '/api/health')).status).toBe(200);
  });

  /** A host process of its own, started with API_KEYS as given (undefined: no setting at all). */
  async function childHost(apiKeys: string | undefined, check: (host: ChildHost, lines: string[]) => Promise<void>): Promise<void> {
    const dataDir = mkdtempSync(join(tmpdir(), 'auth-mode-'));
    const saved = process.env.API_KEYS;
    if (apiKeys === undefined) delete process.env.API_KEYS;
    else process.env.API_KEYS = apiKeys;
    const lines: string[] = [];
    let host: ChildHost | undefined;
    try {
      host = await ChildHost.start(dataDir, lines);
      await check(host, lines);
    } finally {
      process.env.API_KEYS = saved;
      await host?.kill('SIGTERM');
      rmSync(dataDir, { recursive: true, force: true });
    }
  }

  test('a host started with API_KEYS=[] says so at start, and its Durable HTTP API needs the system key', async () => {
    await childHost('[]', async (host) => {
      // A warning: the host writes it on stderr.
      expect(host.stderr.split('\n').filter((l) => l.includes('HTTP auth:'))).toEqual([
        expect.stringContaining('HTTP auth: on with 0 API keys (API_KEYS is an empty list) — every request but /api/health is refused.'),
      ]);
      expect((await fetch(`${host.baseUrl}/runtime/webhooks/durabletask/instances`)).status).toBe(401);
      expect((await fetch(`${host.baseUrl}/api/ops/entities`)).status).toBe(401);
      expect((await fetch(`${host.baseUrl}/api/health`)).status).toBe(200);
    });
  });

  test('the start-up log names the auth mode and the number of keys; off is a warning naming what is open', async () => {
    await childHost(API_KEYS, async (_, lines) => {
      expect(lines.filter((l) => l.includes('HTTP auth:'))).toEqual([expect.stringContaining(`HTTP auth: on — ${Object.keys(CALLERS).length} API keys.`)]);
    });
    await childHost(undefined, async (host, lines) => {
      expect(lines.filter((l) => l.includes('HTTP auth:'))).toEqual([]);
      const [line] = host.stderr.split('\n').filter((l) => l.includes('HTTP auth:'));
      expect(line).toMatch(/HTTP auth: off \(no API_KEYS setting\) — every route is open .*the ops API .*the Durable HTTP API/);
    });
  });
});

test('a malformed API_KEYS stops the app at start, naming the entry, rather than run open or closed by surprise', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'auth-bad-keys-'));
  try {
    const lines: string[] = [];
    const started = ChildHost.start(dataDir, lines, { API_KEYS: JSON.stringify([{ name: 'shop', key: 'a-plain-key', roles: ['orders.write'] }]) });
    await expect(started).rejects.toThrow(/API_KEYS\[0\] holds a plain key; store its SHA-256/);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

describe('the dashboard', () => {
  test('the page is public; its host API needs the ops role', async () => {
    expect((await fetch(running.url('/'))).status).toBe(200);
    expect((await fetch(running.url('/dashboard/app.js'))).status).toBe(200);
    for (const path of ['/dashboard/api/flow', '/dashboard/api/traces?correlationId=x']) {
      const none = await call('GET', path);
      expect(none.status).toBe(401);
      expect(none.body.error?.code).toBe('AuthenticationRequired');
      expect(none.headers.get('www-authenticate')).toMatch(/^ApiKey /);
      expect((await call('GET', path, { key: 'wrong' })).status).toBe(401);
      const reader = await call('GET', path, { key: 'reporting' });
      expect(reader.status).toBe(403);
      expect(reader.body.error?.code).toBe('Forbidden');
      expect((await call('GET', path, { key: 'ops' })).status).toBe(200);
    }
  });
});
