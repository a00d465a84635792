// Fidelity: timer, Cosmos DB and Event Hubs triggers and outputs in an app with no config/
// (test/fidelity/apps/triggers), as Azure runs them:
// - the Cosmos DB database and the containers the bindings name exist; an output binding with
//   createIfNotExists creates its container at the first write (the extension's
//   CosmosDBAsyncCollector), a trigger with createLeaseContainerIfNotExists its lease container;
//   a trigger whose lease container does not exist does not start — with the extension's message
//   — and the rest of the app runs (Azure's host: "The listener for function … was unable to start");
// - the event hub and consumer group the bindings name exist;
// - a timer with an NCRONTAB schedule of every second runs every second.
// Before, such an app could not start: a cosmosDBTrigger had to name the store's own database and
// containers declared in config/cosmos.yaml, event hubs had to be declared in config/eventhubs.yaml,
// and the Cosmos DB output binding was not run at all.
import { join } from 'node:path';
import { packageRoot, startApp, type AppProcess } from './app-process';

let app: AppProcess;
beforeAll(async () => {
  app = await startApp(join(packageRoot, 'test', 'fidelity', 'apps', 'triggers'));
});
afterAll(async () => {
  await app?.stop();
});

interface Observed {
  ticks: { isPastDue: boolean }[];
  audited: { id: string; noteId: string; text: string }[];
}
const observed = async () => (await (await fetch(`${app.baseUrl}/api/observed`)).json()) as Observed;

async function until(ok: (o: Observed) => boolean, timeoutMs = 20_000): Promise<Observed> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const o = await observed();
    if (ok(o) || Date.now() > deadline) return o;
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('what the bindings name is created, one line each', () => {
  const out = app.output();
  expect(out).toMatch(/Cosmos DB database 'notesdb' created for function/);
  // The container a trigger monitors, and one an output binding writes without createIfNotExists: on Azure they exist before the app runs.
  expect(out).toMatch(/Cosmos DB container 'notesdb\/notes' \(partition key \/id\) created for function 'publishNotes'/);
  expect(out).toMatch(/Cosmos DB container 'notesdb\/audit' \(partition key \/id\) created for function 'auditNotes'/);
  expect(out).toMatch(/Event hub 'note-events' \(2 partitions\) created for function/);
  expect(out).toMatch(/Cosmos DB lease container 'leases' created for function 'publishNotes' \(createLeaseContainerIfNotExists\)/);
  // Only at its first write (createIfNotExists), as the extension creates it.
  expect(out).not.toMatch(/container 'notesdb\/drafts'/);
});

test('an output binding with createIfNotExists creates its container (on its partitionKey) at the first write', async () => {
  expect((await fetch(`${app.baseUrl}/api/drafts`, { method: 'POST', body: JSON.stringify({ id: 'd1', author: 'ana' }) })).status).toBe(201);
  // Partitioned on /author: an item without that value is refused.
  expect((await fetch(`${app.baseUrl}/api/drafts`, { method: 'POST', body: JSON.stringify({ id: 'd2' }) })).status).toBe(500);
});

test('a trigger whose lease container does not exist does not start; the others run', () => {
  expect(app.output()).toMatch(
    /The listener for function 'withoutLeases' was unable to start\. .*the lease container 'missing-leases' \(in database 'notesdb'\) does not exist\. .*To automatically create the lease container, set 'CreateLeaseContainerIfNotExists' to 'true'\./,
  );
});

test('HTTP → Cosmos DB output → Cosmos DB trigger → Event Hubs output → Event Hubs trigger → Cosmos DB output → Cosmos DB trigger', async () => {
  for (const id of ['n1', 'n2', 'n3']) {
    const res = await fetch(`${app.baseUrl}/api/notes`, { method: 'POST', body: JSON.stringify({ id, text: `note ${id}` }) });
    expect(res.status).toBe(201);
  }
  const o = await until((x) => x.audited.length >= 3);
  expect(o.audited.map((a) => a.id).sort()).toEqual(['audit-n1', 'audit-n2', 'audit-n3']);
  expect(o.audited.find((a) => a.noteId === 'n2')).toEqual({ id: 'audit-n2', noteId: 'n2', text: 'note n2' });
  // The same id written again is an upsert (the output binding upserts): one more change, no error.
  const again = await fetch(`${app.baseUrl}/api/notes`, { method: 'POST', body: JSON.stringify({ id: 'n1', text: 'edited' }) });
  expect(again.status).toBe(201);
  expect((await until((x) => x.audited.some((a) => a.text === 'edited'))).audited.some((a) => a.text === 'edited')).toBe(true);
});

test('a Cosmos DB output item without an id fails the invocation (Cosmos DB requires one)', async () => {
  const res = await fetch(`${app.baseUrl}/api/notes`, { method: 'POST', body: JSON.stringify({ text: 'no id' }) });
  expect(res.status).toBe(500);
});

test('the timer (every second) runs every second', async () => {
  const o = await until((x) => x.ticks.length >= 2, 10_000);
  expect(o.ticks.length).toBeGreaterThanOrEqual(2);
  expect(o.ticks[0]).toEqual({ isPastDue: false });
});
