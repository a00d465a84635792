// App settings the way `func start` provides them: local.settings.json Values become
// environment variables unless the environment already has a non-empty value, and binding
// properties may name settings with %Name% expressions.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LocalSettings {
  values: Record<string, string>;
  host: { LocalHttpPort?: number; CORS?: string; CORSCredentials?: boolean };
}

export function loadLocalSettings(appDir: string, env: NodeJS.ProcessEnv, warn: (message: string) => void): LocalSettings {
  const file = join(appDir, 'local.settings.json');
  if (!existsSync(file)) return { values: {}, host: {} };
  let doc: { IsEncrypted?: boolean; Values?: Record<string, unknown>; Host?: LocalSettings['host'] };
  try {
    doc = JSON.parse(readFileSync(file, 'utf8')) as typeof doc;
  } catch (error) {
    throw new Error(`local.settings.json is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (doc.IsEncrypted) throw new Error('local.settings.json is encrypted; the embedded host reads plain settings only.');
  const values: Record<string, string> = {};
  for (const [key, raw] of Object.entries(doc.Values ?? {})) {
    if (!key) {
      warn('Skipping local setting with empty key.');
      continue;
    }
    if (raw === null || raw === undefined) {
      warn(`Skipping '${key}' because value is null`);
      continue;
    }
    const value = typeof raw === 'string' ? raw : JSON.stringify(raw);
    values[key] = value;
    if (env[key]) {
      warn(`Skipping '${key}' from local settings as it's already defined in current environment variables.`);
      continue;
    }
    env[key] = value;
  }
  return { values, host: doc.Host ?? {} };
}

/** Replaces every %Name% with the app setting's value, as the host's name resolver does. */
export function resolveSettingExpression(text: string, env: NodeJS.ProcessEnv): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const start = text.indexOf('%', i);
    if (start < 0) {
      out += text.slice(i);
      break;
    }
    const end = text.indexOf('%', start + 1);
    if (end < 0) throw new Error(`The '%' at position ${start} does not have a closing '%'`);
    out += text.slice(i, start);
    const name = text.slice(start + 1, end);
    const value = env[name];
    if (value === undefined) throw new Error(`'%${name}%' does not resolve to a value.`);
    out += value;
    i = end + 1;
  }
  return out;
}

/** Whether a binding's `connection` names a configured connection (plain or identity-based). */
export function connectionConfigured(connection: string, env: NodeJS.ProcessEnv): boolean {
  const prefix = `${connection}__`;
  return Boolean(env[connection]) || Object.keys(env).some((k) => k.startsWith(prefix) && env[k]);
}
