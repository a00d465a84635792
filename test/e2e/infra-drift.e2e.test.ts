// The drift test: infra/ declares exactly what the app uses — every queue, topic, subscription,
// rule, container and event hub of config/ with matching properties, every app setting the code
// reads in Azure, identity-based connections only — read from the .bicep files themselves.
// Two broken copies of infra/ (a queue deleted, an app setting deleted) must fail it.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseBicep, toPlain } from '../../src/infra/bicep';
import { checkDrift, KEY_VAULT_REFERENCE, type BindingInfo } from '../../src/infra/drift';
import { startHost, type RunningHost } from '../support/host';
import { repoRoot } from '../support/messaging-harness';

let running: RunningHost;
let bindings: BindingInfo[];
let dir: string;
beforeAll(async () => {
  running = await startHost(repoRoot);
  bindings = running.host.functions.flatMap((f) => Object.values(f.bindings).map((b) => ({ ...(b as Record<string, unknown>), function: f.name }) as BindingInfo));
  dir = mkdtempSync(join(tmpdir(), 'drift-'));
});
afterAll(async () => {
  await running.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A copy of infra/ with one edit, for the broken fixtures. */
function brokenInfra(name: string, file: string, edit: (text: string) => string): string {
  const copy = join(dir, name);
  cpSync(join(repoRoot, 'infra'), copy, { recursive: true });
  const path = join(copy, file);
  const before = readFileSync(path, 'utf8');
  const after = edit(before);
  expect(after).not.toBe(before); // the edit took
  writeFileSync(path, after);
  return copy;
}

/** Removes the `{ … }` item of a Bicep array whose `name:` line matches. */
function removeItem(text: string, name: string): string {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.trim() === `name: '${name}'`);
  let start = at;
  while (lines[start]!.trim() !== '{') start--;
  let end = at;
  let depth = 0;
  for (let i = start; i < lines.length; i++) {
    depth += (lines[i]!.match(/\{/g) ?? []).length - (lines[i]!.match(/\}/g) ?? []).length;
    if (depth === 0) {
      end = i;
      break;
    }
  }
  return [...lines.slice(0, start), ...lines.slice(end + 1)].join('\n');
}

test('infra/ agrees with the app: entities, settings, identity-only access, pinned modules', () => {
  expect(checkDrift({ root: repoRoot, bindings })).toEqual([]);
});

test('a fixture with a queue missing from the Bicep fails it', () => {
  const infraDir = brokenInfra('missing-queue', 'modules/messaging.bicep', (t) => removeItem(t, 'archive'));
  expect(checkDrift({ root: repoRoot, infraDir, bindings })).toContain("infra/modules/messaging.bicep: queue 'archive' is in config/ but not in infra/");
});

test('a fixture with an app setting missing fails it', () => {
  const infraDir = brokenInfra('missing-setting', 'app/api.bicep', (t) => t.replace(/^\s*DurableTaskHubName: taskHubName\n/m, ''));
  expect(checkDrift({ root: repoRoot, infraDir, bindings })).toEqual([expect.stringMatching(/^infra\/app\/api\.bicep: app setting 'DurableTaskHubName' is missing/)]);
});

test('drift the other way, and in properties, is caught too', () => {
  const infraDir = brokenInfra('drifted', 'modules/messaging.bicep', (t) =>
    t.replace("name: 'order-commands'\n    lockDuration: 'PT1M'\n    maxDeliveryCount: 10", "name: 'order-commands'\n    lockDuration: 'PT1M'\n    maxDeliveryCount: 3").replace(/requiresSession: true\n  \}\n  \{\n    name: 'ops-jobs'/, "requiresSession: false\n  }\n  {\n    name: 'ops-jobs'"),
  );
  const problems = checkDrift({ root: repoRoot, infraDir, bindings });
  expect(problems).toEqual(
    expect.arrayContaining([
      "infra/modules/messaging.bicep: queue 'order-commands'.maxDeliveryCount: config/ says 10, infra/ says 3",
      "infra/modules/messaging.bicep: queue 'order-commands'.requiresSession: config/ says true, infra/ says false",
    ]),
  );
  const extra = brokenInfra('extra', 'app/api.bicep', (t) => t.replace('  DurableTaskHubName: taskHubName\n', "  DurableTaskHubName: taskHubName\n  LEGACY_FEATURE_FLAG: 'on'\n  FUNCTIONS_WORKER_RUNTIME: 'node'\n"));
  expect(checkDrift({ root: repoRoot, infraDir: extra, bindings })).toEqual([
    "infra/app/api.bicep: app setting 'LEGACY_FEATURE_FLAG' is not one the app reads (src/config/app-settings.ts)",
    "infra/app/api.bicep: app setting 'FUNCTIONS_WORKER_RUNTIME' is local-only and must not be set in Azure",
  ]);
});

test('a key, a connection string or an unpinned module in infra/ fails it', () => {
  const keyed = brokenInfra('keyed', 'app/api.bicep', (t) =>
    t.replace("  COSMOS_DATABASE_NAME: cosmosDatabaseName\n", "  COSMOS_DATABASE_NAME: cosmosDatabaseName\n  CosmosConnection: 'AccountEndpoint=https://x;AccountKey=abc=='\n"),
  );
  expect(checkDrift({ root: repoRoot, infraDir: keyed, bindings })).toEqual(
    expect.arrayContaining([expect.stringMatching(/api\.bicep: an account key$/), expect.stringMatching(/app setting 'CosmosConnection' is local-only/)]),
  );
  const unpinned = brokenInfra('unpinned', 'modules/monitoring.bicep', (t) => t.replace('avm/res/insights/component:0.6.0', 'avm/res/insights/component:latest'));
  expect(checkDrift({ root: repoRoot, infraDir: unpinned, bindings })).toEqual([expect.stringMatching(/module avm\/res\/insights\/component is not pinned/)]);
  const sas = brokenInfra('sas', 'modules/messaging.bicep', (t) => t.replace('disableLocalAuth: true', 'disableLocalAuth: false'));
  expect(checkDrift({ root: repoRoot, infraDir: sas, bindings })).toEqual(['infra/modules/messaging.bicep: namespace must set disableLocalAuth: true']);
});

test('key material is a Key Vault reference resolved with the app identity; a literal secret fails it', () => {
  const settings = toPlain(parseBicep(readFileSync(join(repoRoot, 'infra', 'app', 'api.bicep'), 'utf8'), 'api.bicep').find((d) => d.name === 'appSettings')!.value) as Record<string, string>;
  for (const name of ['MESSAGE_SIGNING_KEYS', 'FIELD_ENCRYPTION_KEYS', 'API_KEYS']) expect(settings[name]).toMatch(KEY_VAULT_REFERENCE);

  const literal = brokenInfra('literal-secret', 'app/api.bicep', (t) =>
    t.replace(/MESSAGE_SIGNING_KEYS: '@Microsoft\.KeyVault\([^']*\)'/, `MESSAGE_SIGNING_KEYS: '{"current":"k1","keys":{"k1":{"secret":"${'A'.repeat(43)}="}}}'`),
  );
  expect(checkDrift({ root: repoRoot, infraDir: literal, bindings })).toEqual([
    expect.stringMatching(/^infra\/app\/api\.bicep: app setting 'MESSAGE_SIGNING_KEYS' holds key material: it must be a Key Vault reference/),
    expect.stringMatching(/^infra\/app\/api\.bicep: an app setting looks like a secret/),
  ]);
  const noIdentity = brokenInfra('kv-no-identity', 'app/api.bicep', (t) => t.replace(/^\s*keyVaultAccessIdentityResourceId: identityId\n/m, ''));
  expect(checkDrift({ root: repoRoot, infraDir: noIdentity, bindings })).toEqual([expect.stringMatching(/keyVaultAccessIdentityResourceId must name the user-assigned identity/)]);
  const purgeable = brokenInfra('kv-purgeable', 'modules/keyvault.bicep', (t) => t.replace('enablePurgeProtection: true', 'enablePurgeProtection: false'));
  expect(checkDrift({ root: repoRoot, infraDir: purgeable, bindings })).toEqual(['infra/modules/keyvault.bicep: vault must set enablePurgeProtection: true']);
});

test('Bicep the reader cannot follow fails loudly, naming the file and line', () => {
  expect(() => parseBicep("param x string\nvar y = {\n  a: 'unterminated\n}\n", 'infra/broken.bicep')).toThrow(/^infra\/broken\.bicep:3: /);
  expect(() => parseBicep('var y = {\n  a: 1\n  a: 2\n}\n', 'infra/dup.bicep')).toThrow(/property 'a' appears twice/);
});
