// Development keys: generated once into the data folder (owner-only), reused after a restart,
// never over a value the environment sets, and taken out of the environment when the host stops.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEV_SECRETS_FILE, loadDevSecrets } from '../../src/security/dev-secrets';
import { parseEncryptionKeys, parseSigningKeys } from '../../src/security/key-settings';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'dev-secrets-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('the first start generates valid keys into dev-secrets.json, readable by its owner only', () => {
  const env: NodeJS.ProcessEnv = {};
  const loaded = loadDevSecrets(join(dir, 'data'), env);
  expect(loaded.injected.sort()).toEqual(['FIELD_ENCRYPTION_KEYS', 'MESSAGE_SIGNING_KEYS']);
  expect(loaded.file).toBe(join(dir, 'data', DEV_SECRETS_FILE));
  expect(statSync(loaded.file!).mode & 0o777).toBe(0o600);
  expect(() => parseSigningKeys(env.MESSAGE_SIGNING_KEYS)).not.toThrow();
  expect(() => parseEncryptionKeys(env.FIELD_ENCRYPTION_KEYS)).not.toThrow();
  expect(JSON.parse(readFileSync(loaded.file!, 'utf8'))).toEqual({ MESSAGE_SIGNING_KEYS: env.MESSAGE_SIGNING_KEYS, FIELD_ENCRYPTION_KEYS: env.FIELD_ENCRYPTION_KEYS });
});

test('a restart on the same data folder gets the same keys; another folder gets others', () => {
  const first: NodeJS.ProcessEnv = {};
  loadDevSecrets(dir, first);
  const again: NodeJS.ProcessEnv = {};
  loadDevSecrets(dir, again);
  expect(again).toEqual(first);
  const other: NodeJS.ProcessEnv = {};
  loadDevSecrets(join(dir, 'other'), other);
  expect(other.MESSAGE_SIGNING_KEYS).not.toBe(first.MESSAGE_SIGNING_KEYS);
});

test('the environment wins; restore takes out only what was put in', () => {
  const env: NodeJS.ProcessEnv = { MESSAGE_SIGNING_KEYS: 'from the environment' };
  const loaded = loadDevSecrets(dir, env);
  expect(loaded.injected).toEqual(['FIELD_ENCRYPTION_KEYS']);
  expect(env.MESSAGE_SIGNING_KEYS).toBe('from the environment');
  loaded.restore();
  expect(env).toEqual({ MESSAGE_SIGNING_KEYS: 'from the environment' });
});

test('without a data folder (an in-memory database) the keys live as long as the process, on no disk', () => {
  const env: NodeJS.ProcessEnv = {};
  const loaded = loadDevSecrets(undefined, env);
  expect(loaded.file).toBeUndefined();
  expect(() => parseSigningKeys(env.MESSAGE_SIGNING_KEYS)).not.toThrow();
  const other: NodeJS.ProcessEnv = {};
  loadDevSecrets(undefined, other);
  expect(other.FIELD_ENCRYPTION_KEYS).not.toBe(env.FIELD_ENCRYPTION_KEYS);
});
