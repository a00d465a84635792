// npm run api-key -- --name <caller> --roles <role,role>
// A new API key for a caller of the HTTP API: prints the key (hand it to the caller, once) and the
// API_KEYS entry that stores only its SHA-256 (docs/security.md). Keys are 32 random bytes,
// base64url: long enough that an unsalted hash of one cannot be guessed back.
import { randomBytes } from 'node:crypto';
import { hashApiKey, parseApiKeys, ROLES } from '../src/security/identity';
import { parseScriptArgs, usageFailure } from './support/cli-args';

const USAGE = `npm run api-key -- --name <caller> --roles <${ROLES.join('|')}>[,…]`;

function main(): void {
  const { values } = parseScriptArgs(USAGE, { options: { name: { type: 'string' }, roles: { type: 'string' } } });
  if (!values.name || !values.roles) usageFailure(`--name and --roles are required (usage: ${USAGE})`);
  const key = randomBytes(32).toString('base64url');
  const entry = {
    name: values.name,
    sha256: hashApiKey(key),
    roles: values.roles
      .split(',')
      .map((r) => r.trim())
      .filter(Boolean),
  };
  parseApiKeys(JSON.stringify([entry])); // the same checks the app makes: a bad name or role fails here
  process.stdout.write(`Key for ${entry.name} (shown once; give it to the caller, keep it out of the repo):\n\n  ${key}\n\nAdd to the API_KEYS list:\n\n  ${JSON.stringify(entry)}\n`);
}

try {
  main();
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
}
