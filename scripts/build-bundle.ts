// npm run build:bundle [-- --out deploy/api]
// Writes the Azure deployment package: the app's entry points bundled by esbuild into one file,
// with host.json, config/ and a package.json that installs only what must stay external (see
// scripts/support/functions-bundle.ts). azure.yaml deploys deploy/api and runs this first (a
// prepackage hook). npm run bench:startup shows what it changes in cold start and package size.
import { join, relative, resolve } from 'node:path';
import { appRoot } from '../src/shared/app-paths';
import { parseScriptArgs } from './support/cli-args';
import { tallyFiles, tallyPackages, zippedFiles } from './support/deployment-package';
import { BUNDLE_EXTERNALS, buildFunctionsBundle } from './support/functions-bundle';

async function main(): Promise<void> {
  const { values } = parseScriptArgs('npm run build:bundle [-- --out deploy/api]', { options: { out: { type: 'string', default: join('deploy', 'api') } } });
  const root = appRoot();
  const bundle = await buildFunctionsBundle({ appDir: root, outDir: resolve(root, values.out!) });
  const folder = tallyFiles(bundle.dir, zippedFiles(bundle.dir));
  const installed = tallyPackages(root, bundle.shipped);
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
  console.log(
    `${relative(root, bundle.dir) || '.'}: ${bundle.entryPoints.length} entry points, ${bundle.modulesBundled.toLocaleString('en-US')} source files → ${relative(bundle.dir, bundle.file)} (${mb(bundle.bundleBytes)}) in ${Math.round(bundle.buildMs)} ms`,
  );
  console.log(`package: ${folder.files} files, ${mb(folder.bytes)}; the remote build installs ${bundle.shipped.join(', ')} (${installed.files} files, ${mb(installed.bytes)})`);
  for (const e of BUNDLE_EXTERNALS) console.log(`  external ${e.name}${e.ship ? ' (installed beside the bundle)' : ''}: ${e.why}`);
  for (const w of bundle.warnings) console.warn(`esbuild: ${w}`);
}

main().catch((error: Error) => {
  console.error(`build:bundle failed: ${error.message}`);
  process.exit(1);
});
