// Keys for running the app on one machine, the embedded host's counterpart of the Key Vault
// secrets in Azure. On first start they are generated (crypto.randomBytes) into dev-secrets.json
// in the data folder (.data/, git-ignored; mode 0600) and loaded like local settings: a value
// already in the environment wins. A host on an in-memory database gets keys for its lifetime
// only. Nothing here is ever committed, and nothing is printed.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KEY_BYTES } from './key-settings';

export const DEV_SECRETS_FILE = 'dev-secrets.json';

const key = () => randomBytes(KEY_BYTES).toString('base64');

/** Each setting with a generator of a fresh value. */
export const DEV_SECRETS: Record<string, () => string> = {
  MESSAGE_SIGNING_KEYS: () => JSON.stringify({ current: 'dev-1', keys: { 'dev-1': { secret: key() } } }),
  FIELD_ENCRYPTION_KEYS: () => JSON.stringify({ current: 'dev-1', keys: { 'dev-1': key() } }),
};

export interface LoadedDevSecrets {
  /** Settings set in the environment (absent there before). */
  injected: string[];
  /** Where they are kept; undefined for keys that live as long as the process. */
  file?: string;
  /** Takes the injected settings out of the environment again (a host that stops). */
  restore(): void;
}

function readFile(file: string): Record<string, string> {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch {
    throw new Error(`${file} is not valid JSON; delete it to generate new development keys`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || !Object.values(doc).every((v) => typeof v === 'string')) {
    throw new Error(`${file} must be a JSON object of setting name → value; delete it to generate new development keys`);
  }
  return doc as Record<string, string>;
}

/**
 * Sets every development secret the environment lacks: from `<dataDir>/dev-secrets.json`
 * (created, or completed, on first use), or fresh ones when there is no data folder.
 */
export function loadDevSecrets(dataDir: string | undefined, env: NodeJS.ProcessEnv): LoadedDevSecrets {
  const missing = Object.keys(DEV_SECRETS).filter((name) => !env[name]?.trim());
  const values: Record<string, string> = {};
  let file: string | undefined;
  if (missing.length > 0) {
    if (dataDir) {
      file = join(dataDir, DEV_SECRETS_FILE);
      const stored = existsSync(file) ? readFile(file) : {};
      const generated = missing.filter((name) => !stored[name]);
      for (const name of generated) stored[name] = DEV_SECRETS[name]!();
      if (generated.length > 0) {
        mkdirSync(dataDir, { recursive: true, mode: 0o700 });
        writeFileSync(file, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
        chmodSync(file, 0o600); // an existing file keeps its mode on write
      }
      for (const name of missing) values[name] = stored[name]!;
    } else {
      for (const name of missing) values[name] = DEV_SECRETS[name]!();
    }
  }
  for (const [name, value] of Object.entries(values)) env[name] = value;
  return {
    injected: Object.keys(values),
    ...(file ? { file } : {}),
    restore() {
      for (const [name, value] of Object.entries(values)) if (env[name] === value) delete env[name];
    },
  };
}
