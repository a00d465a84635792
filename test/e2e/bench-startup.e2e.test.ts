// npm run bench:startup's measurements at one run each, no warm-up: what comes back must be
// complete and consistent (every variant, every phase, registrations compared, packages counted).
// Times are only checked for being times — this machine's speed is not under test.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { measureColdStart, measureHostStartup, type ColdStartResult, type HostStartupResult, type Stats } from '../../scripts/support/startup-bench';
import { repoRoot } from '../support/messaging-harness';

let cold: ColdStartResult;
let host: HostStartupResult;
const progress: string[] = [];

beforeAll(async () => {
  [cold, host] = await Promise.all([
    measureColdStart({ repoRoot, runs: 1, warmUp: false, onRun: (label) => progress.push(`cold ${label}`) }),
    measureHostStartup({ repoRoot, runs: 1, warmUp: false, onRun: (label) => progress.push(`host ${label}`) }),
  ]);
}, 180_000);

const isTime = (s: Stats) => {
  expect(s.samples).toHaveLength(1);
  expect(Number.isFinite(s.median) && s.median > 0).toBe(true);
  expect(s.median).toBe(s.samples[0]);
  expect([s.min, s.p90, s.max]).toEqual([s.median, s.median, s.median]);
};

test('cold start: the four apps, each loaded once, with progress reported per load', () => {
  expect(cold.runs).toBe(1);
  expect(cold.variants.map((v) => v.id)).toEqual(['tsc', 'bundle', 'bundleMinified', 'baseline']);
  for (const v of cold.variants) {
    isTime(v.importMs);
    isTime(v.processMs);
    // The child's clock starts with the process, so loading the app is part of it.
    expect(v.processMs.median).toBeGreaterThan(v.importMs.median);
    expect(v.rssBytes).toBeGreaterThan(0);
  }
  expect(progress.filter((p) => p.startsWith('cold '))).toHaveLength(4);
});

test('cold start: the bundles are the same app in fewer modules and a smaller package than the tsc output', () => {
  const [tsc, bundle, minified, baseline] = cold.variants;
  expect(cold.registrationsMatch).toEqual({ bundle: true, bundleMinified: true, differences: [] });
  expect(tsc!.functions).toBeGreaterThan(40);
  expect([bundle!.functions, minified!.functions]).toEqual([tsc!.functions, tsc!.functions]);
  expect(baseline!.functions).toBe(1);
  expect(tsc!.modulesLoaded).toBeGreaterThan(bundle!.modulesLoaded);
  expect(bundle!.modulesLoaded - bundle!.fromNodeModules).toBe(1);
  expect(tsc!.package.files).toBeGreaterThan(bundle!.package.files);
  expect(tsc!.package.bytes).toBeGreaterThan(bundle!.package.bytes);
  expect(minified!.package.bytes).toBeLessThan(bundle!.package.bytes);
  expect(baseline!.package.bytes).toBeGreaterThan(0);
  expect(cold.bundle.modulesBundled).toBeGreaterThan(1000);
  expect(cold.bundle.shipped).toContain('node_modules/@azure/core-tracing');
});

test('embedded host: bare node, health and first message, each once, with every start-up phase', () => {
  expect(host.runs).toBe(1);
  for (const s of [host.bareNodeMs, host.healthMs, host.firstMessageMs, host.startedMs]) isTime(s);
  // The message is handled after the host said it started, and that after the process was spawned.
  expect(host.firstMessageMs.median).toBeGreaterThan(host.startedMs.median);
  expect(Object.keys(host.phases)).toEqual(['process', 'settings', 'database', 'endpoints', 'telemetry', 'app', 'bindings', 'listen', 'triggers', 'first message']);
  for (const s of Object.values(host.phases)) {
    expect(s.samples).toHaveLength(1);
    expect(s.median).toBeGreaterThanOrEqual(0);
  }
  expect(progress.filter((p) => p.startsWith('host '))).toEqual(['host node -e', 'host health', 'host first message']);
});

test('the script refuses a run count that is not a whole number ≥ 1, in one line', () => {
  const r = spawnSync(process.execPath, [join(repoRoot, 'dist', 'scripts', 'bench-startup.js'), '--runs', '0'], { encoding: 'utf8' });
  expect(r.status).toBe(2);
  expect(r.stderr).toBe("--runs must be a whole number ≥ 1, not '0'\n");
});
