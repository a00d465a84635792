// Drift between the app and its infrastructure, read from what the real Bicep compiler makes of
// infra/: the compiled ARM template and the resources it deploys (`bicep snapshot` evaluates the
// template for a fixed deployment, expressions and loops included; src/infra/bicep-cli.ts). It
// checks that:
//  - the Service Bus queues, topics, subscriptions and rules, the Cosmos DB database and
//    containers, and the event hubs and consumer groups deployed are exactly those of config/,
//    property by property, and that every entity config/ declares is used by the app;
//  - the function app's settings are exactly the `azure` settings of src/config/app-settings.ts,
//    every setting the code, the bindings and host.json read is catalogued, every binding's
//    connection is an identity-based one the template provides with the app's identity, and key
//    material is a Key Vault reference to the deployed vault, resolved with that identity;
//  - the app's identity holds every data role its connections need, on the right resource;
//  - the secure defaults hold (local auth off, TLS 1.2, RBAC-only Key Vault with purge
//    protection, diagnostics to Log Analytics, Flex Consumption deployed with the identity…);
//  - neither the template nor the hooks hold a key. (A registry module never gets this far: the
//    compiler runs with --no-restore and refuses it, naming the file and line.)
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { APP_SETTINGS, CONNECTIONS } from '../config/app-settings';
import type { CompiledInfra, PredictedResource } from './bicep-cli';
import { declaredInfra } from './declared';
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
  /** The repository root (config/, src/, functions/, host.json, azure.yaml). */
  root: string;
  /** The infrastructure that was compiled (default: root/infra). */
  infraDir?: string;
  /** What the compiler made of it (compileInfra). */
  compiled: CompiledInfra;
  /** The app's bindings, as the host registered them. */
  bindings: BindingInfo[];
}

function sourceFiles(dir: string): string[] {
  return filesUnder(dir).filter((f) => f.endsWith('.ts'));
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

const SB = 'Microsoft.ServiceBus/namespaces';
const EH = 'Microsoft.EventHub/namespaces';
const COSMOS = 'Microsoft.DocumentDB/databaseAccounts';
const STORAGE = 'Microsoft.Storage/storageAccounts';
const SITE = 'Microsoft.Web/sites';
const VAULT = 'Microsoft.KeyVault/vaults';
const INSIGHTS = 'Microsoft.Insights/components';
const IDENTITY = 'Microsoft.ManagedIdentity/userAssignedIdentities';

/** A child's own name: the last segment of `parent/child`. */
const leaf = (r: PredictedResource) => r.name.split('/').pop()!;
/** A child's name below its namespace or account: `topic/subscription` for `ns/topic/subscription`. */
const below = (r: PredictedResource, depth: number) => r.name.split('/').slice(depth).join('/');

/** Compares what config/ declares with the resources of one type, by name. */
function compareEntities(kind: string, expected: Map<string, unknown>, resources: PredictedResource[], nameOf: (r: PredictedResource) => string, valueOf: (r: PredictedResource) => unknown): string[] {
  const problems: string[] = [];
  const actual = new Map(resources.map((r) => [nameOf(r), r]));
  for (const [name, value] of expected) {
    const r = actual.get(name);
    if (!r) problems.push(`infra: ${kind} '${name}' is in config/ but not in infra/`);
    else if (value !== undefined) problems.push(...differences(value, valueOf(r), `infra: ${kind} '${name}'`));
  }
  for (const name of actual.keys()) if (!expected.has(name)) problems.push(`infra: ${kind} '${name}' is in infra/ but the app does not use it`);
  return problems;
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

/** Built-in Azure role definitions (learn.microsoft.com: Azure built-in roles). */
const ROLE = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
  serviceBusDataSender: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39',
  serviceBusDataReceiver: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0',
  serviceBusDataOwner: '090c5cfd-751d-490a-894a-3ce6f1109419',
  eventHubsDataSender: '2b629674-e913-4c01-ae53-ef4638d8f975',
  eventHubsDataReceiver: 'a638d3c7-ab3a-418d-83e6-5f17a39d4fde',
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb',
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6',
} as const;

/** Cosmos DB's data-plane role "Cosmos DB Built-in Data Contributor" (a SQL role, not an Azure RBAC role). */
const COSMOS_DATA_CONTRIBUTOR = '00000000-0000-0000-0000-000000000002';

/** The data roles the app's identity needs, on which resource, and why. */
export const REQUIRED_ROLES: { scope: string; role: string; name: string; why: string }[] = [
  { scope: STORAGE, role: ROLE.storageBlobDataOwner, name: 'Storage Blob Data Owner', why: 'AzureWebJobsStorage: host leases, Durable task hub blobs, the deployment package' },
  { scope: STORAGE, role: ROLE.storageQueueDataContributor, name: 'Storage Queue Data Contributor', why: 'AzureWebJobsStorage: the Durable task hub queues' },
  { scope: STORAGE, role: ROLE.storageTableDataContributor, name: 'Storage Table Data Contributor', why: 'AzureWebJobsStorage: the Durable task hub history and instances' },
  { scope: SB, role: ROLE.serviceBusDataSender, name: 'Azure Service Bus Data Sender', why: 'ServiceBusConnection: output bindings and the messaging port send' },
  { scope: SB, role: ROLE.serviceBusDataReceiver, name: 'Azure Service Bus Data Receiver', why: 'ServiceBusConnection: the Service Bus triggers and the ops endpoints receive' },
  { scope: SB, role: ROLE.serviceBusDataOwner, name: 'Azure Service Bus Data Owner', why: 'ServiceBusConnection: the ops endpoints read queue depths (runtime properties)' },
  { scope: EH, role: ROLE.eventHubsDataSender, name: 'Azure Event Hubs Data Sender', why: 'EventHubConnection: integration events are published' },
  { scope: EH, role: ROLE.eventHubsDataReceiver, name: 'Azure Event Hubs Data Receiver', why: 'EventHubConnection: the sales metric consumes them' },
  { scope: INSIGHTS, role: ROLE.monitoringMetricsPublisher, name: 'Monitoring Metrics Publisher', why: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING: telemetry with Entra ID (local auth is off)' },
  { scope: VAULT, role: ROLE.keyVaultSecretsUser, name: 'Key Vault Secrets User', why: 'the Key Vault references in the app settings' },
];

/** Secure defaults, each a property of a deployed resource (docs/deployment.md). */
export const SECURE_DEFAULTS: { type: string; path: string; value: unknown; what: string }[] = [
  { type: SB, path: 'properties.disableLocalAuth', value: true, what: 'Service Bus: SAS keys off' },
  { type: SB, path: 'properties.minimumTlsVersion', value: '1.2', what: 'Service Bus: TLS 1.2 minimum' },
  { type: EH, path: 'properties.disableLocalAuth', value: true, what: 'Event Hubs: SAS keys off' },
  { type: EH, path: 'properties.minimumTlsVersion', value: '1.2', what: 'Event Hubs: TLS 1.2 minimum' },
  { type: COSMOS, path: 'properties.disableLocalAuth', value: true, what: 'Cosmos DB: account keys off' },
  { type: COSMOS, path: 'properties.disableKeyBasedMetadataWriteAccess', value: true, what: 'Cosmos DB: no metadata writes with keys' },
  { type: COSMOS, path: 'properties.minimalTlsVersion', value: 'Tls12', what: 'Cosmos DB: TLS 1.2 minimum' },
  { type: STORAGE, path: 'properties.allowSharedKeyAccess', value: false, what: 'storage: shared keys off' },
  { type: STORAGE, path: 'properties.allowBlobPublicAccess', value: false, what: 'storage: no anonymous blob access' },
  { type: STORAGE, path: 'properties.minimumTlsVersion', value: 'TLS1_2', what: 'storage: TLS 1.2 minimum' },
  { type: STORAGE, path: 'properties.supportsHttpsTrafficOnly', value: true, what: 'storage: HTTPS only' },
  { type: INSIGHTS, path: 'properties.DisableLocalAuth', value: true, what: 'Application Insights: ingestion with Entra ID only' },
  { type: VAULT, path: 'properties.enableRbacAuthorization', value: true, what: 'Key Vault: RBAC only, no access policies' },
  { type: VAULT, path: 'properties.enablePurgeProtection', value: true, what: 'Key Vault: purge protection' },
  { type: SITE, path: 'properties.httpsOnly', value: true, what: 'function app: HTTPS only' },
  { type: SITE, path: 'properties.siteConfig.minTlsVersion', value: '1.2', what: 'function app: TLS 1.2 minimum' },
  { type: SITE, path: 'properties.siteConfig.ftpsState', value: 'Disabled', what: 'function app: no FTP' },
  { type: SITE, path: 'properties.functionAppConfig.runtime.name', value: 'node', what: 'function app: the Node.js runtime' },
  { type: SITE, path: 'properties.functionAppConfig.runtime.version', value: '22', what: 'function app: Node 22' },
  {
    type: SITE,
    path: 'properties.functionAppConfig.deployment.storage.authentication.type',
    value: 'UserAssignedIdentity',
    what: 'function app: the package is deployed through the user-assigned identity',
  },
  { type: 'Microsoft.Web/serverfarms', path: 'sku.name', value: 'FC1', what: 'the plan is Flex Consumption (FC1)' },
  { type: SITE, path: 'tags.azd-service-name', value: 'api', what: "azd finds the app by its tag 'azd-service-name': 'api'" },
];

/** Resources whose logs and metrics go to Log Analytics (diagnostic settings on each). */
const DIAGNOSED = [SB, EH, COSMOS, VAULT, STORAGE, SITE];

function at(value: unknown, path: string): unknown {
  // Paths are dotted; a tag name may hold a dash but no dot.
  return path.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), value);
}

/** An ARM expression the compiler could not evaluate, reading a runtime property of a resource. */
const refersTo = (value: unknown, resourceId: string, property: string) =>
  typeof value === 'string' && value.startsWith('[') && value.includes(`reference('${resourceId}'`) && value.endsWith(`.${property}]`);

export function checkDrift(input: DriftInput): string[] {
  const root = input.root;
  const infra = input.infraDir ?? join(root, 'infra');
  const { resources, templateText } = input.compiled;
  const problems: string[] = [];
  const ofType = (type: string) => resources.filter((r) => r.type === type);
  const single = (type: string): PredictedResource | undefined => {
    const found = ofType(type);
    if (found.length !== 1) problems.push(`infra: expected one ${type}, the template deploys ${found.length}`);
    return found[0];
  };

  // --- no keys: in anything the template deploys, in the hooks, in azure.yaml
  for (const r of resources) {
    const text = JSON.stringify(r);
    for (const f of FORBIDDEN) if (f.pattern.test(text)) problems.push(`infra: ${r.type} '${r.name}': ${f.what}`);
  }
  for (const f of FORBIDDEN) if (f.pattern.test(templateText) && !resources.some((r) => f.pattern.test(JSON.stringify(r)))) problems.push(`infra: the compiled template: ${f.what}`);
  for (const file of [...filesUnder(join(infra, 'scripts')), join(root, 'azure.yaml')].filter(existsSync)) {
    const text = readFileSync(file, 'utf8');
    for (const f of FORBIDDEN) if (f.pattern.test(text)) problems.push(`${relative(root, file)}: ${f.what}`);
  }

  // --- entities: what is deployed == config/
  const declared = declaredInfra(join(root, 'config'));
  const byName = <T extends { name: string }>(items: T[], value: (t: T) => unknown) => new Map(items.map((i) => [i.name, value(i)]));
  const props = (r: PredictedResource) => r.properties ?? {};
  problems.push(
    ...compareEntities(
      'queue',
      byName(declared.queues, (q) => q.properties),
      ofType(`${SB}/queues`),
      leaf,
      props,
    ),
  );
  problems.push(
    ...compareEntities(
      'topic',
      byName(declared.topics, (t) => t.properties),
      ofType(`${SB}/topics`),
      leaf,
      props,
    ),
  );
  const subscriptions = declared.topics.flatMap((t) => t.subscriptions.map((s) => ({ ...s, name: `${t.name}/${s.name}` })));
  problems.push(
    ...compareEntities(
      'subscription',
      byName(subscriptions, (s) => s.properties),
      ofType(`${SB}/topics/subscriptions`),
      (r) => below(r, 1),
      props,
    ),
  );
  const rules = subscriptions.flatMap((s) => (s.rules ?? []).map((r) => ({ ...r, name: `${s.name}/${r.name}` })));
  problems.push(
    ...compareEntities(
      'rule',
      byName(rules, (r) => r.properties),
      ofType(`${SB}/topics/subscriptions/rules`),
      (r) => below(r, 1),
      props,
    ),
  );
  problems.push(...compareEntities('database', new Map([[declared.databaseName, undefined]]), ofType(`${COSMOS}/sqlDatabases`), leaf, props));
  problems.push(
    ...compareEntities(
      'container',
      byName(declared.containers, (c) => c.resource),
      ofType(`${COSMOS}/sqlDatabases/containers`),
      (r) => below(r, 1).replace(`${declared.databaseName}/`, ''),
      (r) => props(r).resource,
    ),
  );
  problems.push(
    ...compareEntities(
      'event hub',
      byName(declared.eventHubs, (h) => h.properties),
      ofType(`${EH}/eventhubs`),
      leaf,
      props,
    ),
  );
  const groups = declared.eventHubs.flatMap((h) => h.consumerGroups.map((g) => ({ name: `${h.name}/${g}` })));
  problems.push(
    ...compareEntities(
      'consumer group',
      byName(groups, () => undefined),
      ofType(`${EH}/eventhubs/consumergroups`),
      (r) => below(r, 1),
      props,
    ),
  );

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

  // --- the app's identity, and the resources its settings point at
  const identity = single(IDENTITY);
  const site = single(SITE);
  const vault = single(VAULT);
  const identityId = identity?.id ?? '(no identity)';
  if (site && !(site.identity?.userAssignedIdentities && identityId in (site.identity.userAssignedIdentities as object)))
    problems.push(`infra: the function app does not run as the user-assigned identity ${identityId}`);

  // --- app settings
  const config = ofType(`${SITE}/config`).find((r) => leaf(r) === 'appsettings');
  if (!config) problems.push('infra: the function app has no appsettings (Microsoft.Web/sites/config appsettings)');
  const appSettings = (config?.properties ?? {}) as Record<string, unknown>;
  const provided = new Set(Object.keys(appSettings));
  const catalog = new Map(APP_SETTINGS.map((s) => [s.name, s]));
  for (const s of APP_SETTINGS) if (s.scope === 'azure' && !provided.has(s.name)) problems.push(`infra: app setting '${s.name}' is missing (${s.description})`);
  for (const name of provided) {
    const s = catalog.get(name);
    if (!s) problems.push(`infra: app setting '${name}' is not one the app reads (src/config/app-settings.ts)`);
    else if (s.scope !== 'azure') problems.push(`infra: app setting '${name}' is ${s.scope}-only and must not be set in Azure`);
  }
  let references = 0;
  for (const [name, value] of Object.entries(appSettings)) {
    // A Key Vault reference names where a secret is, not the secret: the platform resolves it.
    const reference = typeof value === 'string' && KEY_VAULT_REFERENCE.test(value);
    if (reference) {
      references++;
      const vaultName = /VaultName=([^;]+);/.exec(value)?.[1];
      if (vault && vaultName !== vault.name) problems.push(`infra: app setting '${name}' references vault '${vaultName}', not the deployed vault '${vault.name}'`);
    }
    if (catalog.get(name)?.secret && !reference) {
      problems.push(`infra: app setting '${name}' holds key material: it must be a Key Vault reference (@Microsoft.KeyVault(VaultName=…;SecretName=…)), not a value in infra/`);
    }
    if (!reference && typeof value === 'string' && !value.startsWith('[') && /key|password|secret|sig=/i.test(value) && !/ClientId=|Authorization=AAD/.test(value))
      problems.push(`infra: an app setting looks like a secret: ${name}`);
  }
  if (references > 0 && site?.properties?.keyVaultReferenceIdentity !== identityId) {
    problems.push(`infra: the app settings reference Key Vault, so the function app's keyVaultReferenceIdentity must be the user-assigned identity (${identityId})`);
  }
  // Identity-based connections: the endpoint, `managedidentity`, and the identity's client id.
  for (const prefix of [...CONNECTIONS.map((c) => c.name), 'AzureWebJobsStorage']) {
    if (appSettings[`${prefix}__credential`] !== 'managedidentity') problems.push(`infra: app setting '${prefix}__credential' must be 'managedidentity'`);
    if (!refersTo(appSettings[`${prefix}__clientId`], identityId, 'clientId')) problems.push(`infra: app setting '${prefix}__clientId' must be the client id of the app's identity`);
  }
  if (declared.databaseName !== appSettings.COSMOS_DATABASE_NAME)
    problems.push(`infra: app setting COSMOS_DATABASE_NAME is ${JSON.stringify(appSettings.COSMOS_DATABASE_NAME)}, config/cosmos.yaml says '${declared.databaseName}'`);

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

  // --- role assignments: each data role the app needs, granted to its identity on the right resource
  const assignments = ofType('Microsoft.Authorization/roleAssignments');
  for (const need of REQUIRED_ROLES) {
    const scope = ofType(need.scope)[0];
    const granted =
      scope &&
      assignments.some(
        (a) => a.id.startsWith(`${scope.id}/providers/`) && String(a.properties?.roleDefinitionId).endsWith(`/${need.role}`) && refersTo(a.properties?.principalId, identityId, 'principalId'),
      );
    if (!granted) problems.push(`infra: the app's identity lacks '${need.name}' on the ${need.scope} (${need.why})`);
  }
  const cosmosAccount = ofType(COSMOS)[0];
  const cosmosGranted = ofType(`${COSMOS}/sqlRoleAssignments`).some(
    (a) =>
      String(a.properties?.roleDefinitionId).endsWith(`/sqlRoleDefinitions/${COSMOS_DATA_CONTRIBUTOR}`) &&
      a.properties?.scope === cosmosAccount?.id &&
      refersTo(a.properties?.principalId, identityId, 'principalId'),
  );
  if (!cosmosGranted) problems.push("infra: the app's identity lacks 'Cosmos DB Built-in Data Contributor' on the account (CosmosConnection: the event store, views, leases)");

  // --- secure defaults
  for (const d of SECURE_DEFAULTS) {
    for (const r of ofType(d.type)) {
      const value = at(r, d.path);
      if (value !== d.value) problems.push(`infra: ${d.type} '${r.name}' must set ${d.path}: ${JSON.stringify(d.value)} (${d.what}); it has ${JSON.stringify(value)}`);
    }
  }
  const workspace = ofType('Microsoft.OperationalInsights/workspaces')[0];
  const diagnostics = ofType('Microsoft.Insights/diagnosticSettings');
  for (const type of DIAGNOSED) {
    for (const r of ofType(type)) {
      if (!diagnostics.some((d) => d.id.startsWith(`${r.id}/providers/`) && d.properties?.workspaceId === workspace?.id))
        problems.push(`infra: ${type} '${r.name}' sends no diagnostics to the Log Analytics workspace`);
    }
  }
  for (const r of resources) {
    if (r.location && r.tags?.['azd-env-name'] === undefined) problems.push(`infra: ${r.type} '${r.name}' lacks the tag azd-env-name`);
  }

  // --- what the hooks read from azd's environment, the template outputs
  const outputs = new Set(Object.keys((input.compiled.template.outputs ?? {}) as object));
  for (const file of filesUnder(join(infra, 'scripts'))) {
    const text = readFileSync(file, 'utf8');
    for (const re of [/need\('([A-Z][A-Z0-9_]+)'\)/g, /\benv\.([A-Z][A-Z0-9_]+)/g, /\$values\.([A-Z][A-Z0-9_]+)/g, /"\$([A-Z][A-Z0-9_]+)"/g]) {
      for (const m of text.matchAll(re)) if (!outputs.has(m[1]!)) problems.push(`${relative(root, file)}: reads ${m[1]} from azd's environment, which infra/main.bicep does not output`);
    }
  }

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
