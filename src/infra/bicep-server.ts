// The Bicep compiler as one long-lived process (`bicep jsonrpc --stdio`, the CLI's JSON-RPC
// interface, stable since Bicep 0.29): a compile and snapshot of infra/ take about 0.7 s once the
// process is warm, against about 6 s of CPU for the two fresh CLI processes of compileInfra — what
// the drift test pays for each of its broken copies of infra/.
//
// Unlike `bicep build --no-restore`, a compilation here restores registry modules (and waits on a
// network that is not there): infra/ with a registry module is for compileInfra, which refuses it at once.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import { BicepCompileError, ensureBicep, formatDiagnostic, SNAPSHOT_DEPLOYMENT, type BicepDiagnostic, type CompiledInfra, type PredictedResource, writeSnapshotParams } from './bicep-cli';

/** A finding as the JSON-RPC interface reports it: zero-based line and character. */
interface RpcDiagnostic {
  source: string;
  range: { start: { line: number; char: number } };
  level: string;
  code: string;
  message: string;
}

const toDiagnostic = (d: RpcDiagnostic): BicepDiagnostic => ({
  file: d.source,
  line: d.range.start.line + 1,
  column: d.range.start.char + 1,
  level: d.level as BicepDiagnostic['level'],
  code: d.code,
  message: d.message,
});

export class BicepServer {
  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly connection: MessageConnection,
    private readonly stderr: string[],
  ) {}

  static start(root: string): BicepServer {
    const child = spawn(ensureBicep(root), ['jsonrpc', '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const stderr: string[] = [];
    child.stderr.setEncoding('utf8').on('data', (s: string) => stderr.push(s));
    const connection = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
    connection.listen();
    return new BicepServer(child, connection, stderr);
  }

  async #request<T>(method: string, params: unknown): Promise<T> {
    if (this.child.exitCode !== null) throw new Error(`the Bicep JSON-RPC process exited (${this.child.exitCode}): ${this.stderr.join('')}`);
    return this.connection.sendRequest<T>(method, params);
  }

  async version(): Promise<string> {
    return (await this.#request<{ version: string }>('bicep/version', {})).version;
  }

  /**
   * What compileInfra gives, from this process: main.bicep compiled (and every other .bicep file of
   * `infraDir` that main.bicep does not reference, for its findings), main.json written to `outDir`,
   * then the snapshot of the same fixed deployment.
   */
  async compileInfra(infraDir: string, outDir: string): Promise<CompiledInfra> {
    mkdirSync(outDir, { recursive: true });
    const main = join(infraDir, 'main.bicep');
    const compiled = await this.#request<{ success: boolean; diagnostics: RpcDiagnostic[]; contents?: string }>('bicep/compile', { path: main });
    const referenced = new Set((await this.#request<{ filePaths: string[] }>('bicep/getFileReferences', { path: main })).filePaths);
    const seen = new Set<string>();
    const diagnostics: BicepDiagnostic[] = [];
    const collect = (found: RpcDiagnostic[]) => {
      for (const d of found.map(toDiagnostic)) {
        const key = formatDiagnostic(d, infraDir);
        if (seen.has(key)) continue;
        seen.add(key);
        diagnostics.push(d);
      }
    };
    collect(compiled.diagnostics);
    for (const file of bicepFiles(infraDir).filter((f) => !referenced.has(f))) collect((await this.#request<{ diagnostics: RpcDiagnostic[] }>('bicep/compile', { path: file })).diagnostics);
    const errors = diagnostics.filter((d) => d.level === 'Error');
    if (errors.length || !compiled.success || compiled.contents === undefined || compiled.contents === null) {
      throw new BicepCompileError(`bicep build failed:\n${errors.map((d) => formatDiagnostic(d, infraDir)).join('\n') || 'no template emitted'}`, diagnostics);
    }
    const templateText = compiled.contents;
    writeFileSync(join(outDir, 'main.json'), templateText);

    const d = SNAPSHOT_DEPLOYMENT;
    const params = writeSnapshotParams(infraDir, outDir);
    let snapshot: string;
    try {
      const metadata = { tenantId: d.tenantId, subscriptionId: d.subscriptionId, location: d.location, deploymentName: 'drift' };
      snapshot = (await this.#request<{ snapshot: string }>('bicep/getSnapshot', { path: params, metadata })).snapshot;
    } catch (error) {
      throw new BicepCompileError(`bicep snapshot failed:\n${(error as Error).message}`, diagnostics);
    }
    writeFileSync(join(outDir, 'snapshot.snapshot.json'), snapshot);
    const predicted = JSON.parse(snapshot) as { predictedResources: PredictedResource[] };
    return { template: JSON.parse(templateText) as Record<string, unknown>, templateText, resources: predicted.predictedResources, diagnostics, outDir };
  }

  async close(): Promise<void> {
    this.connection.dispose();
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill();
    await exited;
  }
}

function bicepFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? bicepFiles(join(dir, e.name)) : e.name.endsWith('.bicep') ? [join(dir, e.name)] : []));
}
