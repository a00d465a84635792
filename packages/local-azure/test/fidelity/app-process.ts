// A function app started as a user starts one: `npm start -- --app <folder>` (the embedded host's
// CLI in a process of its own), on a free port, with a fresh data folder; stopped with SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The package's folder (these tests run from dist/test/fidelity). */
export const packageRoot = resolve(__dirname, '..', '..', '..');

export interface AppProcess {
  baseUrl: string;
  dataDir: string;
  output: () => string;
  /** SIGTERM, and the data folder goes (unless it was given). */
  stop: () => Promise<void>;
  /** SIGKILL: the host gets no chance to finish anything; the data folder stays. */
  kill: () => Promise<void>;
}

/** Starts the app; given `dataDir` (a killed host's), it starts on that data. */
export async function startApp(appDir: string, options: { dataDir?: string; env?: Record<string, string>; args?: string[] } = {}): Promise<AppProcess> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'fidelity-'));
  const child: ChildProcess = spawn(process.execPath, [join(packageRoot, 'dist', 'src', 'cli.js'), '--app', appDir, '--port', '0', '--data-dir', dataDir, ...(options.args ?? [])], {
    cwd: appDir,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the app did not start in 20 s:\n${out}`)), 20_000);
    const check = () => {
      // The host's last start-up line names the dashboard at the base URL.
      const m = /Operations dashboard: (http:\/\/localhost:\d+)\//.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', check);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the app exited before it started:\n${out}`));
    });
  });
  return {
    baseUrl,
    dataDir,
    output: () => out,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Polls a Durable status URL (as the check-status response gave it) until the instance has ended. */
export async function untilEnded(statusQueryGetUri: string, timeoutMs = 20_000): Promise<{ runtimeStatus: string; output: unknown; input: unknown }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(statusQueryGetUri);
    const status = (await res.json()) as { runtimeStatus: string; output: unknown; input: unknown };
    if (!['Pending', 'Running', 'ContinuedAsNew'].includes(status.runtimeStatus)) return status;
    if (Date.now() > deadline) throw new Error(`still ${status.runtimeStatus} after ${timeoutMs} ms: ${JSON.stringify(status)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
