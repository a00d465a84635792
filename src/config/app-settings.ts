// Every setting the app reads, in one place: what the infrastructure must provide in Azure, what
// is optional there, and what only exists locally. The drift test checks the code reads nothing
// that is not listed here, that infra/ provides every `azure` setting, and that infra/ sets
// nothing that is not listed.

export type SettingScope =
  /** Provisioned by infra/ for the function app. */
  | 'azure'
  /** Read when present (drills, tuning); not provisioned. */
  | 'optional'
  /** Only meaningful locally (embedded host, func start). */
  | 'local'
  /** Set by the Functions platform itself. */
  | 'platform';

export interface AppSettingDefinition {
  name: string;
  scope: SettingScope;
  description: string;
  /** Holds key material: in Azure a Key Vault reference, never a value written in infra/. */
  secret?: true;
}

/** Identity-based connections: the prefix and the service property each needs. */
export const CONNECTIONS = [
  { name: 'ServiceBusConnection', property: 'fullyQualifiedNamespace' },
  { name: 'CosmosConnection', property: 'accountEndpoint' },
  { name: 'EventHubConnection', property: 'fullyQualifiedNamespace' },
] as const;

const connectionSettings = (name: string, property: string): AppSettingDefinition[] => [
  { name: `${name}__${property}`, scope: 'azure', description: `${name}: the service endpoint (identity-based connection)` },
  { name: `${name}__credential`, scope: 'azure', description: `${name}: managedidentity` },
  { name: `${name}__clientId`, scope: 'azure', description: `${name}: the user-assigned identity's client id` },
  { name, scope: 'local', description: `${name}: UseEmbeddedHost=true locally, or an emulator connection string` },
];

export const APP_SETTINGS: AppSettingDefinition[] = [
  ...CONNECTIONS.flatMap((c) => connectionSettings(c.name, c.property)),
  { name: 'AzureWebJobsStorage__blobServiceUri', scope: 'azure', description: 'Functions host storage (Durable task hub, leases): blob endpoint' },
  { name: 'AzureWebJobsStorage__queueServiceUri', scope: 'azure', description: 'Functions host storage: queue endpoint' },
  { name: 'AzureWebJobsStorage__tableServiceUri', scope: 'azure', description: 'Functions host storage: table endpoint' },
  { name: 'AzureWebJobsStorage__credential', scope: 'azure', description: 'managedidentity' },
  { name: 'AzureWebJobsStorage__clientId', scope: 'azure', description: "the user-assigned identity's client id" },
  { name: 'AzureWebJobsStorage', scope: 'local', description: 'UseDevelopmentStorage=true locally (Azurite, for func start)' },
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', scope: 'azure', description: 'Application Insights (ingestion endpoint; no secret: ingestion needs Entra ID)' },
  { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', scope: 'azure', description: 'Authorization=AAD;ClientId=<identity>: telemetry sent with the managed identity' },
  { name: 'AzureFunctionsJobHost__logging__logLevel__Function', scope: 'azure', description: "Warning: the host's Executing/Executed records stay out of Application Insights in Azure (host.json keeps Information locally)" },
  { name: 'TELEMETRY_SAMPLING_RATIO', scope: 'azure', description: "share of orders whose whole trace goes to Application Insights (0.1 in Azure; failed transactions' traces always do; 1 when unset)" },
  { name: 'COSMOS_DATABASE_NAME', scope: 'azure', description: 'the Cosmos DB database' },
  { name: 'MESSAGE_SIGNING_KEYS', scope: 'azure', secret: true, description: 'HMAC keys that sign and verify every Service Bus message (a Key Vault reference; generated dev keys locally)' },
  { name: 'FIELD_ENCRYPTION_KEYS', scope: 'azure', secret: true, description: 'AES-256 keys of field-level encryption (a Key Vault reference; generated dev keys locally)' },
  { name: 'API_KEYS', scope: 'azure', secret: true, description: "callers' API keys mapped to roles (HTTP auth)" },
  { name: 'DurableTaskHubName', scope: 'azure', description: 'the Durable Functions task hub (host.json %DurableTaskHubName%)' },
  { name: 'FUNCTIONS_WORKER_RUNTIME', scope: 'local', description: 'node (Flex Consumption takes the runtime from functionAppConfig instead)' },
  { name: 'FAULT_INJECTION', scope: 'optional', description: 'transient failure drills per function or send target (the local Azure also reads cosmos-rest[:container]: 429s from its Cosmos DB endpoint)' },
  { name: 'PARTICIPANT_FAULTS', scope: 'optional', description: "fault injection for the saga's participants" },
  { name: 'SAGA_AUTOSTART', scope: 'optional', description: 'false pauses fulfilment sagas' },
  { name: 'COMMAND_NOT_FOUND_RETRIES', scope: 'optional', description: 'how often a command for a missing order is tried again before it is dead-lettered (default 8)' },
  { name: 'EVENTSTORE_SNAPSHOT_EVERY', scope: 'optional', description: 'snapshot interval of the event store' },
  { name: 'AUTH_TRUST_EASY_AUTH', scope: 'local', description: 'true: honour x-ms-client-principal outside Azure (a proxy in front sets it); in Azure WEBSITE_AUTH_ENABLED decides' },
  { name: 'WEBSITE_AUTH_ENABLED', scope: 'platform', description: 'App Service authentication is on (its front end then strips client-sent x-ms-client-principal headers)' },
  { name: 'WEBSITE_SITE_NAME', scope: 'platform', description: 'the app runs in Azure (auth fails closed there)' },
  { name: 'WEBSITE_INSTANCE_ID', scope: 'platform', description: 'the app runs in Azure on an App Service plan' },
  { name: 'CONFIG_DIR', scope: 'local', description: 'another config/ folder (tests, drills)' },
  { name: 'DATA_DIR', scope: 'local', description: "the embedded host's data folder" },
  { name: 'PORT', scope: 'local', description: "the embedded host's HTTP port" },
  { name: 'OTEL_EXPORTER_OTLP_ENDPOINT', scope: 'local', description: "the embedded host's OTLP/HTTP collector (traces, metrics, logs); unset keeps them in memory only" },
  { name: 'OTEL_SERVICE_NAME', scope: 'local', description: "service.name of the embedded host's telemetry" },
  { name: 'WEBSITE_TIME_ZONE', scope: 'platform', description: 'time zone of timer schedules' },
  { name: 'TZ', scope: 'platform', description: 'time zone of timer schedules (Linux)' },
  { name: 'DEBUG', scope: 'optional', description: 'debug logging of libraries' },
  { name: 'INPUT_MAX_BODY_BYTES', scope: 'optional', description: 'input limit: bytes of a message or command body (default 262144); over it 413' },
  { name: 'INPUT_MAX_BATCH_BYTES', scope: 'optional', description: 'input limit: bytes of a CSV batch body (default 5242880); over it 413' },
  { name: 'INPUT_MAX_DEPTH', scope: 'optional', description: 'input limit: nesting of JSON, XML elements, Avro records/arrays (default 32)' },
  { name: 'INPUT_MAX_STRING_LENGTH', scope: 'optional', description: 'input limit: characters of one string, key, XML text or attribute, CSV cell (default 32768)' },
  { name: 'INPUT_MAX_ARRAY_LENGTH', scope: 'optional', description: 'input limit: elements of one array, XML child elements or attributes, CSV column index (default 1000)' },
  { name: 'FUNCTIONS_REQUEST_BODY_SIZE_LIMIT', scope: 'azure', description: "the Functions host's request body limit in bytes (its default 104857600): 6291456 here, the largest body the app takes (a 5 MB CSV batch) with room for the app's own 413; the embedded host applies it too" },
];

export function settingDefinition(name: string): AppSettingDefinition | undefined {
  return APP_SETTINGS.find((s) => s.name === name);
}
