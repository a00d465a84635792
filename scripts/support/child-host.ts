// The embedded host as a separate process (`node packages/local-azure/dist/src/cli.js`), for tests that kill
// it: SIGKILL leaves no chance to flush anything, so what survives is what was durable. Used by
// the crash tests and by `npm run chaos`.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { appRoot } from '../../src/shared/app-paths';

export class ChildHost {
  private constructor(
    readonly process: ChildProcess,
    readonly baseUrl: string,
    readonly exited: Promise<number | null>,
    private readonly errorOutput: () => string,
    /** The AMQP endpoint's connection string (Service Bus and Event Hubs), when the host serves one. */
    readonly amqpConnectionString?: string,
  ) {}

  /** What the host wrote on stderr so far (its warnings and errors). */
  get stderr(): string {
    return this.errorOutput();
  }

  /**
   * Starts the host on a free port (its AMQP endpoint too, unless `env` says otherwise: a test host
   * never takes 5672 from a developer's `npm start`); every stdout line is appended to `lines`
   * (across restarts).
   */
  static async start(dataDir: string, lines: string[], env: Record<string, string> = {}, port = 0): Promise<ChildHost> {
    const root = appRoot();
    const childEnv: NodeJS.ProcessEnv = { ...process.env, LOCAL_AZURE_AMQP_PORT: '0', ...env };
    const child = spawn(process.execPath, [join(root, 'packages', 'local-azure', 'dist', 'src', 'cli.js'), '--port', String(port), '--data-dir', dataDir], {
      cwd: root,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let buffered = '';
    let stderr = '';
    let amqp: string | undefined;
    const sdkConnections: string[] = [];
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const baseUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the host did not start in 20 s:\n${buffered}\n${stderr}`)), 20_000);
      child.stdout!.on('data', (d: Buffer) => {
        buffered += d.toString();
        const parts = buffered.split('\n');
        buffered = parts.pop()!;
        for (const line of parts) {
          lines.push(line);
          amqp ??= /Service Bus \(AMQP 1\.0\): (Endpoint=sb:\/\/localhost:\d+;\S+)/.exec(line)?.[1];
          const pointed = /SDK mode: (\w+) → /.exec(line)?.[1];
          if (pointed) sdkConnections.push(pointed);
          const m = /health: \[GET\] (http:\/\/[^/]+)\/api\/health/.exec(line);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        }
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`the host exited with ${code} before it started:\n${stderr}`));
      });
    });
    assert.match(baseUrl, /^http:\/\/localhost:\d+$/);
    // A run meant for SDK mode (jest's sdk-mode project, npm run load -- --sdk) that did not get it would prove nothing.
    if (childEnv.LOCAL_AZURE_SDK_MODE === 'true') assert.deepEqual(sdkConnections.sort(), ['CosmosConnection', 'EventHubConnection', 'ServiceBusConnection'], 'the host did not start in SDK mode');
    const workers = Number(childEnv.FUNCTIONS_WORKER_PROCESS_COUNT ?? 1);
    if (workers > 1)
      assert.ok(
        lines.some((l) => l.includes(`${workers} worker processes, pids`)),
        `the host did not start ${workers} worker processes`,
      );
    return new ChildHost(child, baseUrl, exited, () => stderr, amqp);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    this.process.kill(signal);
    await this.exited;
  }
}
