// Child process of the start-up benchmark: loads a function app the way the Functions Node.js
// worker does when an instance starts — @azure/functions-core provided by wrapping
// Module.prototype.require (the embedded host's module, as in the real worker), then every file
// matching package.json `main`, in order — and prints one JSON line: how long the entry points
// took to import, how many modules that loaded, and what the app registered.
//   node dist/scripts/support/cold-start-probe.js <app folder>
import { sep } from 'node:path';
import { loadEntryPoints } from '@backbone/local-azure/host/app-loader';
import { installCoreModule } from '@backbone/local-azure/worker/install-core-module';
import { workerState } from '@backbone/local-azure/worker/worker-state';

export interface Registration {
  name: string;
  bindings: Record<string, unknown>;
  retryOptions?: unknown;
}

export interface ProbeResult {
  /** Importing the entry points: what the worker spends before the host can index the app. */
  importMs: number;
  /** Process start (time origin) to the app loaded, probe's own imports included. */
  sinceProcessStartMs: number;
  /** Modules the import added to require.cache (a bundle counts as one, plus its externals). */
  modulesLoaded: number;
  /** Of those, how many came from node_modules. */
  fromNodeModules: number;
  rssBytes: number;
  registrations: Registration[];
  /** Hooks the app registered (preInvocation, log, appStart …), by name. */
  hooks: Record<string, number>;
  programmingModel?: { name: string; version: string };
  /**
   * Whether an Azure SDK span records (Application Insights hooked @azure/core-tracing), or
   * undefined when no Azure SDK was loaded. Bundling must not lose this.
   */
  azureSdkSpansRecord?: boolean;
}

/** Looks at the @azure/core-tracing the app loaded without requiring it (a require would be hooked now). */
function azureSdkSpansRecord(): boolean | undefined {
  const key = Object.keys(require.cache).find((k) => /[\\/]@azure[\\/]core-tracing[\\/].*[\\/]index\.js$/.test(k));
  if (!key) return undefined;
  const tracing = require.cache[key]!.exports as typeof import('@azure/core-tracing');
  const { span } = tracing.createTracingClient({ namespace: 'Microsoft.Bench', packageName: 'bench-startup' }).startSpan('probe');
  const recording = span.isRecording();
  span.end();
  return recording;
}

async function main(): Promise<void> {
  const appDir = process.argv[2];
  if (!appDir) throw new Error('usage: cold-start-probe.js <app folder>');
  installCoreModule();
  const before = new Set(Object.keys(require.cache));
  const started = performance.now();
  workerState.indexingLocked = false;
  await loadEntryPoints(appDir);
  const importMs = performance.now() - started;
  workerState.indexingLocked = true;
  const loaded = Object.keys(require.cache).filter((k) => !before.has(k));
  const model = workerState.programmingModel;
  const result: ProbeResult = {
    importMs,
    sinceProcessStartMs: performance.now(),
    modulesLoaded: loaded.length,
    fromNodeModules: loaded.filter((k) => k.includes(`${sep}node_modules${sep}`)).length,
    rssBytes: process.memoryUsage().rss,
    registrations: [...workerState.functions.values()]
      .map((f) => ({ name: f.metadata.name, bindings: f.metadata.bindings as Record<string, unknown>, ...(f.metadata.retryOptions ? { retryOptions: f.metadata.retryOptions } : {}) }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    hooks: Object.fromEntries([...workerState.hooks.entries()].map(([name, list]) => [name, list.length]).sort()),
    programmingModel: model ? { name: model.name, version: model.version } : undefined,
    azureSdkSpansRecord: azureSdkSpansRecord(),
  };
  // Exit at once: the app may have started timers and sockets (Application Insights) that would
  // keep the process alive; nothing of them is being measured.
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}

main().catch((error: unknown) => {
  process.stdout.write(`${JSON.stringify({ error: (error as Error).message })}\n`, () => process.exit(1));
});
