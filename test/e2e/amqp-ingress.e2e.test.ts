// The README's claim, checked as a user would: the host runs as `npm start` runs it (a process of
// its own, its own data folder), and docs/examples/send-to-inbound.mjs — a stock @azure/service-bus
// script with the official emulator's connection string, importing nothing of this project — puts
// an OrderPlaced on `inbound` over AMQP. Signed as docs/security.md says, the app routes it (to
// the destinations its routes give); unsigned, the router dead-letters it SignatureInvalid, as in
// Azure. The script computes the signature from the docs on its own, so this also checks that the
// documented canonical form is the one the app verifies.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ChildHost } from '../support/child-host';
import { waitFor } from '../support/host';
import { repoRoot } from '../support/messaging-harness';

const run = promisify(execFile);
let dataDir: string;
let host: ChildHost;
const lines: string[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'amqp-ingress-'));
  host = await ChildHost.start(dataDir, lines);
});
afterAll(async () => {
  await host?.kill('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
});

async function sendWithTheExample(...args: string[]): Promise<{ sent: string; signed: boolean }> {
  const { stdout } = await run(process.execPath, [join(repoRoot, 'docs', 'examples', 'send-to-inbound.mjs'), ...args], {
    cwd: repoRoot,
    env: { ...process.env, SERVICEBUS_CONNECTION: host.amqpConnectionString, DATA_DIR: dataDir },
    timeout: 30_000,
  });
  return JSON.parse(stdout.trim()) as { sent: string; signed: boolean };
}

test('a signed OrderPlaced sent by a stock SDK script over AMQP is routed to every destination of its routes', async () => {
  const { sent, signed } = await sendWithTheExample('amqp-ingress-1');
  expect({ sent, signed }).toEqual({ sent: 'amqp-ingress-1', signed: true });
  await waitFor(() => lines.some((l) => l.includes('Routed OrderPlaced amqp-ingress-1 ')), 'the router to route it', 20_000);
  const { trail } = (await (await fetch(`${host.baseUrl}/api/ops/trail?messageId=amqp-ingress-1`)).json()) as { trail: { entity: string; causationId?: string }[] };
  for (const destination of ['fulfilment', 'audit-log', 'order-events/subscriptions/analytics']) expect(trail.some((e) => e.entity === destination && e.causationId === 'amqp-ingress-1')).toBe(true);
  expect(host.stderr).not.toContain('Dead-lettered message amqp-ingress-1');
}, 60_000);

test('the same script without the signature: dead-lettered SignatureInvalid (unsigned), never routed', async () => {
  await sendWithTheExample('amqp-ingress-2', '--unsigned');
  // A refusal is a warning: the host writes it on stderr.
  await waitFor(() => host.stderr.includes('Dead-lettered message amqp-ingress-2: SignatureInvalid unsigned'), 'the router to refuse it', 20_000);
  expect(lines.some((l) => l.includes('Routed OrderPlaced amqp-ingress-2'))).toBe(false);
}, 60_000);
