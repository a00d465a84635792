// Regressions of the security review (issue 15): each test failed on the code before its fix.
//  4. a bad continuation token is the caller's 400 naming the parameter, never a 500;
//  5. a path that is not valid percent-encoding is a 400 JSON error before any other work, the
//     Durable HTTP API included (it was an empty 500 and a stack trace in the log per request);
//  7. the data folder is private to its owner (0700) and so are the database files (0600);
//  8. the host's own 404 (unknown path, a route constraint that refuses a segment) is a JSON error.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChildHost } from '../support/child-host';
import { startHost, type RunningHost } from '../support/host';
import { repoRoot } from '../support/messaging-harness';

let running: RunningHost;
beforeAll(async () => {
  running = await startHost(repoRoot);
});
afterAll(async () => {
  await running.stop();
});

async function get(path: string, method = 'GET'): Promise<{ status: number; contentType: string | null; body: { error?: { code: string; message: string; target?: string } } }> {
  const res = await fetch(running.url(path), { method });
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get('content-type'), body: text ? JSON.parse(text) : {} };
}

const b64 = (text: string) => Buffer.from(text).toString('base64url');

describe('finding 4: continuation tokens', () => {
  const tokens = ['abc', 'null', b64('null'), b64('{"offset":1e308}'), b64('{"offset":-1}'), b64('{"offset":"1"}'), b64('[]'), '%7B%22offset%22%3A1e308%7D'];
  test.each(['/api/customers/c-none/orders', '/api/reports/sales', '/api/sagas'])('%s answers 400 naming `continuation` for every malformed token', async (route) => {
    for (const token of tokens) {
      const answer = await get(`${route}?continuation=${token}`);
      expect([token, answer.status, answer.body.error?.code, answer.body.error?.target]).toEqual([token, 400, 'ValidationFailed', 'continuation']);
    }
  });

  test('a token the store issued still pages', async () => {
    const first = await get('/api/reports/sales?limit=1');
    expect(first.status).toBe(200);
  });
});

describe('finding 5 and 8: what the host answers itself is a JSON error', () => {
  test.each(['/runtime/webhooks/durabletask/%ZZ', '/runtime/webhooks/durabletask/instances/%E0%A4%A', '/api/orders/%ZZ', '/%ZZ'])('%s: 400 ValidationFailed, before any other work, and nothing logged as an error', async (path) => {
    const before = running.logs.filter((r) => r.level === 'error').length;
    const answer = await get(path);
    expect(answer.status).toBe(400);
    expect(answer.contentType).toMatch(/^application\/json/);
    expect(answer.body.error).toMatchObject({ code: 'ValidationFailed', target: 'path' });
    expect(running.logs.filter((r) => r.level === 'error').length).toBe(before);
  });

  test.each([
    ['an unknown path', 'GET', '/api/no-such-function'],
    ['outside the route prefix', 'GET', '/nothing-here'],
    ['a route constraint miss ({sequenceNumber:long})', 'POST', '/api/ops/deadletters/abc/resubmit?entity=inbound'],
    ['a method no function takes', 'PATCH', '/api/health'],
  ])('%s: 404 NotFound as JSON', async (_, method, path) => {
    const answer = await get(path, method);
    expect(answer.status).toBe(404);
    expect(answer.contentType).toMatch(/^application\/json/);
    expect(answer.body.error).toMatchObject({ code: 'NotFound', target: 'path' });
    expect(answer.body.error!.message).toContain(method);
  });
});

test('finding 7: a new data folder is 0700 and the database files 0600', async () => {
  const parent = mkdtempSync(join(tmpdir(), 'private-data-'));
  const dataDir = join(parent, 'data');
  const lines: string[] = [];
  const host = await ChildHost.start(dataDir, lines);
  try {
    // A write, so the WAL exists too.
    const res = await fetch(`${host.baseUrl}/api/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ orderId: 'o-private', customerId: 'c-1', items: [{ sku: 'SKU-1', quantity: 1, unitPrice: 9.5 }] }),
    });
    expect(res.status).toBe(201);
    const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);
    expect(mode(dataDir)).toBe('700');
    for (const file of ['embedded.sqlite', 'embedded.sqlite-wal', 'embedded.sqlite-shm']) expect([file, mode(join(dataDir, file))]).toEqual([file, '600']);
  } finally {
    await host.kill('SIGTERM');
    rmSync(parent, { recursive: true, force: true });
  }
});
