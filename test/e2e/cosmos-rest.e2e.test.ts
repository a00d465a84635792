// The host serves Cosmos DB's REST API beside its AMQP listener: the connection string it logs is
// the emulator's form, the app's own Cosmos client (src/adapters/azure/cosmos.ts) connects with it,
// and what it writes is what the host's document store — the one the functions' bindings use — holds.
import { join } from 'node:path';
import { cosmosClient } from '../../src/adapters/azure/cosmos';
import { repoRoot } from '../support/messaging-harness';
import { startHost, type RunningHost } from '../support/host';

let running: RunningHost;
beforeAll(async () => {
  running = await startHost(join(repoRoot, 'test', 'fixtures', 'host-app'), { amqpPort: 0, sweepIntervalMs: 0 });
}, 60_000);
afterAll(() => running?.stop());

/** The Cosmos DB emulator's published key (learn.microsoft.com, "Connect to the emulator"): it opens only emulators, never an account. */
const PUBLISHED_EMULATOR_KEY = 'C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==';

test('with AMQP on a free port Cosmos DB gets one too; the logged connection string reaches the store the functions use', async () => {
  const line = running.logs.map((r) => r.message).find((m) => m.startsWith('Cosmos DB (REST, plain HTTP): '));
  expect(line).toBe(`Cosmos DB (REST, plain HTTP): AccountEndpoint=http://localhost:${running.host.cosmosRest!.port}/;AccountKey=${PUBLISHED_EMULATOR_KEY};`);
  const env = { COSMOS: line!.slice('Cosmos DB (REST, plain HTTP): '.length) };
  const client = cosmosClient('COSMOS', env);
  try {
    const { resources } = await client.database('fixture').containers.readAll().fetchAll();
    expect(resources.map((c) => c.id).sort()).toEqual(['items', 'leases']);
    await client.database('fixture').container('items').items.create({ id: 'over-rest', pk: 'p', n: 1 });
    expect(await running.host.documents.container('items').read('over-rest', 'p')).toMatchObject({ id: 'over-rest', n: 1 });
    await running.host.documents.container('items').upsert({ id: 'from-store', pk: 'p', n: 2 });
    const { resource } = await client.database('fixture').container('items').item('from-store', 'p').read();
    expect(resource).toMatchObject({ id: 'from-store', n: 2 });
  } finally {
    client.dispose();
  }
});
