// The Azure deployment package as one esbuild bundle: every entry point the worker would load
// (package.json `main`, in the worker's order) in a single CommonJS file, next to host.json and
// config/, with a package.json whose `main` is that file. `npm run build:bundle` writes it to
// deploy/api, which azure.yaml deploys; the startup benchmark builds it into a temporary folder.
//
// Layout, and why:
//   package.json                       main: the bundle; dependencies: only the shipped externals
//   package-lock.json                  those externals, pinned as in the app's own lockfile
//   host.json, config/                 read at run time, as in the tsc layout
//   dist/bundle/functions/index.js     three folders deep, because src/shared/app-paths.ts finds
//                                      config/ three levels above its own file — which, once
//                                      bundled, is this file
//   dist/bundle/functions/proto/       @azure/functions-extensions-servicebus loads its gRPC
//                                      contract from <its file's folder>/proto at run time
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { build, type Message } from 'esbuild';
import { globSync } from 'tinyglobby';
import { lockSubset, readLockfile } from './deployment-package';

/** What stays out of the bundle, and why. `ship`: installed beside it (by the remote build) because Azure needs it. */
export const BUNDLE_EXTERNALS: readonly { name: string; ship: boolean; why: string }[] = [
  { name: '@azure/functions-core', ship: false, why: 'the Functions Node.js worker provides it at run time' },
  { name: 'better-sqlite3', ship: false, why: 'native addon of the embedded host; only the embedded adapters load it, never in Azure' },
  {
    name: '@azure/core-tracing',
    ship: true,
    why: "Application Insights instruments the Azure SDKs by hooking require('@azure/core-tracing'); bundled, Cosmos DB, Service Bus and Event Hubs calls would drop out of the traces",
  },
];

export const BUNDLE_MAIN = 'dist/bundle/functions/index.js';

export interface FunctionsBundle {
  /** The deployable folder. */
  dir: string;
  /** Absolute path of the bundle file. */
  file: string;
  /** The app's entry points, in the order the bundle runs them (relative to the app). */
  entryPoints: string[];
  /** Source files esbuild put into the bundle. */
  modulesBundled: number;
  bundleBytes: number;
  /** Lock paths of the packages installed beside the bundle. */
  shipped: string[];
  warnings: string[];
  buildMs: number;
}

export interface BundleOptions {
  /** The app: package.json (main), host.json, config/, the tsc output (npm run build). */
  appDir: string;
  /** Emptied first. Must not be the app folder or contain it. */
  outDir: string;
  minify?: boolean;
}

/** The files the Node.js worker loads for package.json `main` (a glob), in its order. */
export function entryPointsOf(appDir: string): string[] {
  const pkg = JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8')) as { main?: string };
  if (!pkg.main) throw new Error(`${join(appDir, 'package.json')} has no "main"`);
  const files = globSync(pkg.main, { cwd: appDir }).sort();
  if (files.length === 0) throw new Error(`No file matches "main": "${pkg.main}" in ${appDir} (run npm run build first)`);
  return files;
}

export async function buildFunctionsBundle(options: BundleOptions): Promise<FunctionsBundle> {
  const started = performance.now();
  const appDir = resolve(options.appDir);
  const outDir = resolve(options.outDir);
  if (outDir === appDir || !relative(outDir, appDir).startsWith('..')) throw new Error(`The bundle folder ${outDir} would contain the app: choose another`);
  const entryPoints = entryPointsOf(appDir);
  rmSync(outDir, { recursive: true, force: true });
  const file = join(outDir, BUNDLE_MAIN);

  // One entry that requires each entry point in the worker's order, so registrations happen in
  // the same order; bundling the tsc output keeps the code identical to what tests ran.
  const result = await build({
    stdin: { contents: entryPoints.map((f) => `require(${JSON.stringify(`./${f.split(sep).join('/')}`)});`).join('\n'), resolveDir: appDir, sourcefile: 'entry-points.js', loader: 'js' },
    absWorkingDir: appDir,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile: file,
    external: BUNDLE_EXTERNALS.map((e) => e.name),
    minify: options.minify ?? false,
    metafile: true,
    logLevel: 'silent',
  });

  copyRuntimeAssets(appDir, outDir, dirname(file));
  const pkg = JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8')) as { name: string; version: string; description?: string; engines?: Record<string, string>; license?: string };
  const shippedNames = BUNDLE_EXTERNALS.filter((e) => e.ship).map((e) => e.name);
  const { dependencies, lockfile } = lockSubset(readLockfile(appDir), { name: pkg.name, version: pkg.version }, shippedNames);
  // No scripts: a remote build (Oryx) runs `npm install` and would run `npm run build` if there were one.
  const deployedPkg = { name: pkg.name, version: pkg.version, description: pkg.description, private: true, license: pkg.license, main: BUNDLE_MAIN, engines: pkg.engines, dependencies };
  writeFileSync(join(outDir, 'package.json'), `${JSON.stringify(deployedPkg, null, 2)}\n`);
  writeFileSync(join(outDir, 'package-lock.json'), `${JSON.stringify(lockfile, null, 2)}\n`);

  return {
    dir: outDir,
    file,
    entryPoints,
    modulesBundled: Object.keys(result.metafile.inputs).length,
    bundleBytes: statSync(file).size,
    shipped: Object.keys(lockfile.packages).filter((p) => p !== ''),
    warnings: result.warnings.map(formatMessage),
    buildMs: performance.now() - started,
  };
}

/** host.json and config/ as the app reads them; the Service Bus extension's gRPC contract where its bundled code looks. */
function copyRuntimeAssets(appDir: string, outDir: string, bundleDir: string): void {
  mkdirSync(outDir, { recursive: true });
  cpSync(join(appDir, 'host.json'), join(outDir, 'host.json'));
  cpSync(join(appDir, 'config'), join(outDir, 'config'), { recursive: true });
  const extension = dirname(require.resolve('@azure/functions-extensions-servicebus/package.json', { paths: [appDir] }));
  const proto = join(extension, 'dist', 'proto');
  if (!existsSync(join(proto, 'settlement.proto'))) throw new Error(`@azure/functions-extensions-servicebus has no dist/proto/settlement.proto any more: check where its code loads it from`);
  cpSync(proto, join(bundleDir, 'proto'), { recursive: true });
}

function formatMessage(m: Message): string {
  return m.location ? `${m.location.file}:${m.location.line}: ${m.text}` : m.text;
}
