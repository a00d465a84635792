// Adapters under the messaging contract suite. The embedded broker runs on a manual clock (time
// moves only when a test says so); a real Service Bus namespace or the emulator joins when
// SERVICEBUS_TEST_NAMESPACE (identity) or SERVICEBUS_TEST_CONNECTION_STRING is set, with the
// suite's entities created from the same topology file.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { AzureServiceBusMessaging } from '../../src/adapters/azure/service-bus';
import { credentialFor } from '../../src/adapters/azure/credentials';
import { EmbeddedMessaging } from '../../src/adapters/embedded/messaging';
import { loadTopology, type TopologyDefinition } from '@backbone/azure-model/topology';
import { EmbeddedBroker } from '@backbone/local-azure/broker/broker';
import { EntityTable } from '@backbone/local-azure/broker/entities';
import { ManualClock } from '@backbone/local-azure/clock';
import { GroupCommit, openDatabase } from '@backbone/local-azure/sqlite';
import { AmqpListener } from '@backbone/local-azure/amqp/listener';
import { ServiceBusAmqp } from '@backbone/local-azure/amqp/service-bus-amqp';
import { ServiceBusAdminServer } from '@backbone/local-azure/servicebus-admin/atom-api';
import { HostLogger } from '@backbone/local-azure/host/logger';
import type { Messaging } from '../../src/ports/messaging';
import { throughWorkerChannel } from './worker-channel';

export const repoRoot = join(__dirname, '..', '..', '..');
export const contractTopologyFile = join(repoRoot, 'test', 'contract', 'messaging-topology.yaml');

export interface MessagingHarness {
  name: string;
  messaging: Messaging;
  /** How long a receive may wait for a message to show up (0 on the embedded broker). */
  waitMs: number;
  /**
   * How long a receive that should find nothing waits before the test believes it: a message the
   * broker holds reaches a receiver with credit at once, so this is shorter than waitMs.
   */
  quietMs: number;
  /** Lets time pass: the manual clock moves; against Azure the test sleeps. */
  advance(ms: number): Promise<void>;
  /** The adapter's current time (the manual clock's, or the wall clock). */
  now(): number;
  close(): Promise<void>;
  /** Embedded only: close and reopen the same database file, as a restarted host would. */
  reopen?(): Promise<MessagingHarness>;
}

export const flushIo = async (): Promise<void> => {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
};

const unavailable = (): never => {
  throw new Error('not part of the messaging harness');
};

/** The embedded broker as a function in a worker process reaches it: every call over the worker's channel. */
export function workerChannelHarness(): MessagingHarness {
  const h = embeddedHarness(':memory:', new ManualClock(), true);
  return { ...h, name: 'embedded broker from a worker process' };
}

export function embeddedHarness(file = ':memory:', clock = new ManualClock(), overWorkerChannel = false): MessagingHarness {
  const db = openDatabase(file);
  const commit = new GroupCommit(db);
  const broker = new EmbeddedBroker(db, new EntityTable(loadTopology(contractTopologyFile)), clock, commit, { sweepIntervalMs: 0 });
  const close = async () => {
    broker.close();
    commit.close();
    db.close();
  };
  return {
    name: 'embedded broker',
    messaging: new EmbeddedMessaging(
      overWorkerChannel ? throughWorkerChannel({ serviceBus: broker, cosmos: { container: () => unavailable() }, eventHubs: { publish: () => unavailable() }, baseUrl: '' }).serviceBus : broker,
    ),
    waitMs: 0,
    quietMs: 0,
    now: () => clock.now(),
    async advance(ms) {
      clock.advance(ms);
      await flushIo();
    },
    close,
    ...(file !== ':memory:'
      ? {
          async reopen() {
            await close();
            return embeddedHarness(file, clock);
          },
        }
      : {}),
  };
}

export function azureHarnessConfig(): { env: NodeJS.ProcessEnv } | { skip: string } {
  const namespace = process.env.SERVICEBUS_TEST_NAMESPACE;
  const connectionString = process.env.SERVICEBUS_TEST_CONNECTION_STRING;
  if (namespace) return { env: { SB_TEST__fullyQualifiedNamespace: namespace } };
  if (connectionString) return { env: { SB_TEST: connectionString } };
  return {
    skip: 'Azure Service Bus contract run skipped: set SERVICEBUS_TEST_NAMESPACE (with az login) or SERVICEBUS_TEST_CONNECTION_STRING (emulator) to run the suite against it.',
  };
}

async function ensureEntities(env: NodeJS.ProcessEnv, topology: TopologyDefinition): Promise<void> {
  const { ServiceBusAdministrationClient } = await import('@azure/service-bus');
  const admin = env.SB_TEST ? new ServiceBusAdministrationClient(env.SB_TEST) : new ServiceBusAdministrationClient(env.SB_TEST__fullyQualifiedNamespace!, credentialFor('SB_TEST', env));
  for (const q of topology.serviceBus.queues) {
    if (await admin.queueExists(q.name)) continue;
    const { name, ...options } = q;
    await admin.createQueue(name, options);
  }
  for (const t of topology.serviceBus.topics) {
    if (!(await admin.topicExists(t.name))) await admin.createTopic(t.name);
    for (const s of t.subscriptions) {
      if (await admin.subscriptionExists(t.name, s.name)) continue;
      const { name, rules, ...options } = s;
      await admin.createSubscription(t.name, name, options);
      if (rules?.length) {
        await admin.deleteRule(t.name, name, '$Default');
        for (const r of rules) {
          const filter =
            r.filterType === 'SqlFilter'
              ? { sqlExpression: r.sqlFilter!.sqlExpression }
              : { ...r.correlationFilter, subject: r.correlationFilter!.label, applicationProperties: r.correlationFilter!.properties };
          await admin.createRule(t.name, name, r.name, filter);
        }
      }
    }
  }
  assert.ok(await admin.queueExists(topology.serviceBus.queues[0]!.name), 'contract entities were created');
}

/** Empties every entity of the suite so each test starts clean on a shared namespace. */
async function drain(m: Messaging, topology: TopologyDefinition): Promise<void> {
  const paths = [
    ...topology.serviceBus.queues.map((q) => ({ path: q.name, sessions: q.requiresSession === true })),
    ...topology.serviceBus.topics.flatMap((t) => t.subscriptions.map((s) => ({ path: `${t.name}/subscriptions/${s.name}`, sessions: s.requiresSession === true }))),
  ];
  for (const { path, sessions } of paths) {
    for (const p of [path, `${path}/$deadletterqueue`]) {
      if (sessions && p === path) {
        for (let s = await m.acceptSession(p, { maxWaitMs: 1000 }); s; s = await m.acceptSession(p, { maxWaitMs: 1000 })) {
          for (let got = await m.receiveFromSession(s, { maxMessages: 50, maxWaitMs: 500 }); got.length; got = await m.receiveFromSession(s, { maxMessages: 50, maxWaitMs: 500 })) {
            await Promise.all(got.map((g) => m.complete(g)));
          }
          await m.releaseSession(s);
        }
        continue;
      }
      for (let got = await m.receive(p, { maxMessages: 50, maxWaitMs: 500 }); got.length; got = await m.receive(p, { maxMessages: 50, maxWaitMs: 500 })) {
        await Promise.all(got.map((g) => m.complete(g)));
      }
    }
  }
}

export async function azureHarness(env: NodeJS.ProcessEnv): Promise<MessagingHarness> {
  const topology = loadTopology(contractTopologyFile);
  await ensureEntities(env, topology);
  const messaging = new AzureServiceBusMessaging({ connection: 'SB_TEST', env });
  await drain(messaging, topology);
  return {
    name: 'Azure Service Bus',
    messaging,
    waitMs: 3000,
    quietMs: 3000,
    now: () => Date.now(),
    advance: (ms) => new Promise((r) => setTimeout(r, ms)),
    close: () => messaging.close(),
  };
}

/**
 * The app's Service Bus adapter (@azure/service-bus) against the local Azure over AMQP: the
 * embedded broker (on a manual clock) behind its AMQP listener and its administration API,
 * reached with the emulator's connection strings — the production code path, run locally.
 */
export async function amqpHarness(clock = new ManualClock()): Promise<MessagingHarness> {
  const db = openDatabase(':memory:');
  const commit = new GroupCommit(db);
  const broker = new EmbeddedBroker(db, new EntityTable(loadTopology(contractTopologyFile)), clock, commit, { sweepIntervalMs: 0 });
  const logger = new HostLogger({ default: process.env.AMQP_LOGS ? 'debug' : 'none' });
  const listener = new AmqpListener({ logger, now: () => Date.now() });
  listener.serve(new ServiceBusAmqp(broker, listener, logger));
  const port = await listener.listen(0);
  const admin = new ServiceBusAdminServer({ broker });
  const adminPort = await admin.listen(0);
  const emulator = (p: number) => `Endpoint=sb://localhost:${p};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;`;
  const env = { SB_TEST: emulator(port), SB_TEST__administrationConnectionString: emulator(adminPort) };
  const messaging = new AzureServiceBusMessaging({ connection: 'SB_TEST', env });
  return {
    name: 'Azure adapter over AMQP on the local Azure',
    messaging,
    waitMs: 1000,
    quietMs: 250,
    now: () => clock.now(),
    async advance(ms) {
      clock.advance(ms);
      await flushIo();
    },
    async close() {
      await messaging.close();
      await listener.close();
      await admin.close();
      broker.close();
      commit.close();
      db.close();
    },
  };
}
