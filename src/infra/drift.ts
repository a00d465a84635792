// Drift between the app and its infrastructure, read from the .bicep files themselves (no Bicep
// CLI can run here). It checks that:
//  - the Service Bus queues, topics, subscriptions and rules, the Cosmos DB containers and the
//    event hubs in infra/ are exactly those of config/, property by property (sessions, lock
//    duration, max delivery count, duplicate detection, TTL, partition keys, indexing, partitions,
//    consumer groups), and that every entity config/ declares is used by the app;
//  - the function app's settings are exactly the `azure` settings of src/config/app-settings.ts,
//    every setting the code, the bindings and host.json read is catalogued, and every binding's
//    connection is an identity-based one infra/ provides;
//  - infra/ holds no key, no connection string, no key-based access, and pins every module; the
//    settings that hold key material are Key Vault references resolved with the app's identity.
// Anything it cannot read fails loudly with the file and line.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { APP_SETTINGS, CONNECTIONS } from '../config/app-settings';
import { parseBicep, toPlain, type BicepDeclaration } from './bicep';
import { declaredInfra, GENERATED_BLOCKS } from './declared';
import { buildWorkbook } from './workbook';

export interface BindingInfo {
  function: string;
  type: string;
  direction: string;
  connection?: string;
  queueName?: string;
  topicName?: string;
  containerName?: string;
  leaseContainerName?: string;
  eventHubName?: string;
  [k: string]: unknown;
}

export interface DriftInput {
  /** The repository root (infra/, config/, src/, functions/, host.json). */
  root: string;
  /** The infrastructure to check (default: root/infra). */
  infraDir?: string;
  /** The app's bindings, as the host registered them. */
  bindings: BindingInfo[];
}

function bicepFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...bicepFiles(path));
    else if (entry.name.endsWith('.bicep')) out.push(path);
  }
  return out;
}

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (entry.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** Differences between two plain values, as "path: expected X, found Y" lines. */
export function differences(expected: unknown, actual: unknown, path: string): string[] {
  if (typeof expected !== typeof actual || Array.isArray(expected) !== Array.isArray(actual) || (expected === null) !== (actual === null)) {
    return [`${path}: config/ says ${JSON.stringify(expected)}, infra/ says ${JSON.stringify(actual)}`];
  }
  if (Array.isArray(expected)) {
    const a = actual as unknown[];
    if (expected.length !== a.length) return [`${path}: config/ has ${expected.length} items, infra/ has ${a.length}`];
    return expected.flatMap((e, i) => differences(e, a[i], `${path}[${i}]`));
  }
  if (expected && typeof expected === 'object') {
    const e = expected as Record<string, unknown>;
    const a = actual as Record<string, unknown>;
    const keys = new Set([...Object.keys(e), ...Object.keys(a)]);
    return [...keys].flatMap((k) => {
      if (!(k in a)) return [`${path}.${k}: missing in infra/ (config/ says ${JSON.stringify(e[k])})`];
      if (!(k in e)) return [`${path}.${k}: in infra/ (${JSON.stringify(a[k])}) but not in config/`];
      return differences(e[k], a[k], `${path}.${k}`);
    });
  }
  return expected === actual ? [] : [`${path}: config/ says ${JSON.stringify(expected)}, infra/ says ${JSON.stringify(actual)}`];
}

/** Compares two lists of named entities: missing, extra, and property differences. */
function compareNamed(kind: string, expected: Record<string, unknown>[], actual: unknown, where: string): string[] {
  if (!Array.isArray(actual)) return [`${where}: ${kind} is not a list the drift test can read`];
  const problems: string[] = [];
  const byName = new Map((actual as Record<string, unknown>[]).map((a) => [String(a?.name), a]));
  for (const e of expected) {
    const a = byName.get(String(e.name));
    if (!a) problems.push(`${where}: ${kind} '${String(e.name)}' is in config/ but not in infra/`);
    else problems.push(...differences(e, a, `${where}: ${kind} '${String(e.name)}'`));
  }
  const names = new Set(expected.map((e) => String(e.name)));
  for (const name of byName.keys()) if (!names.has(name)) problems.push(`${where}: ${kind} '${name}' is in infra/ but the app does not use it`);
  return problems;
}

function declarationOf(decls: BicepDeclaration[], keyword: BicepDeclaration['keyword'], name: string, file: string): BicepDeclaration {
  const d = decls.find((x) => x.keyword === keyword && x.name === name);
  if (!d) throw new Error(`${file}: no '${keyword} ${name}' — the drift test cannot find what it checks`);
  return d;
}

const FORBIDDEN = [
  { pattern: /\blist(Keys|ConnectionStrings|AccountSas|ServiceSas|Secrets)\s*\(/, what: 'reads keys (list* functions)' },
  { pattern: /AccountKey\s*=/i, what: 'an account key' },
  { pattern: /SharedAccessKey(Name)?\s*=/i, what: 'a shared access key' },
  { pattern: /primary(Connection|Key|ReadonlyMasterKey|MasterKey)/i, what: 'a key or connection string output' },
  { pattern: /DefaultEndpointsProtocol=/i, what: 'a storage connection string' },
];

/** An app setting that the platform fills from Key Vault (learn.microsoft.com: Key Vault references as app settings). */
export const KEY_VAULT_REFERENCE = /^@Microsoft\.KeyVault\((?:VaultName=[^;()\s]+;SecretName=[0-9A-Za-z-]+(?:;SecretVersion=[0-9A-Za-z]+)?|SecretUri=https:\/\/[^()\s]+)\)$/;

export function checkDrift(input: DriftInput): string[] {
  const root = input.root;
  const infra = input.infraDir ?? join(root, 'infra');
  const problems: string[] = [];
  const parsed = new Map<string, BicepDeclaration[]>();
  // Every .bicep must be readable, or the check proves nothing.
  for (const file of bicepFiles(infra)) {
    const name = relative(infra, file);
    parsed.set(name, parseBicep(readFileSync(file, 'utf8'), `infra/${name}`));
  }
  const decls = (file: string) => {
    const d = parsed.get(file);
    if (!d) throw new Error(`infra/${file} is missing`);
    return d;
  };

  // --- entities: infra/ == config/
  const declared = declaredInfra(join(root, 'config'));
  for (const block of GENERATED_BLOCKS) {
    const file = block.file.replace(/^infra\//, '');
    for (const v of block.vars) {
      const value = toPlain(declarationOf(decls(file), 'var', v, block.file).value);
      const expected = (declared as unknown as Record<string, Record<string, unknown>[]>)[v]!;
      problems.push(...compareNamed(v.replace(/s$/, ''), expected, value, block.file));
    }
  }
  const database = toPlain(declarationOf(decls('main.bicep'), 'var', 'databaseName', 'infra/main.bicep').value);
  if (database !== declared.databaseName) problems.push(`infra/main.bicep: databaseName is ${JSON.stringify(database)}, config/cosmos.yaml says '${declared.databaseName}'`);

  // --- every entity config/ declares is used by the app
  const used = usedEntities(root, input.bindings);
  for (const q of declared.queues) if (!used.has(String(q.name))) problems.push(`config/topology.yaml: queue '${String(q.name)}' is declared but nothing in the app sends to or receives from it`);
  for (const t of declared.topics) if (!used.has(String(t.name))) problems.push(`config/topology.yaml: topic '${String(t.name)}' is declared but nothing in the app publishes to it`);
  for (const c of declared.containers) if (!used.has(String(c.name))) problems.push(`config/cosmos.yaml: container '${String(c.name)}' is declared but the app never uses it`);
  for (const h of declared.eventHubs) if (!used.has(String(h.name))) problems.push(`config/eventhubs.yaml: hub '${String(h.name)}' is declared but the app never uses it`);
  // ...and what the bindings name is declared.
  const names = new Set([...declared.queues, ...declared.topics, ...declared.containers, ...declared.eventHubs].map((e) => String(e.name)));
  for (const b of input.bindings) {
    for (const key of ['queueName', 'topicName', 'containerName', 'leaseContainerName', 'eventHubName'] as const) {
      const value = b[key];
      if (typeof value !== 'string' || value.includes('%')) continue;
      const entity = value.replace(/\/\$deadletterqueue$/i, '');
      if (!names.has(entity)) problems.push(`function ${b.function}: ${key} '${value}' is not declared in config/ (and so not in infra/)`);
    }
  }

  // --- app settings
  const appSettings = toPlain(declarationOf(decls('app/api.bicep'), 'var', 'appSettings', 'infra/app/api.bicep').value);
  if (!appSettings || typeof appSettings !== 'object' || Array.isArray(appSettings)) throw new Error('infra/app/api.bicep: appSettings is not an object literal');
  const provided = new Set(Object.keys(appSettings));
  const catalog = new Map(APP_SETTINGS.map((s) => [s.name, s]));
  for (const s of APP_SETTINGS) if (s.scope === 'azure' && !provided.has(s.name)) problems.push(`infra/app/api.bicep: app setting '${s.name}' is missing (${s.description})`);
  for (const name of provided) {
    const s = catalog.get(name);
    if (!s) problems.push(`infra/app/api.bicep: app setting '${name}' is not one the app reads (src/config/app-settings.ts)`);
    else if (s.scope !== 'azure') problems.push(`infra/app/api.bicep: app setting '${name}' is ${s.scope}-only and must not be set in Azure`);
  }
  let references = 0;
  for (const [name, value] of Object.entries(appSettings as Record<string, unknown>)) {
    // A Key Vault reference names where a secret is, not the secret: the platform resolves it.
    const reference = typeof value === 'string' && KEY_VAULT_REFERENCE.test(value);
    if (reference) references++;
    if (catalog.get(name)?.secret && !reference) {
      problems.push(`infra/app/api.bicep: app setting '${name}' holds key material: it must be a Key Vault reference (@Microsoft.KeyVault(VaultName=…;SecretName=…)), not a value in infra/`);
    }
    if (!reference && typeof value === 'string' && /key|password|secret|sig=/i.test(value) && !/ClientId=|Authorization=AAD/.test(value)) problems.push(`infra/app/api.bicep: an app setting looks like a secret: ${value}`);
  }
  // What the code, the bindings and host.json read must be catalogued.
  for (const name of settingsReadByCode(root)) if (!catalog.has(name)) problems.push(`the code reads setting '${name}', which src/config/app-settings.ts does not list`);
  const connectionNames = new Set<string>(CONNECTIONS.map((c) => c.name));
  for (const b of input.bindings) {
    if (b.connection && !connectionNames.has(b.connection)) problems.push(`function ${b.function}: connection '${b.connection}' is not an identity-based connection infra/ provides`);
    for (const v of Object.values(b)) {
      for (const m of typeof v === 'string' ? v.matchAll(/%([A-Za-z0-9_]+)%/g) : []) {
        if (catalog.get(m[1]!)?.scope !== 'azure') problems.push(`function ${b.function}: %${m[1]}% is not a setting infra/ provides`);
      }
    }
  }
  for (const m of readFileSync(join(root, 'host.json'), 'utf8').matchAll(/%([A-Za-z0-9_]+)%/g)) {
    if (catalog.get(m[1]!)?.scope !== 'azure') problems.push(`host.json: %${m[1]}% is not a setting infra/ provides`);
  }

  // --- no secrets, no key-based access, pinned modules
  for (const file of [...bicepFiles(infra), ...filesUnder(join(infra, 'scripts')), join(root, 'azure.yaml')].filter(existsSync)) {
    const text = readFileSync(file, 'utf8');
    for (const f of FORBIDDEN) if (f.pattern.test(text)) problems.push(`${relative(root, file)}: ${f.what}`);
    for (const m of text.matchAll(/'br\/public:([^':]+)(?::([^']*))?'/g)) {
      if (!m[2] || !/^\d+\.\d+\.\d+$/.test(m[2])) problems.push(`${relative(root, file)}: module ${m[1]} is not pinned to a version`);
    }
  }
  const expectFlag = (file: string, module: string, key: string, value: boolean) => {
    const d = decls(file).find((x) => (x.keyword === 'module' || x.keyword === 'resource') && x.name === module);
    const params = (toPlain(d?.value) as { params?: Record<string, unknown>; properties?: Record<string, unknown> } | undefined)?.params;
    if (params?.[key] !== value) problems.push(`infra/${file}: ${module} must set ${key}: ${value}`);
  };
  expectFlag('modules/messaging.bicep', 'namespace', 'disableLocalAuth', true);
  expectFlag('modules/eventhubs.bicep', 'namespace', 'disableLocalAuth', true);
  expectFlag('modules/cosmos.bicep', 'account', 'disableLocalAuthentication', true);
  expectFlag('main.bicep', 'storage', 'allowSharedKeyAccess', false);
  expectFlag('modules/monitoring.bicep', 'applicationInsights', 'disableLocalAuth', true);
  expectFlag('modules/keyvault.bicep', 'vault', 'enableRbacAuthorization', true);
  expectFlag('modules/keyvault.bicep', 'vault', 'enablePurgeProtection', true);

  // --- the function app: Flex Consumption, Node 22, deployment through the managed identity
  const api = toPlain(declarationOf(decls('app/api.bicep'), 'module', 'api', 'infra/app/api.bicep').value) as { params?: Record<string, unknown> };
  if (references > 0 && api.params?.keyVaultAccessIdentityResourceId === undefined) {
    problems.push('infra/app/api.bicep: the app settings reference Key Vault, so keyVaultAccessIdentityResourceId must name the user-assigned identity that resolves them');
  }
  const config = api.params?.functionAppConfig as { runtime?: { name?: string; version?: string }; deployment?: { storage?: { authentication?: { type?: string } } } } | undefined;
  if (config?.runtime?.name !== 'node' || config.runtime.version !== '22') problems.push("infra/app/api.bicep: the runtime must be node '22'");
  if (config?.deployment?.storage?.authentication?.type !== 'UserAssignedIdentity') problems.push('infra/app/api.bicep: deployment must authenticate with the user-assigned identity');
  const plan = toPlain(declarationOf(decls('main.bicep'), 'module', 'appServicePlan', 'infra/main.bicep').value) as { params?: { sku?: { name?: string } } };
  if (plan.params?.sku?.name !== 'FC1') problems.push('infra/main.bicep: the plan must be Flex Consumption (FC1)');

  // --- azure.yaml names the service as azd expects
  const azure = parseYaml(readFileSync(join(root, 'azure.yaml'), 'utf8')) as { services?: Record<string, { project?: string; language?: string; host?: string }> };
  const service = azure.services?.api;
  if (!service || service.host !== 'function' || !['ts', 'js'].includes(service.language ?? '') || !service.project) {
    problems.push("azure.yaml: services.api must have project, language ts or js and host: function (tagged 'azd-service-name': 'api' in infra/app/api.bicep)");
  }

  // --- the workbook is built from infra/queries
  const workbook = join(infra, 'workbook.json');
  if (!existsSync(workbook) || JSON.stringify(JSON.parse(readFileSync(workbook, 'utf8'))) !== JSON.stringify(buildWorkbook(infra))) {
    problems.push('infra/workbook.json does not match infra/queries/ (run npm run infra:sync)');
  }
  return problems;
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

/** Setting names the TypeScript reads directly (process.env.X, env.X, env['X']). */
export function settingsReadByCode(root: string): Set<string> {
  const names = new Set<string>();
  for (const file of [...sourceFiles(join(root, 'src')), ...sourceFiles(join(root, 'functions'))]) {
    if (file.includes(`${join('src', 'infra')}`)) continue;
    const text = readFileSync(file, 'utf8');
    for (const re of [/process\.env\.([A-Za-z_][A-Za-z0-9_]*)/g, /\benv\.([A-Z][A-Za-z0-9_]*)/g, /\benv\[['"]([A-Za-z_][A-Za-z0-9_]*)['"]\]/g]) {
      for (const m of text.matchAll(re)) names.add(m[1]!);
    }
  }
  return names;
}

/** Entity names the app uses: bindings, route destinations, and names the code sends to. */
function usedEntities(root: string, bindings: BindingInfo[]): Set<string> {
  const used = new Set<string>();
  for (const b of bindings) {
    for (const key of ['queueName', 'topicName', 'containerName', 'leaseContainerName', 'eventHubName'] as const) {
      const v = b[key];
      if (typeof v === 'string') used.add(v.replace(/\/\$deadletterqueue$/i, ''));
    }
  }
  const routes = parseYaml(readFileSync(join(root, 'config', 'routes.yaml'), 'utf8')) as { routes: { destinations: { queue?: string; topic?: string }[] }[] };
  for (const r of routes.routes) for (const d of r.destinations) used.add(d.queue ?? d.topic ?? '');
  // Names the code sends to or reads directly (triage destinations, the saga's topic, ops jobs,
  // containers reached through the document-store port).
  for (const file of [...sourceFiles(join(root, 'src')), ...sourceFiles(join(root, 'functions'))]) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:send|documentContainer|container)\(\s*'([a-z][a-z0-9-]*)'/g)) used.add(m[1]!);
    for (const m of text.matchAll(/(?:QUEUE|TOPIC|HUB|CONTAINER)\s*=\s*'([a-z][a-z0-9-]*)'/g)) used.add(m[1]!);
    for (const m of text.matchAll(/\b(?:review|archive|businessAlerts|alertsTopic)[A-Za-z]*:\s*'([a-z][a-z0-9-]*)'/g)) used.add(m[1]!);
  }
  return used;
}
