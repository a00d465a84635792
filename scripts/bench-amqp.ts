// npm run bench:amqp [-- --messages 3000]
// Service Bus throughput over the wire beside the in-process path, measured in the same run on
// the same kind of broker (SQLite on disk, a commit per batch of writes):
// - in-process: the app's embedded messaging adapter calling the broker in this process — what a
//   function on the local Azure does when the app runs in its default mode;
// - over AMQP: the app's @azure/service-bus adapter (the production code path) with the official
//   emulator's connection string, talking to a host process started as `npm start` starts it.
// Four workloads: single-message sends (16 in flight), batches of 100, peek-lock receive +
// complete in batches of up to 100, and one message per receive, one after another, under a
// backlog (a trigger with cardinality one takes messages so). Printed as messages/s and the AMQP/in-process ratio; written to bench/results/.
// The host process runs the whole app (its triggers idle: `finance` has no consumer), and the
// client runs in this process: one core each on a two-core machine.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import Table from 'cli-table3';
import { openServices } from '@backbone/local-azure/host/services';
import { systemClock } from '@backbone/local-azure/clock';
import { UsageMeter } from '@backbone/local-azure/usage';
import { AzureServiceBusMessaging } from '../src/adapters/azure/service-bus';
import { EmbeddedMessaging } from '../src/adapters/embedded/messaging';
import type { Messaging } from '../src/ports/messaging';
import { appRoot } from '../src/shared/app-paths';
import { forEachLimit } from '../src/shared/concurrency';
import { integerOption, parseScriptArgs } from './support/cli-args';
import { ChildHost } from './support/child-host';
import { progress } from './support/progress';

const QUEUE = 'finance';
const { values } = parseScriptArgs('npm run bench:amqp -- [--messages 3000]', { options: { messages: { type: 'string', default: '3000' } } });
const N = integerOption('messages', values.messages, 100);

type Workload = 'send one at a time (16 in flight)' | 'send in batches of 100' | 'receive + complete (peek-lock)' | 'receive one + complete, one at a time';
const WORKLOADS: Workload[] = ['send one at a time (16 in flight)', 'send in batches of 100', 'receive + complete (peek-lock)', 'receive one + complete, one at a time'];

const body = Buffer.from(JSON.stringify({ orderId: 'ORD-1001', customerId: 'CUST-42', totalAmount: 45.48, currency: 'EUR' }));
const message = (run: string, i: number) => ({ body, messageId: `${run}-${i}`, contentType: 'application/json', applicationProperties: { messageType: 'PaymentReceived' } });

/** Messages per second of each workload through one adapter; the queue is left empty. */
async function measure(name: string, messaging: Messaging): Promise<Record<Workload, number>> {
  const bar = progress(name, N * WORKLOADS.length);
  const rates = {} as Record<Workload, number>;
  const timed = async (workload: Workload, work: () => Promise<void>) => {
    const start = performance.now();
    await work();
    rates[workload] = N / ((performance.now() - start) / 1000);
  };
  // Warm up (connections, links, statements) on a few messages that are then taken off again.
  await messaging.send(QUEUE, [message(`${name}-warm`, 0)]);
  for (const m of await messaging.receive(QUEUE, { maxMessages: 10, maxWaitMs: 2_000 })) await messaging.complete(m);

  await timed(WORKLOADS[0]!, () =>
    forEachLimit(
      Array.from({ length: N }, (_, i) => i),
      16,
      async (i) => {
        await messaging.send(QUEUE, [message(`${name}-single`, i)]);
        bar.increment();
      },
    ),
  );
  await timed(WORKLOADS[1]!, async () => {
    for (let i = 0; i < N; i += 100) {
      const batch = Array.from({ length: Math.min(100, N - i) }, (_, k) => message(`${name}-batch`, i + k));
      await messaging.send(QUEUE, batch);
      bar.increment(batch.length);
    }
  });
  // What the two send workloads left: 2N messages; receive and complete N of them, then drain.
  await timed(WORKLOADS[2]!, async () => {
    for (let done = 0; done < N;) {
      const got = await messaging.receive(QUEUE, { maxMessages: Math.min(100, N - done), maxWaitMs: 5_000 });
      if (got.length === 0) throw new Error(`${name}: the queue ran dry after ${done} of ${N}`);
      await Promise.all(got.map((m) => messaging.complete(m)));
      done += got.length;
      bar.increment(got.length);
    }
  });
  // The other N, one message per receive (as a trigger with cardinality one takes them) under a backlog.
  await timed(WORKLOADS[3]!, async () => {
    for (let done = 0; done < N; done++) {
      const got = await messaging.receive(QUEUE, { maxMessages: 1, maxWaitMs: 5_000 });
      if (got.length === 0) throw new Error(`${name}: the queue ran dry after ${done} of ${N}`);
      await messaging.complete(got[0]!);
      bar.increment();
    }
  });
  bar.stop();
  for (;;) {
    const rest = await messaging.receive(QUEUE, { maxMessages: 100, maxWaitMs: 500 });
    if (rest.length === 0) break;
    await Promise.all(rest.map((m) => messaging.complete(m)));
  }
  return rates;
}

let hostErrors = (): string => '';
async function main(): Promise<void> {
  const root = appRoot();
  const work = mkdtempSync(join(tmpdir(), 'bench-amqp-'));
  const services = openServices({ databaseFile: join(work, 'in-process.sqlite'), configDir: join(root, 'config'), clock: systemClock, usage: new UsageMeter(), sweepIntervalMs: 0 });
  const host = await ChildHost.start(join(work, 'host'), []);
  hostErrors = () => host.stderr.split('\n').slice(-30).join('\n');
  const azure = new AzureServiceBusMessaging({ connection: 'BENCH_SB', env: { BENCH_SB: host.amqpConnectionString } });
  try {
    console.log(`Service Bus over AMQP beside the in-process path: ${N.toLocaleString('en-US')} messages per workload, queue '${QUEUE}', SQLite on disk\n`);
    const inProcess = await measure('in-process', new EmbeddedMessaging(services.broker));
    const overAmqp = await measure('over AMQP', azure);
    const plain = process.stdout.isTTY ? undefined : { head: [], border: [] };
    const table = new Table({ style: plain, head: ['workload', 'in-process msg/s', 'SDK over AMQP msg/s', 'AMQP / in-process'] });
    const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
    for (const w of WORKLOADS) table.push([w, fmt(inProcess[w]), fmt(overAmqp[w]), `${(overAmqp[w] / inProcess[w]).toFixed(2)}×`]);
    console.log(`\n${table.toString()}`);
    const results = {
      benchmark: 'amqp',
      at: new Date().toISOString(),
      machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version },
      parameters: { messages: N, queue: QUEUE },
      inProcess,
      overAmqp,
    };
    const out = join(root, 'bench', 'results');
    mkdirSync(out, { recursive: true });
    const file = join(out, `amqp-${results.at.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    console.log(`\nWritten to ${file}`);
  } finally {
    await azure.close();
    await host.kill('SIGTERM');
    services.broker.close();
    services.commit.close();
    services.db.close();
    rmSync(work, { recursive: true, force: true });
  }
}

void main().catch((error: unknown) => {
  // What the host said last, when it is the host that failed.
  if (hostErrors()) console.error(`host stderr:\n${hostErrors()}`);
  console.error(error);
  process.exit(1);
});
