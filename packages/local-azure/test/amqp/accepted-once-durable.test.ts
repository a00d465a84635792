// A send over AMQP is acknowledged only once the broker has the message on disk: @azure/service-bus
// resolves sendMessages when the service settles the transfer as accepted, so the listener must
// settle after the broker's send resolved — never when rhea's handler returns — and a send the
// broker refuses must reach the client as that refusal. (The SIGKILL test over a host process,
// test/e2e/amqp-crash, checks the same end to end, but a kill rarely lands in the window between
// an early acknowledgement and the commit; this test makes the window wide.)
import { ServiceBusClient } from '@azure/service-bus';
import { BrokerError, type OutgoingMessage } from '@backbone/azure-model/service-bus';
import { parseTopology } from '@backbone/azure-model/topology';
import { AmqpListener } from '../../src/amqp/listener';
import { ServiceBusAmqp } from '../../src/amqp/service-bus-amqp';
import { EmbeddedBroker } from '../../src/broker/broker';
import { EntityTable } from '../../src/broker/entities';
import { systemClock } from '../../src/clock';
import { HostLogger } from '../../src/host/logger';
import { GroupCommit, openDatabase } from '../../src/sqlite';

const db = openDatabase(':memory:');
const commit = new GroupCommit(db);
const broker = new EmbeddedBroker(db, new EntityTable(parseTopology('serviceBus:\n  queues:\n    - { name: orders }\n  topics: []\n', 'test')), systemClock, commit, { sweepIntervalMs: 0 });
const logger = new HostLogger({ default: 'none' });
const listener = new AmqpListener({ logger });
listener.serve(new ServiceBusAmqp(broker, listener, logger));
let client: ServiceBusClient;

/** What the broker's send does in this test: the real one, slowly, or a refusal. */
let brokerSend: (path: string, messages: OutgoingMessage[]) => Promise<void>;
const realSend = broker.send.bind(broker);
broker.send = (path, messages) => brokerSend(path, messages);

beforeAll(async () => {
  const port = await listener.listen(0);
  client = new ServiceBusClient(`Endpoint=sb://localhost:${port};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;`, {
    retryOptions: { maxRetries: 0, timeoutInMs: 10_000 },
  });
});
afterAll(async () => {
  await client.close();
  await listener.close();
  broker.close();
  commit.close();
  db.close();
});

test('the SDK sees a send acknowledged only after the broker stored it', async () => {
  const events: string[] = [];
  brokerSend = async (path, messages) => {
    events.push('broker: send started');
    await new Promise((r) => setTimeout(r, 300));
    await realSend(path, messages);
    events.push('broker: stored');
  };
  const sender = client.createSender('orders');
  await sender.sendMessages({ messageId: 'slow-1', body: 'x' });
  events.push('client: acknowledged');
  await sender.close();
  expect(events).toEqual(['broker: send started', 'broker: stored', 'client: acknowledged']);
  expect(broker.peek('orders').map((m) => m.messageId)).toEqual(['slow-1']);
});

test('a send the broker refuses is refused to the client, with the broker’s reason', async () => {
  brokerSend = () => Promise.reject(new BrokerError('MessageSizeExceeded', 'The message is larger than the entity allows.'));
  const sender = client.createSender('orders');
  await expect(sender.sendMessages({ messageId: 'refused-1', body: 'x' })).rejects.toMatchObject({ code: 'MessageSizeExceeded' });
  await sender.close();
});
