// Nothing a client saw acknowledged is lost over AMQP: @azure/service-bus clients (the emulator's
// connection string, several connections, single messages and batches) send to the host's AMQP
// endpoint; the host is killed with SIGKILL mid-stream and restarted on the same data directory,
// and every message whose send resolved — the SDK resolves when the service settles the transfer
// as accepted, which the host does only once the message is on disk — is on the queue. `finance`
// is a route destination nothing in the app consumes, so what is there after the restart is
// exactly what survived.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceBusClient } from '@azure/service-bus';
import { ChildHost } from '../support/child-host';

const QUEUE = 'finance';
const CLIENTS = 4;
const KILL_AFTER_ACKNOWLEDGED = 300;

let dataDir: string;
beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'amqp-crash-'));
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

test('every message whose send an SDK client saw acknowledged before a SIGKILL is on the queue after the restart', async () => {
  const lines: string[] = [];
  const first = await ChildHost.start(dataDir, lines);
  expect(first.amqpConnectionString).toMatch(/UseDevelopmentEmulator=true/);
  const acknowledged = new Set<string>();
  const sent = new Set<string>();
  let killed = false;
  let failedSends = 0;
  // No retries: a send that fails with the connection is not acknowledged, and is not resent.
  const clients = Array.from({ length: CLIENTS }, () => new ServiceBusClient(first.amqpConnectionString!, { retryOptions: { maxRetries: 0, timeoutInMs: 5_000 } }));
  const sendLoop = async (client: ServiceBusClient, c: number) => {
    const sender = client.createSender(QUEUE);
    for (let i = 0; !killed; i++) {
      // Every third send is a batch of five: one transfer the host accepts whole or not at all.
      const ids = i % 3 === 2 ? Array.from({ length: 5 }, (_, k) => `amqp-crash-${c}-${i}-${k}`) : [`amqp-crash-${c}-${i}`];
      for (const id of ids) sent.add(id);
      try {
        await sender.sendMessages(ids.map((messageId) => ({ messageId, body: { messageId, amount: i } })));
        for (const id of ids) acknowledged.add(id);
      } catch {
        failedSends++;
        if (!killed) throw new Error(`a send failed before the kill (${failedSends})`);
        return;
      }
      if (!killed && acknowledged.size >= KILL_AFTER_ACKNOWLEDGED) {
        killed = true;
        await first.kill('SIGKILL');
      }
    }
  };
  await Promise.all(clients.map(sendLoop));
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  expect(killed).toBe(true);

  const second = await ChildHost.start(dataDir, lines);
  const client = new ServiceBusClient(second.amqpConnectionString!, { retryOptions: { maxRetries: 0, timeoutInMs: 10_000 } });
  try {
    const receiver = client.createReceiver(QUEUE, { receiveMode: 'receiveAndDelete' });
    const received: string[] = [];
    for (let empty = 0; empty < 2;) {
      const batch = await receiver.receiveMessages(200, { maxWaitTimeInMs: 1_000 });
      if (batch.length === 0) empty++;
      received.push(...batch.map((m) => String(m.messageId)));
    }
    const onQueue = new Set(received);
    expect([...acknowledged].filter((id) => !onQueue.has(id))).toEqual([]);
    // What is there was sent by these clients (a send in flight at the kill may or may not be), once.
    expect(received.filter((id) => !sent.has(id))).toEqual([]);
    expect(received.length).toBe(onQueue.size);
    expect(acknowledged.size).toBeGreaterThanOrEqual(KILL_AFTER_ACKNOWLEDGED);
  } finally {
    await client.close();
    await second.kill('SIGTERM');
  }
}, 90_000);
