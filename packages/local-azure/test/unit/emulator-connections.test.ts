// SDK mode's settings: which connection is which service comes from the bindings that name it
// (the extensions' default names when a binding names none), never from the setting's name.
import { pointConnectionsAtEndpoints } from '../../src/host/emulator-connections';
import type { RegisteredFunction } from '../../src/worker/worker-state';

const fn = (name: string, ...bindings: Record<string, unknown>[]): RegisteredFunction =>
  ({ metadata: { name, functionId: name, bindings: Object.fromEntries(bindings.map((b, i) => [`b${i}`, b])) }, callback: () => undefined }) as unknown as RegisteredFunction;
const endpoints = { amqpPort: 5672, serviceBusAdminPort: 5300, cosmosPort: 8081 };
/** The Cosmos DB emulator's published key (learn.microsoft.com, "Connect to the emulator"): it opens only emulators, never an account. */
const PUBLISHED_EMULATOR_KEY = 'C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==';

test('each UseEmbeddedHost=true connection a binding names gets the emulator connection string of its service', () => {
  const env: NodeJS.ProcessEnv = { Bus: 'UseEmbeddedHost=true', Docs: ' UseEmbeddedHost=true ', Hub: 'UseEmbeddedHost=true', Elsewhere: 'Endpoint=sb://contoso.servicebus.windows.net/' };
  const { lines, restore } = pointConnectionsAtEndpoints(
    [
      fn('a', { type: 'serviceBusTrigger', direction: 'in', connection: 'Bus' }, { type: 'cosmosDB', direction: 'out', connection: 'Docs' }),
      fn('b', { type: 'eventHubTrigger', direction: 'in', connection: 'Hub' }, { type: 'serviceBus', direction: 'out', connection: 'Elsewhere' }),
    ],
    env,
    endpoints,
  );
  expect(env.Bus).toBe('Endpoint=sb://localhost:5672;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;');
  expect(env.Bus__administrationConnectionString).toBe('Endpoint=sb://localhost:5300;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;');
  expect(env.Hub).toBe(env.Bus);
  expect(env.Hub__administrationConnectionString).toBeUndefined();
  expect(env.Docs).toBe(`AccountEndpoint=http://localhost:8081/;AccountKey=${PUBLISHED_EMULATOR_KEY};`);
  // A connection to somewhere else is the app's own business.
  expect(env.Elsewhere).toBe('Endpoint=sb://contoso.servicebus.windows.net/');
  expect(lines).toHaveLength(3);

  restore();
  expect(env).toEqual({ Bus: 'UseEmbeddedHost=true', Docs: ' UseEmbeddedHost=true ', Hub: 'UseEmbeddedHost=true', Elsewhere: 'Endpoint=sb://contoso.servicebus.windows.net/' });
});

test("a binding without a connection uses its extension's default name", () => {
  const env: NodeJS.ProcessEnv = { AzureWebJobsServiceBus: 'UseEmbeddedHost=true', AzureWebJobsEventHub: 'UseEmbeddedHost=true' };
  pointConnectionsAtEndpoints([fn('a', { type: 'serviceBusTrigger', direction: 'in' }, { type: 'eventHub', direction: 'out', connection: '' })], env, endpoints);
  expect(env.AzureWebJobsServiceBus).toContain('sb://localhost:5672');
  expect(env.AzureWebJobsEventHub).toContain('sb://localhost:5672');
});

test('a name two services share, or one no binding names, is left as it is and said so', () => {
  const env: NodeJS.ProcessEnv = { Shared: 'UseEmbeddedHost=true', Unnamed: 'UseEmbeddedHost=true' };
  const { lines } = pointConnectionsAtEndpoints(
    [fn('a', { type: 'serviceBusTrigger', direction: 'in', connection: 'Shared' }, { type: 'cosmosDBTrigger', direction: 'in', connection: 'Shared' })],
    env,
    endpoints,
  );
  expect(env).toEqual({ Shared: 'UseEmbeddedHost=true', Unnamed: 'UseEmbeddedHost=true' });
  expect(lines).toEqual([
    'SDK mode: Shared (Service Bus, Cosmos DB) is named by bindings of two services; left as it is',
    'SDK mode: Unnamed is named by no binding, so its service is unknown; it stays on the in-process path',
  ]);
});
