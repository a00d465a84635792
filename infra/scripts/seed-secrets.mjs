// Reads `azd env get-values --output json` on stdin and makes sure the Key Vault holds the secrets
// the app settings reference — generating each one (crypto.randomBytes) only if it is absent, so
// running it again never replaces a key: a replaced signing key makes in-flight messages
// SignatureInvalid, a replaced encryption key leaves stored values undecryptable. Values go to
// `az keyvault secret set` through a file readable by this user only, never through arguments
// (visible to other processes) or output. Rotation is a deliberate step (README, Security).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const env = JSON.parse(readFileSync(0, 'utf8'));
const vault = env.KEY_VAULT_NAME;
if (!vault) throw new Error('azd env has no KEY_VAULT_NAME: run azd provision first');

const key = () => randomBytes(32).toString('base64');
const SECRETS = {
  'message-signing-keys': () => JSON.stringify({ current: 'k1', keys: { k1: { secret: key() } } }),
  'field-encryption-keys': () => JSON.stringify({ current: 'k1', keys: { k1: key() } }),
  // A JSON list of { name, sha256, roles } (src/security/identity.ts): empty, the API is closed until keys are added.
  'api-keys': () => JSON.stringify([]),
};

function az(args) {
  const r = spawnSync('az', args, { encoding: 'utf8', shell: process.platform === 'win32' });
  if (r.error) throw new Error(`az could not run (${r.error.message}); install the Azure CLI and az login`);
  return r;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** true / false, retrying while a fresh role assignment propagates (Forbidden for a few minutes). */
async function exists(name) {
  for (let attempt = 1; ; attempt++) {
    const r = az(['keyvault', 'secret', 'show', '--vault-name', vault, '--name', name, '--query', 'name', '--output', 'tsv']);
    if (r.status === 0) return true;
    if (/SecretNotFound|was not found/i.test(r.stderr)) return false;
    if (/Forbidden|not authorized|does not have secrets get permission/i.test(r.stderr) && attempt < 20) {
      await sleep(15_000);
      continue;
    }
    throw new Error(`Reading ${name} from ${vault} failed: ${r.stderr.trim()}`);
  }
}

for (const [name, generate] of Object.entries(SECRETS)) {
  if (await exists(name)) {
    console.log(`Key Vault ${vault}: ${name} exists; left as it is.`);
    continue;
  }
  const dir = mkdtempSync(join(tmpdir(), 'seed-'));
  try {
    const file = join(dir, 'value');
    writeFileSync(file, generate(), { mode: 0o600 });
    const r = az(['keyvault', 'secret', 'set', '--vault-name', vault, '--name', name, '--file', file, '--encoding', 'utf-8', '--content-type', 'application/json', '--output', 'none']);
    if (r.status !== 0) {
      const deleted = /deleted but recoverable/i.test(r.stderr) ? ` It was deleted: recover it with az keyvault secret recover --vault-name ${vault} --name ${name}.` : '';
      throw new Error(`Setting ${name} in ${vault} failed: ${r.stderr.trim()}${deleted}`);
    }
    console.log(`Key Vault ${vault}: ${name} generated.`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
