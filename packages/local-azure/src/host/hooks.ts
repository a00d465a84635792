// The hooks an app hands the host (@backbone/azure-model's LocalAzureHooks): the module its
// package.json names under "localAzure": { "hooks": "<path>" }, relative to the app's folder.
// An app without one gets none — the host then asks nothing of it, as `func start` does not.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LocalAzureHooks } from '@backbone/azure-model/local-runtime';

export function loadHooks(appDir: string): LocalAzureHooks {
  const manifest = join(appDir, 'package.json');
  if (!existsSync(manifest)) return {};
  const declared = (JSON.parse(readFileSync(manifest, 'utf8')) as { localAzure?: { hooks?: unknown } }).localAzure?.hooks;
  if (declared === undefined) return {};
  if (typeof declared !== 'string' || !declared) throw new Error(`${manifest}: "localAzure.hooks" must name a module`);
  const file = resolve(appDir, declared);
  if (!existsSync(file)) throw new Error(`${manifest}: the hooks module ${declared} does not exist (is the app built?)`);
  const loaded = require(file) as { hooks?: LocalAzureHooks } & LocalAzureHooks;
  return loaded.hooks ?? loaded;
}
