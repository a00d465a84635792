// Regressions of the security review (issue 15): each test failed on the code before its fix.
//  3. bounded work before auth: a caller without valid credentials gets a 401 before a large body
//     is read (declared or streamed), and a body over the app's host limit a 413 before it is read;
//  4. a bad continuation token is the caller's 400 naming the parameter, never a 500;
//  5. a path that is not valid percent-encoding is a 400 JSON error before any other work, the
//     Durable HTTP API included (it was an empty 500 and a stack trace in the log per request);
//  7. the data folder is private to its owner (0700) and so are the database files (0600);
//  6. a payment card number anywhere but the designated (encrypted) card fields — an id, a reason,
//     a header, a URL segment — is refused with a 400 naming the field, and is stored nowhere;
//  8. the host's own 404 (unknown path, a route constraint that refuses a segment) is a JSON error.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashApiKey } from '../../src/security/identity';
import { findCardNumbers } from '../../src/security/card-numbers';
import { ChildHost } from '../support/child-host';
import { scanStoredCardNumbers } from '../support/stored-card-numbers';
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
  test.each(['/runtime/webhooks/durabletask/%ZZ', '/runtime/webhooks/durabletask/instances/%E0%A4%A', '/api/orders/%ZZ', '/%ZZ', '//%GA'])(
    '%s: 400 ValidationFailed, before any other work, and nothing logged as an error',
    async (path) => {
      const before = running.logs.filter((r) => r.level === 'error').length;
      const answer = await get(path);
      expect(answer.status).toBe(400);
      expect(answer.contentType).toMatch(/^application\/json/);
      expect(answer.body.error).toMatchObject({ code: 'ValidationFailed', target: 'path' });
      expect(running.logs.filter((r) => r.level === 'error').length).toBe(before);
    },
  );

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

/** A raw HTTP/1.1 request on a socket: the head, then body chunks written one at a time until an answer arrives. */
function rawRequest(url: string, head: string[], chunks: Buffer[], pauseMs = 5): Promise<{ status: number; text: string; bytesSent: number }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname === 'localhost' ? '127.0.0.1' : hostname);
    let answer = '';
    let bytesSent = 0;
    let answered = false;
    socket.on('data', (d) => {
      answer += d.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})[^]*?\r\n\r\n([^]*)$/.exec(answer);
      if (m && !answered) {
        answered = true;
        setTimeout(() => {
          socket.destroy();
          resolve({ status: Number(m[1]), text: /\r\n\r\n([^]*)$/.exec(answer)![1]!, bytesSent });
        }, 50);
      }
    });
    socket.on('error', (e) => (answered ? undefined : reject(e)));
    socket.write(`${head.join('\r\n')}\r\n\r\n`);
    let i = 0;
    const next = () => {
      if (answered || i >= chunks.length) return;
      const chunk = chunks[i++]!;
      bytesSent += chunk.length;
      socket.write(chunk, () => setTimeout(next, pauseMs));
    };
    next();
  });
}

describe('finding 3: bounded work before auth', () => {
  const API_KEY = 'k-bounded-work-before-auth';
  beforeAll(() => {
    process.env.API_KEYS = JSON.stringify([{ name: 'bounded', sha256: hashApiKey(API_KEY), roles: ['messages.write'] }]);
  });
  afterAll(() => {
    delete process.env.API_KEYS;
  });
  const MiB = 1024 * 1024;

  test('a declared 95 MiB body without credentials is answered 401 at once, before any of it is read', async () => {
    const answer = await rawRequest(
      running.url('/'),
      ['POST /api/messages HTTP/1.1', 'Host: localhost', 'Content-Type: application/json', `Content-Length: ${95 * MiB}`],
      [Buffer.from('{"messageType":')],
    );
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.text)).toMatchObject({ error: { code: 'AuthenticationRequired' } });
    expect(answer.bytesSent).toBeLessThan(100);
  });

  test('a chunked body without credentials is cut once it passes 256 KiB: 401 long before the 8 MiB the client meant to send', async () => {
    const chunk = Buffer.concat([Buffer.from(`10000\r\n`), Buffer.alloc(0x10000, 0x61), Buffer.from('\r\n')]);
    const answer = await rawRequest(
      running.url('/'),
      ['POST /api/messages HTTP/1.1', 'Host: localhost', 'Content-Type: application/json', 'Transfer-Encoding: chunked', 'x-api-key: wrong-key'],
      Array.from({ length: 128 }, () => chunk),
    );
    expect(answer.status).toBe(401);
    expect(answer.bytesSent).toBeLessThan(2 * MiB);
  });

  test("with the key, a body over the app's host limit (FUNCTIONS_REQUEST_BODY_SIZE_LIMIT, 6 MiB in local.settings.json) is a 413 before it is read", async () => {
    const answer = await rawRequest(
      running.url('/'),
      ['POST /api/messages HTTP/1.1', 'Host: localhost', 'Content-Type: text/csv', `x-api-key: ${API_KEY}`, `Content-Length: ${7 * MiB}`],
      [Buffer.from('a,b\n')],
    );
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.text)).toMatchObject({ error: { code: 'PayloadTooLarge', message: expect.stringContaining('6291456') } });
    expect(answer.bytesSent).toBeLessThan(100);
  });

  test('a small body without credentials still reaches the app, which refuses it (and audits that) as before', async () => {
    const res = await fetch(running.url('/api/messages'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messageType: 'OrderPlaced', payload: {} }) });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('AuthenticationRequired');
  });
});

describe('finding 6: card numbers anywhere but the card fields', () => {
  const CARD = '4111 1111 1111 1111';
  const send = async (path: string, body: unknown, headers: Record<string, string> = {}, method = 'POST') => {
    const res = await fetch(running.url(path), { method, headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as { error?: { code: string; target?: string; message: string } } };
  };

  test.each<[string, string, unknown, Record<string, string>, string]>([
    ['a cancel reason (ingress)', '/api/messages', { messageType: 'CancelOrder', payload: { orderId: 'o-card-1', reason: `refund to ${CARD}` } }, {}, 'payload.reason'],
    ['an orderId (ingress)', '/api/messages', { messageType: 'CancelOrder', payload: { orderId: CARD.replaceAll(' ', '') } }, {}, 'payload.orderId'],
    ['a messageId (ingress)', '/api/messages', { messageId: CARD.replaceAll(' ', '-'), messageType: 'CancelOrder', payload: { orderId: 'o-card-2' } }, {}, 'messageId'],
    ['a correlationId (ingress)', '/api/messages', { correlationId: CARD, messageType: 'CancelOrder', payload: { orderId: 'o-card-3' } }, {}, 'correlationId'],
    ['a header (ingress)', '/api/messages', { messageType: 'CancelOrder', headers: { source: CARD }, payload: { orderId: 'o-card-4' } }, {}, 'headers.source'],
    ['a customerId (command API)', '/api/orders', { orderId: 'o-card-5', customerId: CARD.replaceAll(' ', ''), items: [{ sku: 'SKU-1', quantity: 1, unitPrice: 1 }] }, {}, 'customerId'],
    ['a cancel reason (command API)', '/api/orders/o-card-6/cancel', { reason: `card ${CARD}` }, {}, 'reason'],
    ['an inventory reference (command API)', '/api/inventory/SKU-CARD/receipts', { quantity: 1, reference: CARD }, {}, 'reference'],
    ['an orderId in the URL', `/api/orders/${CARD.replaceAll(' ', '')}/cancel`, {}, {}, 'id'],
    ['the X-Correlation-Id header', '/api/orders/o-card-7/cancel', {}, { 'x-correlation-id': CARD.replaceAll(' ', '') }, 'x-correlation-id'],
  ])('%s: 400 naming the field, without repeating the number', async (_, path, body, headers, target) => {
    const answer = await send(path, body, headers);
    expect([answer.status, answer.body.error?.code, answer.body.error?.target]).toEqual([400, 'ValidationFailed', target]);
    expect(findCardNumbers(JSON.stringify(answer.body))).toEqual([]);
  });

  test('a CSV row with a card number in a free-text cell is refused naming the row and field', async () => {
    const res = await fetch(running.url('/api/messages'), {
      method: 'POST',
      headers: { 'content-type': 'text/csv', 'x-message-type': 'CancelOrder' },
      body: `orderId,reason\no-card-8,"ok"\no-card-9,"pay with ${CARD}"\n`,
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { target?: string; details?: { target: string }[] } };
    expect(JSON.stringify(body)).toContain('rows[1].payload.reason');
  });

  test('the designated card field still takes a card (sealed at once), and nothing above left a card number in the store or the host log', async () => {
    const created = await send('/api/orders', {
      orderId: 'o-card-ok',
      customerId: 'c-card',
      items: [{ sku: 'SKU-1', quantity: 1, unitPrice: 1 }],
      payment: { method: 'card', card: { number: CARD.replaceAll(' ', ''), holder: 'Ada Lovelace', expiry: '12/30' } },
    });
    expect(created.status).toBe(201);
    const scan = scanStoredCardNumbers(running.host.db);
    expect(scan.found).toEqual([]);
    expect(running.logs.filter((l) => findCardNumbers(l.message).length > 0).map((l) => l.message)).toEqual([]);
  });
});
