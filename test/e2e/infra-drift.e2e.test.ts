// The drift test: what the real Bicep compiler makes of infra/ — the compiled ARM template and
// every resource it deploys (bicep snapshot) — is exactly what the app uses: every queue, topic,
// subscription, rule, container, event hub and consumer group of config/ with matching
// properties, every app setting the code reads in Azure, identity-based connections with the data
// roles they need, Key Vault references, secure defaults. Broken copies of infra/ must fail it.
// Without the .NET SDK (which restores the compiler) the suite is skipped with the reason, except
// in CI (CI=true), where it fails.
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BicepCompileError, BicepUnavailableError, compileInfra, ensureBicep, formatDiagnostic, type CompiledInfra } from '../../src/infra/bicep-cli';
import { BicepServer } from '../../src/infra/bicep-server';
import { checkDrift, KEY_VAULT_REFERENCE, type BindingInfo } from '../../src/infra/drift';
import { startHost, type RunningHost } from '../support/host';
import { repoRoot } from '../support/messaging-harness';

function compilerAvailable(): string | undefined {
  try {
    ensureBicep(repoRoot);
    return undefined;
  } catch (error) {
    if (error instanceof BicepUnavailableError) return error.message;
    throw error;
  }
}
const unavailable = compilerAvailable();
const inCi = Boolean(process.env.CI);
if (unavailable && !inCi) console.log(`Infra drift test skipped: ${unavailable}`);
const suite = unavailable && !inCi ? describe.skip : describe;

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

/** Broken copies of infra/: one edit each, compiled like the real one. */
const FIXTURES: Record<string, { file: string; edit: (text: string) => string }> = {
  registry: { file: 'modules/monitoring.bicep', edit: (t) => `${t}\nmodule component 'br/public:avm/res/insights/component:0.6.0' = {\n  name: 'x'\n  params: {\n    name: 'x'\n  }\n}\n` },
  misspelt: { file: 'modules/messaging.bicep', edit: (t) => t.replace('    disableLocalAuth: true\n', '    disableLocalAuht: true\n') },
  syntax: { file: 'modules/eventhubs.bicep', edit: (t) => t.replace("    name: 'Standard'\n", "    name: 'Standard\n") },
  'missing-queue': { file: 'modules/messaging.bicep', edit: (t) => removeItem(t, 'archive') },
  // The setting's name misspelt: a setting removed outright leaves its parameter unused, which the
  // linter (every rule an error) already refuses to compile.
  'missing-setting': { file: 'app/api.bicep', edit: (t) => t.replace('  DurableTaskHubName: taskHubName\n', '  DurableTaskHub: taskHubName\n') },
  drifted: {
    file: 'modules/messaging.bicep',
    edit: (t) =>
      t
        .replace(
          "name: 'order-commands'\n    properties: {\n      lockDuration: 'PT1M'\n      maxDeliveryCount: 10",
          "name: 'order-commands'\n    properties: {\n      lockDuration: 'PT1M'\n      maxDeliveryCount: 3",
        )
        .replace(/requiresSession: true\n {4}\}\n {2}\}\n {2}\{\n {4}name: 'ops-jobs'/, "requiresSession: false\n    }\n  }\n  {\n    name: 'ops-jobs'"),
  },
  extra: {
    file: 'app/api.bicep',
    edit: (t) => t.replace('  DurableTaskHubName: taskHubName\n', "  DurableTaskHubName: taskHubName\n  LEGACY_FEATURE_FLAG: 'on'\n  FUNCTIONS_WORKER_RUNTIME: 'node'\n"),
  },
  keyed: {
    file: 'app/api.bicep',
    edit: (t) => t.replace('  COSMOS_DATABASE_NAME: cosmosDatabaseName\n', "  COSMOS_DATABASE_NAME: cosmosDatabaseName\n  CosmosConnection: 'AccountEndpoint=https://x;AccountKey=abc=='\n"),
  },
  sas: { file: 'modules/messaging.bicep', edit: (t) => t.replace('    disableLocalAuth: true\n', '    disableLocalAuth: false\n') },
  'no-receiver': {
    file: 'app/rbac.bicep',
    edit: (t) => t.replace('[roles.serviceBusDataSender, roles.serviceBusDataReceiver, roles.serviceBusDataOwner]', '[roles.serviceBusDataSender, roles.serviceBusDataOwner]'),
  },
  'literal-secret': {
    file: 'app/api.bicep',
    edit: (t) => t.replace(/MESSAGE_SIGNING_KEYS: '@Microsoft\.KeyVault\([^']*\)'/, `MESSAGE_SIGNING_KEYS: '{"current":"k1","keys":{"k1":{"secret":"${'A'.repeat(43)}="}}}'`),
  },
  'kv-no-identity': { file: 'app/api.bicep', edit: (t) => t.replace(/^\s*keyVaultReferenceIdentity: identityId\n/m, '') },
  'kv-purgeable': { file: 'modules/keyvault.bicep', edit: (t) => t.replace('enablePurgeProtection: true', 'enablePurgeProtection: false') },
};

type Outcome = { infraDir: string; compiled?: CompiledInfra; error?: unknown };

suite('infra/ through the Bicep compiler', () => {
  let running: RunningHost;
  let bindings: BindingInfo[];
  let dir: string;
  const outcomes = new Map<string, Outcome>();
  const compiledOf = (name: string): CompiledInfra => {
    const o = outcomes.get(name)!;
    if (o.error) throw o.error instanceof Error ? o.error : new Error(String(o.error));
    return o.compiled!;
  };
  const driftOf = (name: string) => checkDrift({ root: repoRoot, infraDir: outcomes.get(name)!.infraDir, compiled: compiledOf(name), bindings });

  beforeAll(async () => {
    if (unavailable) throw new Error(`CI=true but the Bicep compiler cannot be had: ${unavailable}`);
    running = await startHost(repoRoot);
    bindings = running.host.functions.flatMap((f) => Object.values(f.bindings).map((b) => ({ ...(b as Record<string, unknown>), function: f.name }) as BindingInfo));
    dir = mkdtempSync(join(tmpdir(), 'drift-'));
    const jobs: [string, string][] = [['real', join(repoRoot, 'infra')]];
    for (const [name, { file, edit }] of Object.entries(FIXTURES)) {
      const copy = join(dir, name, 'infra');
      cpSync(join(repoRoot, 'infra'), copy, { recursive: true });
      const path = join(copy, file);
      const before = readFileSync(path, 'utf8');
      const after = edit(before);
      if (after === before) throw new Error(`fixture ${name}: the edit of ${file} did not take`);
      writeFileSync(path, after);
      jobs.push([name, copy]);
    }
    // One compiler process for infra/ and every fixture (warm, each compile and snapshot takes well
    // under a second); the registry fixture goes through the CLI's `build --no-restore` beside it,
    // as the JSON-RPC interface would try to restore the module from a network that is not there.
    const viaCli = jobs.filter(([name]) => name === 'registry');
    const compile = async ([name, infraDir]: [string, string], how: (infraDir: string, outDir: string) => Promise<CompiledInfra>) => {
      try {
        outcomes.set(name, { infraDir, compiled: await how(infraDir, join(dir, name, 'out')) });
      } catch (error) {
        outcomes.set(name, { infraDir, error });
      }
    };
    const server = BicepServer.start(repoRoot);
    try {
      await Promise.all([
        (async () => {
          for (const job of jobs.filter((j) => !viaCli.includes(j))) await compile(job, (infraDir, outDir) => server.compileInfra(infraDir, outDir));
        })(),
        ...viaCli.map((job) => compile(job, (infraDir, outDir) => compileInfra(repoRoot, infraDir, outDir))),
      ]);
    } finally {
      await server.close();
    }
  }, 180_000);
  afterAll(async () => {
    await running?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('infra/ compiles with no error or warning and agrees with the app: entities, settings, roles, secure defaults', () => {
    const real = compiledOf('real');
    expect(real.diagnostics.map((d) => formatDiagnostic(d, repoRoot))).toEqual([]);
    expect(checkDrift({ root: repoRoot, compiled: real, bindings })).toEqual([]);
    // What the checks read is there: every queue of config/topology.yaml is a resource of its own.
    expect(real.resources.filter((r) => r.type === 'Microsoft.ServiceBus/namespaces/queues').map((r) => r.name.split('/')[1])).toContain('archive');
    expect((real.template as { resources?: unknown }).resources).toBeDefined();
  });

  test('no module comes from a registry: infra/ is compiled from its own files alone', () => {
    const files = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(d, e.name)) : [join(d, e.name)]));
    expect(files(join(repoRoot, 'infra')).filter((f) => /br\/public|br:/.test(readFileSync(f, 'utf8')))).toEqual([]);
    // --no-restore: the compiler refuses the module at once instead of waiting on a network.
    expect(() => compiledOf('registry')).toThrow(/modules\/monitoring\.bicep:\d+:\d+: Error BCP\d+/);
  });

  test('a misspelt property makes the compiler report it with the file and line; a syntax error fails the build', () => {
    const { infraDir } = outcomes.get('misspelt')!;
    const line =
      readFileSync(join(infraDir, 'modules', 'messaging.bicep'), 'utf8')
        .split('\n')
        .findIndex((l) => l.includes('disableLocalAuht')) + 1;
    expect(compiledOf('misspelt').diagnostics.map((d) => formatDiagnostic(d, infraDir))).toEqual([
      expect.stringMatching(new RegExp(`^modules/messaging\\.bicep:${line}:\\d+: Warning BCP\\d+: The property "disableLocalAuht" is not allowed`)),
    ]);
    expect(() => compiledOf('syntax')).toThrow(BicepCompileError);
    expect(() => compiledOf('syntax')).toThrow(/modules\/eventhubs\.bicep:\d+:\d+: Error/);
  });

  test('a fixture with a queue missing from the Bicep fails it', () => {
    expect(driftOf('missing-queue')).toContain("infra: queue 'archive' is in config/ but not in infra/");
  });

  test('a fixture with an app setting missing fails it', () => {
    expect(driftOf('missing-setting')).toEqual([
      expect.stringMatching(/^infra: app setting 'DurableTaskHubName' is missing/),
      "infra: app setting 'DurableTaskHub' is not one the app reads (src/config/app-settings.ts)",
    ]);
  });

  test('drift the other way, and in properties, is caught too', () => {
    expect(driftOf('drifted')).toEqual([
      "infra: queue 'order-commands'.maxDeliveryCount: config/ says 10, infra/ says 3",
      "infra: queue 'order-commands'.requiresSession: config/ says true, infra/ says false",
    ]);
    expect(driftOf('extra')).toEqual([
      "infra: app setting 'LEGACY_FEATURE_FLAG' is not one the app reads (src/config/app-settings.ts)",
      "infra: app setting 'FUNCTIONS_WORKER_RUNTIME' is local-only and must not be set in Azure",
    ]);
  });

  test('a key-based connection or local auth turned on fails it', () => {
    expect(driftOf('keyed')).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^infra: Microsoft\.Web\/sites\/config '.*\/appsettings': an account key$/),
        "infra: app setting 'CosmosConnection' is local-only and must not be set in Azure",
      ]),
    );
    expect(driftOf('sas')).toEqual([
      expect.stringMatching(/^infra: Microsoft\.ServiceBus\/namespaces 'sb-[a-z0-9]+' must set properties\.disableLocalAuth: true \(Service Bus: SAS keys off\); it has false$/),
    ]);
  });

  test('a data role the app needs, taken away, fails it', () => {
    expect(driftOf('no-receiver')).toEqual([expect.stringMatching(/^infra: the app's identity lacks 'Azure Service Bus Data Receiver' on the Microsoft\.ServiceBus\/namespaces/)]);
  });

  test('key material is a Key Vault reference resolved with the app identity; a literal secret fails it', () => {
    const settings = compiledOf('real').resources.find((r) => r.type === 'Microsoft.Web/sites/config')!.properties as Record<string, string>;
    for (const name of ['MESSAGE_SIGNING_KEYS', 'FIELD_ENCRYPTION_KEYS', 'API_KEYS']) expect(settings[name]).toMatch(KEY_VAULT_REFERENCE);
    expect(driftOf('literal-secret')).toEqual([
      expect.stringMatching(/^infra: app setting 'MESSAGE_SIGNING_KEYS' holds key material: it must be a Key Vault reference/),
      'infra: an app setting looks like a secret: MESSAGE_SIGNING_KEYS',
    ]);
    expect(driftOf('kv-no-identity')).toEqual([expect.stringMatching(/keyVaultReferenceIdentity must be the user-assigned identity/)]);
    expect(driftOf('kv-purgeable')).toEqual([expect.stringMatching(/^infra: Microsoft\.KeyVault\/vaults '.*' must set properties\.enablePurgeProtection: true/)]);
  });
});
