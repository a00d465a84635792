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
  { name: 'COSMOS_DATABASE_NAME', scope: 'azure', description: 'the Cosmos DB database' },
  { name: 'DurableTaskHubName', scope: 'azure', description: 'the Durable Functions task hub (host.json %DurableTaskHubName%)' },
  { name: 'FUNCTIONS_WORKER_RUNTIME', scope: 'local', description: 'node (Flex Consumption takes the runtime from functionAppConfig instead)' },
  { name: 'FAULT_INJECTION', scope: 'optional', description: 'transient failure drills per function or send target' },
  { name: 'PARTICIPANT_FAULTS', scope: 'optional', description: "fault injection for the saga's participants" },
  { name: 'SAGA_AUTOSTART', scope: 'optional', description: 'false pauses fulfilment sagas' },
  { name: 'EVENTSTORE_SNAPSHOT_EVERY', scope: 'optional', description: 'snapshot interval of the event store' },
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
  { name: 'FUNCTIONS_REQUEST_BODY_SIZE_LIMIT', scope: 'optional', description: "the Functions host's request body limit in bytes (default 104857600); the embedded host applies it too" },
];

export function settingDefinition(name: string): AppSettingDefinition | undefined {
  return APP_SETTINGS.find((s) => s.name === name);
}
