// npm run replay -- --projection <name> | --all | --republish [--stream-prefix order-]
//                   [--url http://localhost:7071 --key <function key>]
// Rebuilds read models from the event store (a fresh generation, swapped in when complete), or
// publishes the integration events again, through the app's ops API — the same path in Azure
// and locally — and shows the job's progress. Without --url and with no host answering on
// localhost:7071, it starts the embedded host on the app's data directory for the run.
import { EmbeddedHost } from '@backbone/local-azure/host/host';
import { appRoot } from '../src/shared/app-paths';
import { parseScriptArgs } from './support/cli-args';
import { progress } from './support/progress';

const PROJECTIONS = ['order-summary', 'customer-orders', 'sales-report', 'inventory-availability'];

interface Job {
  phase: string;
  done: number;
  total: number;
  generation?: number;
  result?: Record<string, unknown>;
  error?: string;
}

async function healthy(base: string): Promise<boolean> {
  try {
    return (await fetch(`${base}/api/health`, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

async function runJob(base: string, headers: Record<string, string>, label: string, start: () => Promise<Response>): Promise<Job> {
  const res = await start();
  const body = (await res.json()) as { job?: string; error?: { message: string } };
  if (res.status !== 202 || !body.job) throw new Error(`${label}: ${res.status} ${body.error?.message ?? JSON.stringify(body)}`);
  const bar = progress(label, 1);
  const startedAt = Date.now();
  try {
    for (;;) {
      await new Promise((r) => setTimeout(r, 200));
      const r = await fetch(`${base}/api/ops/jobs/${encodeURIComponent(body.job)}`, { headers });
      if (r.status === 404) continue; // not picked up yet
      const job = (await r.json()) as Job & { startedAt: string };
      if (Date.parse(job.startedAt) < startedAt - 5_000 && job.phase === 'completed') continue; // an earlier run's record
      bar.update(job.done, Math.max(job.total, 1), job.phase);
      if (job.phase === 'completed') return job;
      if (job.phase === 'failed') throw new Error(`${label} failed: ${job.error}`);
    }
  } finally {
    bar.stop();
  }
}

async function main(): Promise<void> {
  const { values } = parseScriptArgs('npm run replay -- --projection <name> | --all | --republish [--stream-prefix order-] [--url http://localhost:7071 --key <function key>]', {
    options: {
      projection: { type: 'string', multiple: true },
      all: { type: 'boolean' },
      republish: { type: 'boolean' },
      'stream-prefix': { type: 'string', multiple: true },
      url: { type: 'string' },
      key: { type: 'string' },
    },
  });
  const projections = values.all ? PROJECTIONS : (values.projection ?? []);
  if (projections.length === 0 && !values.republish) {
    console.error(`Name what to replay: --projection <${PROJECTIONS.join('|')}> (repeatable), --all, or --republish.`);
    process.exitCode = 2;
    return;
  }
  let base = (values.url ?? 'http://localhost:7071').replace(/\/+$/, '');
  let host: EmbeddedHost | undefined;
  if (!(await healthy(base))) {
    if (values.url) throw new Error(`No healthy host at ${base}`);
    console.log('No host on localhost:7071 — starting the embedded host for this run.');
    host = await EmbeddedHost.start({ appDir: appRoot(), port: 0, logWriter: () => undefined });
    base = host.baseUrl;
  }
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(values.key ? { 'x-functions-key': values.key } : {}) };
  try {
    for (const name of projections) {
      const job = await runJob(base, headers, name, () => fetch(`${base}/api/ops/projections/${encodeURIComponent(name)}/rebuild`, { method: 'POST', headers }));
      const r = job.result as { generation: number; previousGeneration: number; streams: number; events: number; removedDocuments: number; durationMs: number };
      console.log(`${name}: generation ${r.generation} (was ${r.previousGeneration}) from ${r.streams} streams, ${r.events} events; ${r.removedDocuments} old documents removed; ${r.durationMs} ms`);
    }
    if (values.republish) {
      const prefixes = values['stream-prefix'];
      const job = await runJob(base, headers, 'republish', () =>
        fetch(`${base}/api/ops/integration-events/republish`, { method: 'POST', headers, body: JSON.stringify(prefixes ? { streamPrefixes: prefixes } : {}) }),
      );
      const r = job.result as { streams: number; events: number; durationMs: number };
      console.log(`integration events: ${r.events} published again from ${r.streams} streams in ${r.durationMs} ms`);
    }
  } finally {
    await host?.stop();
  }
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exitCode = 1;
});
