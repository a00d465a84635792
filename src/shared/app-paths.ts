// Where the app's config/ folder is: next to package.json, both in the repo and in the zip
// deployed to Azure (dist/src/shared/.. /../.. = the app root). CONFIG_DIR overrides it.
import { join, resolve } from 'node:path';

export function appRoot(): string {
  return resolve(__dirname, '..', '..', '..');
}

export function configDir(): string {
  return process.env.CONFIG_DIR ? resolve(process.env.CONFIG_DIR) : join(appRoot(), 'config');
}
