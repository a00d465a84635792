// The measurements of npm run bench:startup, as functions (the script prints them; a test runs
// them at tiny N):
//  - cold start of the Azure app: fresh processes importing the entry points as the worker does
//    (tsc output as deployed today, the esbuild bundle, the bundle minified, and a minimal v4
//    app as the baseline), with the deployment package each needs;
//  - the embedded host: process spawn → first message handled, beside spawn → GET /api/health
//    200 and a bare `node -e` process, with the host's own start-up phases.
// Variants run interleaved, round after round, so a noisy neighbour slows them all alike.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { APP_SETTINGS } from '../../src/config/app-settings';
import { loadTopology } from '@backbone/azure-model/topology';
import { EmbeddedMessaging } from '../../src/adapters/embedded/messaging';
import { EntityTable } from '@backbone/local-azure/broker/entities';
import { EmbeddedBroker } from '@backbone/local-azure/broker/broker';
import { systemClock } from '@backbone/local-azure/clock';
import { GroupCommit, openDatabase } from '@backbone/local-azure/sqlite';
import { acceptMessage } from '../../src/esb/ingress';
import { SchemaRegistry } from '../../src/esb/schemas';
import { DEV_SECRETS, loadDevSecrets } from '../../src/security/dev-secrets';
import { loadFieldEncryptionConfig } from '../../src/security/field-encryption-config';
import { FieldProtector } from '../../src/security/field-protection';
import { encryptionKeysFrom, signingKeysFrom } from '../../src/security/key-settings';
import { withSigning } from '../../src/adapters/decorators/signed-messaging';
import { percentile } from '../../src/projections/projector';
import type { ProbeResult } from './cold-start-probe';
import { dependencyClosure, productionClosure, readLockfile, tallyFiles, tallyPackages, zippedFiles, type Tally } from './deployment-package';
import { buildFunctionsBundle, type FunctionsBundle } from './functions-bundle';

export interface Stats {
  median: number;
  p90: number;
  min: number;
  max: number;
  samples: number[];
}

export function stats(samples: number[]): Stats {
  if (samples.length === 0) throw new Error('no samples');
  return { median: percentile(samples, 50)!, p90: percentile(samples, 90)!, min: Math.min(...samples), max: Math.max(...samples), samples };
}

// ---------------------------------------------------------------- cold start of the Azure app

export type ColdStartVariantId = 'tsc' | 'bundle' | 'bundleMinified' | 'baseline';

export interface ColdStartVariant {
  id: ColdStartVariantId;
  label: string;
  appDir: string;
  /** What the deployment zip holds plus what the remote build installs. */
  package: Tally;
}

export interface ColdStartVariantResult extends ColdStartVariant {
  importMs: Stats;
  /** Process start → app loaded, measured in the child (Node start-up and the probe's own imports included). */
  processMs: Stats;
  modulesLoaded: number;
  fromNodeModules: number;
  rssBytes: number;
  functions: number;
}

export interface ColdStartResult {
  runs: number;
  variants: ColdStartVariantResult[];
  bundle: Pick<FunctionsBundle, 'modulesBundled' | 'bundleBytes' | 'buildMs' | 'warnings' | 'shipped'>;
  /** Whether the bundles registered exactly what the tsc app registered (names, bindings, retry options, hooks). */
  registrationsMatch: { bundle: boolean; bundleMinified: boolean; differences: string[] };
}

/**
 * The settings infra/app/api.bicep gives the app in Azure (src/config/app-settings.ts, scope
 * `azure`), pointing at loopback: importing the app builds its clients but sends nothing, and
 * what a client might send later goes nowhere. The instrumentation key is made up at run time.
 */
export function azureLikeSettings(): Record<string, string> {
  const clientId = '00000000-0000-0000-0000-00000000b0b0';
  const loopback = 'https://127.0.0.1:9/';
  const value = (name: string): string => {
    if (name.endsWith('__fullyQualifiedNamespace')) return '127.0.0.1';
    if (name.endsWith('__accountEndpoint') || name.endsWith('ServiceUri')) return loopback;
    if (name.endsWith('__credential')) return 'managedidentity';
    if (name.endsWith('__clientId')) return clientId;
    switch (name) {
      case 'APPLICATIONINSIGHTS_CONNECTION_STRING':
        return `InstrumentationKey=${randomUUID()};IngestionEndpoint=${loopback};LiveEndpoint=${loopback}`;
      case 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING':
        return `Authorization=AAD;ClientId=${clientId}`;
      case 'COSMOS_DATABASE_NAME':
        return 'integration';
      case 'DurableTaskHubName':
        return 'integrationhub';
      // Key Vault references, resolved by the platform before the worker starts: values of the same shape.
      case 'MESSAGE_SIGNING_KEYS':
      case 'FIELD_ENCRYPTION_KEYS':
        return DEV_SECRETS[name]!();
      case 'API_KEYS':
        return '[]';
      case 'FUNCTIONS_REQUEST_BODY_SIZE_LIMIT':
        return '6291456';
      case 'TELEMETRY_SAMPLING_RATIO':
        return '0.1';
      case 'AzureFunctionsJobHost__logging__logLevel__Function':
        return 'Warning';
      default:
        throw new Error(`The start-up benchmark has no Azure-like value for the setting ${name}: add one`);
    }
  };
  const settings = Object.fromEntries(APP_SETTINGS.filter((s) => s.scope === 'azure').map((s) => [s.name, value(s.name)]));
  // What the platform sets: the worker runtime, and the managed identity endpoint (here loopback).
  return { ...settings, FUNCTIONS_WORKER_RUNTIME: 'node', IDENTITY_ENDPOINT: 'http://127.0.0.1:9/msi/token', IDENTITY_HEADER: randomUUID() };
}

function funcignoreLines(appDir: string): string[] {
  return readFileSync(join(appDir, '.funcignore'), 'utf8').split('\n');
}

/** Builds the bundles into workDir and describes the four apps with their deployment packages. */
export async function prepareColdStartApps(repoRoot: string, workDir: string): Promise<{ variants: ColdStartVariant[]; bundle: FunctionsBundle }> {
  const lock = readLockfile(repoRoot);
  const bundle = await buildFunctionsBundle({ appDir: repoRoot, outDir: join(workDir, 'bundle') });
  const minified = await buildFunctionsBundle({ appDir: repoRoot, outDir: join(workDir, 'bundle-minified'), minify: true });
  // The shipped externals resolve from here, as from the node_modules a remote build installs.
  symlinkSync(join(repoRoot, 'node_modules'), join(workDir, 'node_modules'), 'junction');
  const sum = (a: Tally, b: Tally): Tally => ({ files: a.files + b.files, bytes: a.bytes + b.bytes });
  const folder = (dir: string, ignore: string[] = []) => tallyFiles(dir, zippedFiles(dir, ignore));
  const baselineDir = join(repoRoot, 'bench', 'baseline-app');
  return {
    bundle,
    variants: [
      { id: 'tsc', label: '(a) tsc output + node_modules', appDir: repoRoot, package: sum(folder(repoRoot, funcignoreLines(repoRoot)), tallyPackages(repoRoot, productionClosure(repoRoot, lock))) },
      { id: 'bundle', label: '(b) esbuild bundle', appDir: bundle.dir, package: sum(folder(bundle.dir), tallyPackages(repoRoot, bundle.shipped)) },
      { id: 'bundleMinified', label: '(b) esbuild bundle, minified', appDir: minified.dir, package: sum(folder(minified.dir), tallyPackages(repoRoot, minified.shipped)) },
      { id: 'baseline', label: '(c) baseline: one HTTP function', appDir: baselineDir, package: sum(folder(baselineDir), tallyPackages(repoRoot, dependencyClosure(lock, ['@azure/functions']))) },
    ],
  };
}

/** One fresh process importing the app; rejects with the child's output when it fails. */
export function probeColdStart(repoRoot: string, appDir: string, env: Record<string, string>): Promise<ProbeResult> {
  const probe = join(repoRoot, 'dist', 'scripts', 'support', 'cold-start-probe.js');
  return new Promise((resolve, reject) => {
    // Only the Azure-like settings and what a process needs to run: nothing of this shell's
    // settings (or of local.settings.json) leaks in.
    const system = Object.fromEntries(['PATH', 'HOME', 'TMPDIR', 'TEMP', 'TMP', 'SystemRoot'].filter((k) => process.env[k]).map((k) => [k, process.env[k]!]));
    const child = spawn(process.execPath, [probe, appDir], { cwd: appDir, env: { ...system, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      let parsed: (ProbeResult & { error?: undefined }) | { error: string } | undefined;
      try {
        parsed = JSON.parse(line) as typeof parsed;
      } catch {
        parsed = undefined;
      }
      if (code === 0 && parsed && !parsed.error) resolve(parsed as ProbeResult);
      else reject(new Error(`loading ${appDir} failed (exit ${code}): ${parsed?.error ?? line}\n${err.slice(-2000)}`));
    });
  });
}

/** What must be equal between two loads of the same app: every registration and hook count. */
export function registrationDifferences(expected: ProbeResult, actual: ProbeResult, label: string): string[] {
  const problems: string[] = [];
  const byName = new Map(actual.registrations.map((r) => [r.name, r]));
  for (const r of expected.registrations) {
    const other = byName.get(r.name);
    if (!other) problems.push(`${label}: ${r.name} is not registered`);
    else if (JSON.stringify(other) !== JSON.stringify(r)) problems.push(`${label}: ${r.name} registers ${JSON.stringify(other)}, the tsc app ${JSON.stringify(r)}`);
    byName.delete(r.name);
  }
  for (const name of byName.keys()) problems.push(`${label}: ${name} is registered only by the bundle`);
  if (JSON.stringify(expected.hooks) !== JSON.stringify(actual.hooks)) problems.push(`${label}: hooks ${JSON.stringify(actual.hooks)}, the tsc app ${JSON.stringify(expected.hooks)}`);
  if (JSON.stringify(expected.programmingModel) !== JSON.stringify(actual.programmingModel)) problems.push(`${label}: programming model ${JSON.stringify(actual.programmingModel)}`);
  if (expected.azureSdkSpansRecord !== actual.azureSdkSpansRecord) problems.push(`${label}: Azure SDK spans record: ${actual.azureSdkSpansRecord}, the tsc app: ${expected.azureSdkSpansRecord}`);
  return problems;
}

export interface MeasureOptions {
  repoRoot: string;
  /** Counted runs per variant. */
  runs: number;
  /** One uncounted round first, so every counted one reads the files from a warm page cache. Default true. */
  warmUp?: boolean;
  onRun?: (label: string) => void;
}

export async function measureColdStart(options: MeasureOptions): Promise<ColdStartResult> {
  const workDir = mkdtempSync(join(tmpdir(), 'bench-startup-'));
  try {
    const { variants, bundle } = await prepareColdStartApps(options.repoRoot, workDir);
    const env = azureLikeSettings();
    const samples = new Map<ColdStartVariantId, ProbeResult[]>(variants.map((v) => [v.id, []]));
    const firstCounted = options.warmUp === false ? 0 : 1;
    for (let round = 0; round < options.runs + firstCounted; round++) {
      for (const v of variants) {
        const result = await probeColdStart(options.repoRoot, v.appDir, env);
        if (round >= firstCounted) samples.get(v.id)!.push(result);
        options.onRun?.(v.label);
      }
    }
    const first = (id: ColdStartVariantId) => samples.get(id)![0]!;
    const differences = [...registrationDifferences(first('tsc'), first('bundle'), 'bundle'), ...registrationDifferences(first('tsc'), first('bundleMinified'), 'minified bundle')];
    return {
      runs: options.runs,
      bundle: { modulesBundled: bundle.modulesBundled, bundleBytes: bundle.bundleBytes, buildMs: bundle.buildMs, warnings: bundle.warnings, shipped: bundle.shipped },
      registrationsMatch: {
        bundle: !differences.some((d) => d.startsWith('bundle:')),
        bundleMinified: !differences.some((d) => d.startsWith('minified bundle:')),
        differences,
      },
      variants: variants.map((v) => {
        const runs = samples.get(v.id)!;
        return {
          ...v,
          importMs: stats(runs.map((r) => r.importMs)),
          processMs: stats(runs.map((r) => r.sinceProcessStartMs)),
          modulesLoaded: runs[0]!.modulesLoaded,
          fromNodeModules: runs[0]!.fromNodeModules,
          rssBytes: percentile(
            runs.map((r) => r.rssBytes),
            50,
          )!,
          functions: runs[0]!.registrations.length,
        };
      }),
    };
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- the embedded host

export interface HostStartupResult {
  runs: number;
  /** `node -e ''`: spawn → exit. */
  bareNodeMs: Stats;
  /** Spawn → GET /api/health answered 200. */
  healthMs: Stats;
  /** Spawn → the message waiting on `inbound` routed (routeMessage's Executed … Succeeded line). */
  firstMessageMs: Stats;
  /** Spawn → the host's "started" line, in the first-message runs. */
  startedMs: Stats;
  /** The host's own phases of EmbeddedHost.start (from its start-up line), plus `process`: spawn → start() called. */
  phases: Record<string, Stats>;
}

const STARTED_LINE = /Embedded host started in (\d+) ms \(([^;]*); data:/;

/** A data folder whose SQLite file already holds the broker's tables, and `message` on `inbound` when given. */
export async function seedDataDir(repoRoot: string, dataDir: string, message?: { messageId: string }): Promise<void> {
  const configDir = join(repoRoot, 'config');
  const db = openDatabase(join(dataDir, 'embedded.sqlite'));
  const commit = new GroupCommit(db);
  const broker = new EmbeddedBroker(db, new EntityTable(loadTopology(join(configDir, 'topology.yaml'))), systemClock, commit, { sweepIntervalMs: 0 });
  try {
    if (message) {
      // Through the ingress, as POST /api/messages would put it there.
      const body = {
        messageId: message.messageId,
        messageType: 'OrderPlaced',
        headers: { source: 'bench-startup', priority: 'normal' },
        payload: { orderId: `o-${message.messageId}`, customerId: 'c-bench', items: [{ sku: 'SKU-1', quantity: 1, unitPrice: 9.5 }], totalAmount: 9.5, currency: 'EUR' },
      };
      // Signed (and its sensitive fields encrypted) with the development keys the host will load
      // from the same data folder, or the router would dead-letter it SignatureInvalid.
      const env: NodeJS.ProcessEnv = {};
      loadDevSecrets(dataDir, env);
      const registry = SchemaRegistry.load(join(configDir, 'schemas'));
      await acceptMessage(
        { contentType: 'application/json', body: Buffer.from(JSON.stringify(body)), header: () => null },
        {
          sender: withSigning(new EmbeddedMessaging(broker), () => signingKeysFrom(env.MESSAGE_SIGNING_KEYS)),
          registry,
          fields: new FieldProtector(loadFieldEncryptionConfig(join(configDir, 'field-encryption.yaml'), registry), () => encryptionKeysFrom(env.FIELD_ENCRYPTION_KEYS)),
          now: () => new Date(),
        },
      );
    }
  } finally {
    broker.close();
    commit.close();
    db.close();
  }
}

interface Watched {
  /** ms after spawn at which each awaited condition held. */
  at: Record<string, number>;
  lines: string[];
}

/**
 * Spawns a process and resolves when every named condition has been seen (a line matching, or
 * the process exiting); then kills what is left. Rejects with the output on timeout or early exit.
 */
function watchProcess(
  command: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
  until: Record<string, (line: string, at: Record<string, number>) => boolean> | 'exit',
  onLine?: (line: string, elapsed: () => number, at: Record<string, number>) => Promise<void> | void,
): Promise<Watched> {
  return new Promise((resolve, reject) => {
    const spawned = performance.now();
    const elapsed = () => performance.now() - spawned;
    const child = spawn(command[0]!, command.slice(1), { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const at: Record<string, number> = {};
    const lines: string[] = [];
    let stderr = '';
    let pending = '';
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      if (error) reject(new Error(`${error.message}\n--- output ---\n${lines.slice(-30).join('\n')}\n${stderr.slice(-2000)}`));
      else resolve({ at, lines });
    };
    const timer = setTimeout(
      () =>
        finish(
          new Error(
            `${command.join(' ')}: not done after ${options.timeoutMs} ms (waiting for ${
              until === 'exit'
                ? 'exit'
                : Object.keys(until)
                    .filter((k) => !(k in at))
                    .join(', ')
            })`,
          ),
        ),
      options.timeoutMs,
    );
    const done = () => until !== 'exit' && Object.keys(until).every((k) => k in at);
    child.stdout.on('data', (d: Buffer) => {
      const parts = (pending + d.toString()).split('\n');
      pending = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        if (until !== 'exit') for (const [name, test] of Object.entries(until)) if (!(name in at) && test(line, at)) at[name] = elapsed();
        if (onLine)
          Promise.resolve(onLine(line, elapsed, at)).then(
            () => done() && finish(),
            (e: Error) => finish(e),
          );
        if (done()) finish();
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', (e) => finish(e));
    child.once('exit', (code) => {
      if (until === 'exit') {
        at.exit = elapsed();
        return code === 0 ? finish() : finish(new Error(`${command.join(' ')} exited with ${code}`));
      }
      // A host killed by finish() exits too; anything else before the conditions held is a failure.
      if (!settled)
        finish(
          new Error(
            `${command.join(' ')} exited with ${code} before ${Object.keys(until)
              .filter((k) => !(k in at))
              .join(', ')}`,
          ),
        );
    });
  });
}

export async function measureHostStartup(options: MeasureOptions): Promise<HostStartupResult> {
  const { repoRoot } = options;
  const cli = join(repoRoot, 'packages', 'local-azure', 'dist', 'src', 'cli.js');
  // The host reads local.settings.json (embedded connections); nothing is exported anywhere.
  const env = { ...process.env };
  for (const k of ['APPLICATIONINSIGHTS_CONNECTION_STRING', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'PORT', 'DATA_DIR', 'FAULT_INJECTION']) delete env[k];
  const workDir = mkdtempSync(join(tmpdir(), 'bench-host-'));
  const bare: number[] = [];
  const health: number[] = [];
  const first: number[] = [];
  const started: number[] = [];
  const phases = new Map<string, number[]>();
  const record = (name: string, ms: number) => phases.set(name, [...(phases.get(name) ?? []), ms]);
  try {
    const firstCounted = options.warmUp === false ? 0 : 1;
    for (let round = 0; round < options.runs + firstCounted; round++) {
      const counted = round >= firstCounted;
      const b = await watchProcess([process.execPath, '-e', ''], { cwd: repoRoot, env, timeoutMs: 30_000 }, 'exit');
      if (counted) bare.push(b.at.exit!);
      options.onRun?.('node -e');

      const healthDir = join(workDir, `health-${round}`);
      mkdirSync(healthDir);
      await seedDataDir(repoRoot, healthDir);
      let url: string | undefined;
      const h = await watchProcess(
        [process.execPath, cli, '--port', '0', '--data-dir', healthDir],
        { cwd: repoRoot, env, timeoutMs: 30_000 },
        { health: (_line, at) => 'health' in at },
        async (line, elapsed, at) => {
          const m = /health: \[GET\] (http:\/\/\S+\/api\/health)/.exec(line);
          if (!m || url) return;
          url = m[1]!;
          const res = await fetch(url);
          await res.text();
          if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}`);
          at.health = elapsed();
        },
      );
      if (counted) health.push(h.at.health!);
      options.onRun?.('health');

      const messageDir = join(workDir, `message-${round}`);
      mkdirSync(messageDir);
      const messageId = `bench-startup-${round}-${randomUUID()}`;
      await seedDataDir(repoRoot, messageDir, { messageId });
      const m = await watchProcess(
        [process.execPath, cli, '--port', '0', '--data-dir', messageDir],
        { cwd: repoRoot, env, timeoutMs: 30_000 },
        {
          started: (line) => STARTED_LINE.test(line),
          routed: (line) => line.includes(`Routed OrderPlaced ${messageId} `),
          // The host logs Executed once the handler (and its settlement of the message) returned.
          handled: (line, at) => 'routed' in at && /Executed 'Functions\.routeMessage' \(Succeeded/.test(line),
        },
      );
      if (counted) {
        first.push(m.at.handled!);
        started.push(m.at.started!);
        const line = m.lines.find((l) => STARTED_LINE.test(l))!;
        const [, total, summary] = STARTED_LINE.exec(line)!;
        record('process', m.at.started! - Number(total));
        for (const part of summary!.replace(/ ms$/, '').split(', ')) {
          const [name, ms] = part.split(' ');
          record(name!, Number(ms));
        }
        record('first message', m.at.handled! - m.at.started!);
      }
      options.onRun?.('first message');
      rmSync(healthDir, { recursive: true, force: true });
      rmSync(messageDir, { recursive: true, force: true });
    }
    return {
      runs: options.runs,
      bareNodeMs: stats(bare),
      healthMs: stats(health),
      firstMessageMs: stats(first),
      startedMs: stats(started),
      phases: Object.fromEntries([...phases.entries()].map(([name, ms]) => [name, stats(ms)])),
    };
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}
