// Loads the app the way the Node.js worker does: every file matching package.json `main`
// (a glob), in order, each registering its functions with @azure/functions.
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { glob } from 'tinyglobby';
import { installCoreModule } from '../worker/install-core-module';
import { workerState } from '../worker/worker-state';

export async function loadEntryPoints(appDir: string): Promise<string[]> {
  const pkgFile = join(appDir, 'package.json');
  if (!existsSync(pkgFile)) throw new Error(`No package.json in ${appDir}`);
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { main?: string; type?: string };
  const pattern = pkg.main;
  if (!pattern) throw new Error('package.json has no "main": set it to the built entry files, e.g. "dist/functions/*.js"');
  const files = (await glob(pattern, { cwd: appDir, absolute: false })).sort();
  if (files.length === 0) {
    throw new Error(`Worker was unable to load entry point "${pattern}": Found zero files matching the supplied pattern (did you run npm run build?)`);
  }
  const loaded: string[] = [];
  for (const file of files) {
    const full = isAbsolute(file) ? file : join(appDir, file);
    workerState.currentEntryPoint = full;
    try {
      if (full.endsWith('.mjs') || (pkg.type === 'module' && full.endsWith('.js'))) {
        await import(pathToFileURL(full).href);
      } else {
        require(full);
      }
      loaded.push(full);
    } catch (error) {
      const e = error as Error;
      e.message = `Worker was unable to load entry point "${file}": ${e.message}`;
      throw e;
    } finally {
      workerState.currentEntryPoint = undefined;
    }
  }
  return loaded;
}

let loadedApp: string | undefined;

/**
 * Loads the app once per process (like a worker process); a second host in the same process
 * (tests) reuses the registrations of the first.
 */
export async function loadApp(appDir: string): Promise<void> {
  installCoreModule();
  if (loadedApp !== undefined) {
    if (loadedApp !== appDir) throw new Error(`This process already loaded the app in ${loadedApp}; one app per process.`);
    return;
  }
  workerState.indexingLocked = false;
  try {
    // Entry points require @azure/functions, whose setup() the real worker calls first.
    (require('@azure/functions') as { setup?: (o: object) => void }).setup?.({});
  } catch {
    // setup() throws if the app called it already; harmless here.
  }
  await loadEntryPoints(appDir);
  workerState.indexingLocked = true;
  loadedApp = appDir;
}
