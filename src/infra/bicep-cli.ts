// The real Bicep compiler, restored from NuGet through tools/bicep/bicep-cli.csproj (the package
// Azure.Bicep.CommandLine.<rid> holds the native binary under tools/). Nothing is fetched from a
// Bicep registry: builds run with --no-restore, so a registry module fails fast instead of
// waiting on a network that is not there.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export const TOOLS_PROJECT = join('tools', 'bicep', 'bicep-cli.csproj');
const PACKAGES = join('.tools', 'nuget');

/** The compiler cannot be had here (no .NET SDK, a platform the package does not cover). */
export class BicepUnavailableError extends Error {
  override name = 'BicepUnavailableError';
}

/** One compiler or linter finding, as the CLI prints it: `file(line,col) : Level CODE: message`. */
export interface BicepDiagnostic {
  file: string;
  line: number;
  column: number;
  level: 'Error' | 'Warning' | 'Info';
  code: string;
  message: string;
}

export interface BicepRun {
  status: number;
  stdout: string;
  diagnostics: BicepDiagnostic[];
  /** What the CLI printed on stderr that is not a diagnostic (e.g. "Failed to generate …"). */
  otherOutput: string[];
}

/** The exact version pinned in the tools project (its only source). */
export function bicepVersion(root: string): string {
  const text = readFileSync(join(root, TOOLS_PROJECT), 'utf8');
  const m = /<BicepVersion>([^<]+)<\/BicepVersion>/.exec(text);
  if (!m) throw new Error(`${TOOLS_PROJECT}: no <BicepVersion>`);
  return m[1]!;
}

/** NuGet's runtime identifier of this machine, as the Bicep CLI packages are named. */
export function bicepRid(): string {
  const arch = process.arch === 'x64' ? 'x64' : process.arch === 'arm64' ? 'arm64' : undefined;
  const os = process.platform === 'linux' ? 'linux' : process.platform === 'darwin' ? 'osx' : process.platform === 'win32' ? 'win' : undefined;
  if (!arch || !os) throw new BicepUnavailableError(`the Bicep CLI has no NuGet package for ${process.platform}/${process.arch}`);
  return `${os}-${arch}`;
}

export function bicepBinary(root: string): string {
  const rid = bicepRid();
  return join(root, PACKAGES, `azure.bicep.commandline.${rid}`, bicepVersion(root), 'tools', process.platform === 'win32' ? 'bicep.exe' : 'bicep');
}

/** The compiler's path, restored from NuGet first if it is not there yet. */
export function ensureBicep(root: string, log: (line: string) => void = () => {}): string {
  const binary = bicepBinary(root);
  if (existsSync(binary)) return binary;
  const dotnet = spawnSync('dotnet', ['--version'], { encoding: 'utf8' });
  if (dotnet.error || dotnet.status !== 0) {
    throw new BicepUnavailableError(
      'the .NET SDK (dotnet) is not on PATH: it restores the Bicep CLI from NuGet (tools/bicep/bicep-cli.csproj). Install the .NET SDK, then run npm run infra:build again.',
    );
  }
  log(`Restoring the Bicep CLI ${bicepVersion(root)} (${bicepRid()}) from NuGet with dotnet ${dotnet.stdout.trim()}…`);
  const restore = spawnSync('dotnet', ['restore', join(root, TOOLS_PROJECT), `-p:BicepRid=${bicepRid()}`, '--packages', join(root, PACKAGES), '--nologo', '--verbosity', 'quiet'], {
    encoding: 'utf8',
  });
  if (restore.status !== 0) throw new BicepUnavailableError(`dotnet restore of ${TOOLS_PROJECT} failed:\n${restore.stdout}${restore.stderr}`);
  if (!existsSync(binary)) throw new BicepUnavailableError(`dotnet restore succeeded but ${relative(root, binary)} is not there`);
  // NuGet extraction does not promise the executable bit.
  if (process.platform !== 'win32') chmodSync(binary, 0o755);
  return binary;
}

const DIAGNOSTIC = /^(.*)\((\d+),(\d+)\) : (Error|Warning|Info) ([^:]+): (.*)$/;

export function parseDiagnostics(stderr: string): { diagnostics: BicepDiagnostic[]; otherOutput: string[] } {
  const diagnostics: BicepDiagnostic[] = [];
  const otherOutput: string[] = [];
  const seen = new Set<string>();
  for (const line of stderr.split(/\r?\n/)) {
    if (!line.trim()) continue;
    const m = DIAGNOSTIC.exec(line);
    if (!m) {
      otherOutput.push(line);
      continue;
    }
    // The CLI prints a module's diagnostics once per file that references it.
    if (seen.has(line)) continue;
    seen.add(line);
    diagnostics.push({ file: m[1]!, line: Number(m[2]), column: Number(m[3]), level: m[4] as BicepDiagnostic['level'], code: m[5]!, message: m[6]! });
  }
  return { diagnostics, otherOutput };
}

export function runBicep(binary: string, args: string[], cwd: string): Promise<BicepRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ status: code ?? 1, stdout: Buffer.concat(out).toString('utf8'), ...parseDiagnostics(Buffer.concat(err).toString('utf8')) }));
  });
}

/** How a diagnostic reads in our output: the file relative to `base`, line and column, code, message. */
export function formatDiagnostic(d: BicepDiagnostic, base: string): string {
  return `${relative(base, d.file) || d.file}:${d.line}:${d.column}: ${d.level} ${d.code}: ${d.message.replace(/ \[https:\/\/aka\.ms\/[^\]]+\]$/, '')}`;
}

/** An ARM resource as `bicep snapshot` predicts it, its expressions evaluated where they can be. */
export interface PredictedResource {
  id: string;
  type: string;
  name: string;
  apiVersion: string;
  location?: string;
  kind?: string;
  sku?: Record<string, unknown>;
  tags?: Record<string, string>;
  identity?: Record<string, unknown>;
  properties?: Record<string, unknown>;
}

export interface CompiledInfra {
  /** infra/main.bicep compiled to ARM JSON (the nested deployments inline every module). */
  template: Record<string, unknown>;
  /** The template's text, as written to the build folder. */
  templateText: string;
  /** Every resource the template deploys, with these parameters, as the compiler evaluates it. */
  resources: PredictedResource[];
  /** Findings of the compiler (errors and warnings) over infra/. */
  diagnostics: BicepDiagnostic[];
  outDir: string;
}

/** The deployment the snapshot evaluates: fixed ids, so names and ids are stable across runs. */
export const SNAPSHOT_DEPLOYMENT = {
  subscriptionId: '00000000-0000-0000-0000-00000000d71f',
  tenantId: '00000000-0000-0000-0000-0000000000aa',
  location: 'westeurope',
  environmentName: 'drift',
  principalId: '00000000-0000-0000-0000-00000000dee0',
} as const;

/** The parameters file `bicep snapshot` evaluates infraDir/main.bicep with (SNAPSHOT_DEPLOYMENT), written to outDir. */
export function writeSnapshotParams(infraDir: string, outDir: string): string {
  const d = SNAPSHOT_DEPLOYMENT;
  const params = join(outDir, 'snapshot.bicepparam');
  const using = relative(outDir, join(infraDir, 'main.bicep')).split('\\').join('/');
  writeFileSync(params, [`using '${using}'`, `param environmentName = '${d.environmentName}'`, `param location = '${d.location}'`, `param principalId = '${d.principalId}'`, ''].join('\n'));
  return params;
}

export class BicepCompileError extends Error {
  override name = 'BicepCompileError';
  constructor(
    message: string,
    readonly diagnostics: BicepDiagnostic[],
  ) {
    super(message);
  }
}

/**
 * Compiles every .bicep under `infraDir` to ARM JSON in `outDir` (main.json and one file per
 * module), then has the compiler evaluate main.json for a fixed deployment (`bicep snapshot`).
 * Throws BicepCompileError naming file and line when the compiler reports an error.
 */
export async function compileInfra(root: string, infraDir: string, outDir: string): Promise<CompiledInfra> {
  const binary = ensureBicep(root);
  mkdirSync(outDir, { recursive: true });
  const build = await runBicep(binary, ['build', '--pattern', '**/*.bicep', '--outdir', outDir, '--no-restore'], infraDir);
  const errors = build.diagnostics.filter((d) => d.level === 'Error');
  if (build.status !== 0 || errors.length) {
    const lines = errors.length ? errors.map((d) => formatDiagnostic(d, infraDir)) : build.otherOutput;
    throw new BicepCompileError(`bicep build failed:\n${lines.join('\n')}`, build.diagnostics);
  }
  const templateFile = join(outDir, 'main.json');
  const templateText = readFileSync(templateFile, 'utf8');

  const d = SNAPSHOT_DEPLOYMENT;
  const params = writeSnapshotParams(infraDir, outDir);
  const snapshot = await runBicep(
    binary,
    ['snapshot', params, '--mode', 'overwrite', '--subscription-id', d.subscriptionId, '--tenant-id', d.tenantId, '--location', d.location, '--deployment-name', 'drift'],
    outDir,
  );
  const snapshotFile = join(outDir, 'snapshot.snapshot.json');
  if (snapshot.status !== 0 || !existsSync(snapshotFile)) {
    throw new BicepCompileError(`bicep snapshot failed:\n${[...snapshot.diagnostics.map((x) => formatDiagnostic(x, infraDir)), ...snapshot.otherOutput].join('\n')}`, snapshot.diagnostics);
  }
  const predicted = JSON.parse(readFileSync(snapshotFile, 'utf8')) as { predictedResources: PredictedResource[]; diagnostics?: unknown[] };
  return { template: JSON.parse(templateText) as Record<string, unknown>, templateText, resources: predicted.predictedResources, diagnostics: build.diagnostics, outDir };
}
