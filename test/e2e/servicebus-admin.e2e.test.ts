// The host serves Service Bus' administration API beside its AMQP listener: a queue created with
// ServiceBusAdministrationClient is one any Service Bus client can then use over AMQP, and the app's
// adapter reads its runtime properties with the emulator's connection strings.
import { join } from 'node:path';
import { ServiceBusAdministrationClient, ServiceBusClient } from '@azure/service-bus';
import { AzureServiceBusMessaging } from '../../src/adapters/azure/service-bus';
import { repoRoot } from '../support/messaging-harness';
import { startHost, type RunningHost } from '../support/host';

let running: RunningHost;
beforeAll(async () => {
  running = await startHost(join(repoRoot, 'test', 'fixtures', 'host-app'), { amqpPort: 0, sweepIntervalMs: 0 });
}, 60_000);
afterAll(() => running?.stop());

/** The connection string the host logged at start-up for a service. */
const logged = (service: string): string => {
  const line = running.logs.map((r) => r.message).find((m) => m.startsWith(`${service}: `));
  if (!line) throw new Error(`the host did not log a connection string for ${service}`);
  return line.slice(service.length + 2);
};

test('with AMQP on a free port the administration API gets one too, on a port of its own', () => {
  const amqp = logged('Service Bus (AMQP 1.0)');
  const admin = logged('Service Bus administration (HTTP)');
  expect(admin).toBe(amqp.replace(/localhost:\d+/, `localhost:${running.host.serviceBusAdmin!.port}`));
  expect(admin).not.toBe(amqp);
});

test('a queue created through the administration API takes messages over AMQP, and its runtime properties count them', async () => {
  const env = { SB: logged('Service Bus (AMQP 1.0)'), SB__administrationConnectionString: logged('Service Bus administration (HTTP)') };
  const admin = new ServiceBusAdministrationClient(env.SB__administrationConnectionString);
  // @azure/service-bus 7.9 speaks HTTPS to the administration endpoint whatever the connection string says.
  admin.pipeline.addPolicy({
    name: 'developmentEmulatorHttp',
    sendRequest: (request, next) => {
      request.url = request.url.replace(/^https:/, 'http:');
      request.allowInsecureConnection = true;
      return next(request);
    },
  });
  await admin.createQueue('made-at-run-time', { maxDeliveryCount: 4 });
  const client = new ServiceBusClient(env.SB);
  const messaging = new AzureServiceBusMessaging({ connection: 'SB', env });
  try {
    const sender = client.createSender('made-at-run-time');
    await sender.sendMessages([{ body: 'one' }, { body: 'two' }]);
    await sender.close();
    expect(await messaging.runtimeProperties('made-at-run-time')).toMatchObject({ kind: 'queue', activeMessageCount: 2, totalMessageCount: 2 });
    expect(await messaging.listEntities()).toContainEqual({ path: 'made-at-run-time', kind: 'queue' });
  } finally {
    await messaging.close();
    await client.close();
  }
  await admin.deleteQueue('made-at-run-time');
  expect(running.host.broker.entities.get('made-at-run-time')).toBeUndefined();
});
