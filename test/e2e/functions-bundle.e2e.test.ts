// The deployment package azure.yaml deploys (npm run build:bundle): the esbuild bundle must be the
// same app as the tsc output — every function with the same triggers, bindings and retry options,
// the same hooks, Azure SDK calls still traced under Application Insights — and must run: here it
// is loaded as the worker loads it, then run on the embedded host, which routes a message through
// the Service Bus SDK binding (whose gRPC contract the bundle carries beside it).
import { DEV_SECRETS } from '../../src/security/dev-secrets';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLE_EXTERNALS, BUNDLE_MAIN, buildFunctionsBundle, type FunctionsBundle } from '../../scripts/support/functions-bundle';
import { azureLikeSettings, probeColdStart, registrationDifferences } from '../../scripts/support/startup-bench';
import type { ProbeResult } from '../../scripts/support/cold-start-probe';
import { repoRoot } from '../support/messaging-harness';
import { postJson, waitFor } from '../support/host';

let work: string;
let bundle: FunctionsBundle;
let tsc: ProbeResult;
let bundled: ProbeResult;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'functions-bundle-'));
  bundle = await buildFunctionsBundle({ appDir: repoRoot, outDir: join(work, 'api') });
  // What the remote build installs beside the bundle, and the embedded host's native addon, resolve from here.
  symlinkSync(join(repoRoot, 'node_modules'), join(work, 'node_modules'), 'junction');
  const env = azureLikeSettings();
  [tsc, bundled] = await Promise.all([probeColdStart(repoRoot, repoRoot, env), probeColdStart(repoRoot, bundle.dir, env)]);
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

test('the bundle registers exactly what the tsc app registers', () => {
  expect(tsc.registrations.length).toBeGreaterThan(40);
  expect(registrationDifferences(tsc, bundled, 'bundle')).toEqual([]);
  expect(bundled.registrations.map((r) => r.name)).toEqual(tsc.registrations.map((r) => r.name));
  expect(bundled.hooks).toEqual(tsc.hooks);
  expect(Object.keys(bundled.hooks)).toEqual(expect.arrayContaining(['preInvocation', 'log']));
});

test('with Application Insights on, Azure SDK calls are still traced: @azure/core-tracing stays outside the bundle', () => {
  expect(tsc.azureSdkSpansRecord).toBe(true);
  expect(bundled.azureSdkSpansRecord).toBe(true);
});

test('the bundle is one file: the worker loads it and nothing but the externals from node_modules', () => {
  expect(bundle.warnings).toEqual([]);
  expect(bundle.modulesBundled).toBeGreaterThan(1000);
  expect(bundled.modulesLoaded).toBeLessThan(20);
  expect(bundled.modulesLoaded - bundled.fromNodeModules).toBe(1);
  expect(tsc.modulesLoaded).toBeGreaterThan(bundled.modulesLoaded * 50);
});

test('the package: main is the bundle, no scripts for the remote build to run, only the shipped externals pinned as locked', () => {
  const pkg = JSON.parse(readFileSync(join(bundle.dir, 'package.json'), 'utf8')) as Record<string, unknown>;
  const lock = JSON.parse(readFileSync(join(bundle.dir, 'package-lock.json'), 'utf8')) as { lockfileVersion: number; packages: Record<string, { version?: string; integrity?: string }> };
  const rootLock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as typeof lock;
  const shipped = BUNDLE_EXTERNALS.filter((e) => e.ship).map((e) => e.name);
  expect(pkg.main).toBe(BUNDLE_MAIN);
  expect(pkg.scripts).toBeUndefined();
  expect(pkg.devDependencies).toBeUndefined();
  expect(Object.keys(pkg.dependencies as object)).toEqual(shipped);
  expect(lock.lockfileVersion).toBe(3);
  for (const path of bundle.shipped) {
    expect(lock.packages[path]).toMatchObject({ version: rootLock.packages[path]!.version, integrity: rootLock.packages[path]!.integrity });
  }
  for (const file of ['host.json', 'config/topology.yaml', 'config/routes.yaml', 'dist/bundle/functions/proto/settlement.proto']) expect(existsSync(join(bundle.dir, file))).toBe(true);
  expect(existsSync(join(bundle.dir, 'local.settings.json'))).toBe(false);
});

test('the bundle runs: on the embedded host a message is accepted, routed and settled through the SDK binding', async () => {
  const app = join(work, 'api');
  copyFileSync(join(repoRoot, 'local.settings.json'), join(app, 'local.settings.json'));
  const lines: string[] = [];
  const host = spawn(process.execPath, [join(repoRoot, 'packages', 'local-azure', 'dist', 'src', 'cli.js'), '--app', app, '--port', '0', '--data-dir', join(work, 'data')], {
    cwd: app,
    // The keys Key Vault references give the app in Azure (the bundle carries no local-Azure hooks to generate them).
    env: { ...process.env, PORT: '', DATA_DIR: '', ...Object.fromEntries(Object.entries(DEV_SECRETS).map(([name, make]) => [name, make()])) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    collectLines(host, lines);
    const started = await waitFor(() => lines.find((l) => /health: \[GET\] http:\/\/\S+\/api\/health/.test(l)), 'the host on the bundle to start', 30_000);
    const base = /(http:\/\/[^/\s]+)\/api\/health/.exec(started)![1]!;
    expect((await fetch(`${base}/api/health`)).status).toBe(200);
    const messageId = `bundle-${Date.now()}`;
    const accepted = await postJson(`${base}/api/messages`, {
      messageId,
      messageType: 'OrderPlaced',
      payload: { orderId: `o-${messageId}`, customerId: 'c-1', items: [{ sku: 'SKU-1', quantity: 1, unitPrice: 5 }], totalAmount: 5, currency: 'EUR' },
    });
    expect(accepted.status).toBe(202);
    await waitFor(() => lines.some((l) => l.includes(`Routed OrderPlaced ${messageId} `)), 'the message to be routed', 20_000);
    // Settled (completed) through the extension's gRPC client: nothing left on inbound, nothing dead-lettered.
    await waitFor(
      async () => {
        const { entities } = (await (await fetch(`${base}/api/ops/entities`)).json()) as { entities: { path: string; activeMessageCount: number; deadLetterMessageCount: number }[] };
        const inbound = entities.find((e) => e.path === 'inbound');
        return inbound?.activeMessageCount === 0 && inbound.deadLetterMessageCount === 0;
      },
      'inbound to be empty',
      20_000,
    );
    expect(lines.join('\n')).not.toMatch(/Executed 'Functions\.routeMessage' \(Failed/);
  } finally {
    host.kill('SIGKILL');
    await new Promise((r) => host.once('exit', r));
  }
}, 90_000);

function collectLines(child: ChildProcess, lines: string[]): void {
  let pending = '';
  const take = (d: Buffer) => {
    const parts = (pending + d.toString()).split('\n');
    pending = parts.pop()!;
    lines.push(...parts);
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
}
