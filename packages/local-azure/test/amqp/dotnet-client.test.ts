// Service Bus over AMQP, checked with a second client nobody here wrote: Microsoft's .NET SDK
// (Azure.Messaging.ServiceBus, tools/dotnet-clients), connected with the official emulator's
// connection string to the local Azure's AMQP listener in front of an in-memory broker. It speaks
// Service Bus' dialect as .NET reads it (GUID byte order, delivery count, annotations, $management
// encodings), which is not always how @azure/service-bus reads it.
//
// Needs the .NET SDK: without `dotnet` on PATH the test is skipped, saying why — except under CI,
// where it runs (and fails) so that a machine without .NET never passes silently. The program is
// built once into tools/dotnet-clients/bin (gitignored) and rebuilt only when its sources change.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseTopology } from '@backbone/azure-model/topology';
import { EventHubsAmqp } from '../../src/amqp/event-hubs-amqp';
import { AmqpListener } from '../../src/amqp/listener';
import { ServiceBusAmqp } from '../../src/amqp/service-bus-amqp';
import { EmbeddedBroker } from '../../src/broker/broker';
import { EntityTable } from '../../src/broker/entities';
import { systemClock } from '../../src/clock';
import { EmbeddedEventHubs } from '../../src/eventhubs/event-log';
import { partitionForKey } from '../../src/eventhubs/partition-key-hash';
import { HostLogger } from '../../src/host/logger';
import { GroupCommit, openDatabase } from '../../src/sqlite';

const TOPOLOGY = `
serviceBus:
  queues:
    - { name: dotnet-queue, maxDeliveryCount: 5 }
    - { name: dotnet-sessions, requiresSession: true }
  topics:
    - name: dotnet-events
      subscriptions:
        - name: red
          rules: [{ name: red, filterType: SqlFilter, sqlFilter: { sqlExpression: "color = 'red'" } }]
`;

function repoRoot(): string {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) if (existsSync(join(dir, 'tools', 'dotnet-clients'))) return dir;
  throw new Error(`no tools/dotnet-clients above ${__dirname}`);
}
const root = repoRoot();
const project = join(root, 'tools', 'dotnet-clients');
const dll = join(project, 'bin', 'ServiceBusCheck.dll');

const dotnet = spawnSync('dotnet', ['--version'], { encoding: 'utf8' });
const hasDotnet = !dotnet.error && dotnet.status === 0;
const run = hasDotnet || !!process.env.CI;
if (!run)
  console.log('dotnet-client.test: skipped — the .NET SDK (dotnet) is not on PATH; it runs the Azure.Messaging.ServiceBus client against the AMQP listener (under CI=true it runs and fails instead).');

/** Builds the program unless its build is newer than every source file. */
function build(): void {
  const sources = ['ServiceBusCheck.csproj', 'Program.cs', 'Directory.Build.props'].map((f) => statSync(join(project, f)).mtimeMs);
  if (existsSync(dll) && statSync(dll).mtimeMs > Math.max(...sources)) return;
  const built = spawnSync('dotnet', ['build', join(project, 'ServiceBusCheck.csproj'), '--nologo', '-v', 'q'], { encoding: 'utf8', cwd: root });
  if (built.status !== 0) throw new Error(`dotnet build failed (${built.error?.message ?? `exit ${built.status}`}):\n${built.stdout}${built.stderr}`);
}

type Step = { step: string; ok: boolean; error?: string } & Record<string, unknown>;

(run ? describe : describe.skip)('Azure.Messaging.ServiceBus (.NET) against the AMQP listener', () => {
  const db = openDatabase(':memory:');
  const commit = new GroupCommit(db);
  const broker = new EmbeddedBroker(db, new EntityTable(parseTopology(TOPOLOGY, 'test')), systemClock, commit, { sweepIntervalMs: 0 });
  const logger = new HostLogger({ default: process.env.AMQP_LOGS ? 'debug' : 'none' });
  const eventHubs = new EmbeddedEventHubs([{ name: 'dotnet-hub', partitionCount: 4, messageRetentionInDays: 1, consumerGroups: [] }], db, commit, systemClock);
  const listener = new AmqpListener({ logger });
  listener.serve(new EventHubsAmqp(eventHubs, listener, logger)).serve(new ServiceBusAmqp(broker, listener, logger));
  const steps = new Map<string, Step>();
  let output = '';

  beforeAll(async () => {
    build();
    const port = await listener.listen(0);
    const connectionString = `Endpoint=sb://localhost:${port};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;`;
    // Asynchronously: the listener answering the program runs on this process' event loop.
    output = await new Promise<string>((resolve) => {
      execFile('dotnet', [dll, connectionString, 'dotnet-queue', 'dotnet-sessions', 'dotnet-events', 'red', 'dotnet-hub'], { timeout: 300_000 }, (error, stdout, stderr) =>
        resolve(`${stdout}${error && !stdout ? `${error.message}\n${stderr}` : ''}`),
      );
    });
    for (const line of output.split('\n').filter((l) => l.startsWith('{'))) {
      const step = JSON.parse(line) as Step;
      steps.set(step.step, step);
    }
  }, 330_000);
  afterAll(async () => {
    await listener.close();
    broker.close();
    commit.close();
    db.close();
  });

  const step = (name: string): Step => {
    const s = steps.get(name);
    if (!s) throw new Error(`the program printed no '${name}' step:\n${output}`);
    // The whole run's lines (each with its duration), so a failure in CI explains itself.
    if (!s.ok) throw new Error(`${name} failed: ${s.error ?? ''}${s.reason ? ` (${String(s.reason)})` : ''}\n${output}`);
    return s;
  };

  test('send, peek-lock receive and complete: properties and delivery count 1 as .NET counts', () => {
    expect(step('send-receive-complete')).toMatchObject({ messageId: 'net-1', deliveryCount: 1 });
  });

  test('an abandoned message comes back with delivery count 2', () => {
    expect(step('abandon-redelivery')).toMatchObject({ deliveryCount: 2 });
  });

  test('dead-lettered with reason and description, read back from the dead-letter queue with both; dead-lettering it again is refused (amqp:not-allowed: InvalidOperationException in .NET)', () => {
    expect(step('dead-letter')).toMatchObject({ deadLetterReason: 'BadPayload', deadLetterErrorDescription: 'the payload did not parse', deadLetterAgain: 'InvalidOperationException' });
  });

  test('a scheduled message is peekable as scheduled, and arrives at its time', () => {
    expect(step('schedule')).toMatchObject({ peekedState: 'Scheduled' });
  });

  test('a deferred message comes back by sequence number, deferred, and is completed there; asked for again, MessageNotFound', () => {
    expect(step('defer')).toMatchObject({ state: 'Deferred' });
  });

  test('a session: its messages only, in order; state set, read, kept after release; the next session is the other one', () => {
    expect(step('session-state')).toMatchObject({ sessionId: 'net-session', state: 'step-2', nextSession: 'net-other' });
  });

  test('a subscription with a SQL filter gets only the messages it selects', () => {
    expect(step('topic-sql-filter')).toMatchObject({ received: ['red-1', 'red-2'] });
  });

  test("a subscription's rules through ServiceBusRuleManager: listed with .NET's codecs, added (correlation, SQL with an action), applied, removed", () => {
    expect(step('rule-manager')).toMatchObject({ rules: ['red', 'shipped-eu', 'tagged'], received: ['shipped-eu-1', 'tagged-1'] });
  });

  test('Event Hubs (Azure.Messaging.EventHubs): the hub and its partitions as .NET reads them', () => {
    expect(step('event-hub-properties')).toMatchObject({ name: 'dotnet-hub', partitionIds: ['0', '1', '2', '3'], firstPartition: '0' });
  });

  test("Event Hubs: an event sent with a partition key lands on the partition Azure's hash gives, and is read back from it with its key, body and properties", () => {
    const seen = step('event-hub-partition-key');
    expect(seen).toMatchObject({ partition: String(partitionForKey('order-42', 4)), partitionKey: 'order-42', body: '{"orderId":"o-42"}', contentType: 'application/json', source: 'dotnet' });
    expect(eventHubs.read('dotnet-hub', Number(seen.partition), -1, 10).map((e) => e.messageId)).toEqual(['net-event-1']);
  });

  test('the program ran every step, and left the broker empty (every step settled what it received)', () => {
    expect([...steps.keys()]).toEqual([
      'send-receive-complete',
      'abandon-redelivery',
      'dead-letter',
      'schedule',
      'defer',
      'session-state',
      'topic-sql-filter',
      'rule-manager',
      'event-hub-properties',
      'event-hub-partition-key',
    ]);
    expect(broker.runtimeProperties('dotnet-queue')).toMatchObject({ activeMessageCount: 0, deadLetterMessageCount: 0, scheduledMessageCount: 0 });
    expect(broker.runtimeProperties('dotnet-sessions')).toMatchObject({ activeMessageCount: 0, deadLetterMessageCount: 0 });
    expect(broker.runtimeProperties('dotnet-events/subscriptions/red')).toMatchObject({ activeMessageCount: 0, deadLetterMessageCount: 0 });
  });
});
