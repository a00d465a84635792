// The baseline of `npm run load`: the same orders' work done by the app's own code called
// directly, one step after the other, with no Functions host in between — no triggers, no
// listeners, no invocation model, no queue waits. Per order: the ingress accepts CreateOrder and
// SubmitOrder (signed, into the broker's inbound queue), the router routes each (to
// order-commands), the command handler applies each (events appended), the projector projects
// the new events (views written). Same SQLite file layout, same group commit, same stores as the
// host. Run as its own process (its compositions are the process's singletons) by load-run.ts:
//   node dist/scripts/support/direct-pipeline.js <orders> <concurrency>
// prints one JSON line: { orders, durationMs, ordersPerSecond }.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCosmosDefinition } from '@backbone/azure-model/cosmos';
import { loadEventHubsDefinition } from '@backbone/azure-model/eventhubs';
import { loadTopology } from '@backbone/azure-model/topology';
import { EmbeddedBroker } from '@backbone/local-azure/broker/broker';
import { EntityTable } from '@backbone/local-azure/broker/entities';
import { systemClock } from '@backbone/local-azure/clock';
import { EmbeddedDocumentStore } from '@backbone/local-azure/docstore/store';
import { EmbeddedEventHubs } from '@backbone/local-azure/eventhubs/event-log';
import { setEmbeddedRuntime } from '@backbone/local-azure/runtime';
import { GroupCommit, openDatabase } from '@backbone/local-azure/sqlite';
import type { OutgoingMessage } from '@backbone/azure-model/service-bus';
import { loadDevSecrets } from '../../src/security/dev-secrets';
import { configDir } from '../../src/shared/app-paths';
import { forEachLimit } from '../../src/shared/concurrency';
import { planOrders } from './order-traffic';

async function main(): Promise<void> {
  const orders = Number(process.argv[2] ?? 500);
  const concurrency = Number(process.argv[3] ?? 32);
  const dir = mkdtempSync(join(tmpdir(), 'direct-pipeline-'));
  process.env.ServiceBusConnection = 'UseEmbeddedHost=true';
  process.env.CosmosConnection = 'UseEmbeddedHost=true';
  process.env.EventHubConnection = 'UseEmbeddedHost=true';
  process.env.COSMOS_DATABASE_NAME ??= 'integration';
  loadDevSecrets(undefined, process.env);
  const config = configDir();
  const db = openDatabase(join(dir, 'embedded.sqlite'));
  const commit = new GroupCommit(db);
  const broker = new EmbeddedBroker(db, new EntityTable(loadTopology(join(config, 'topology.yaml'))), systemClock, commit, { sweepIntervalMs: 0 });
  const cosmos = loadCosmosDefinition(join(config, 'cosmos.yaml')).cosmos;
  const documents = new EmbeddedDocumentStore(cosmos.databaseName, cosmos.containers, db, commit, systemClock);
  const eventHubs = new EmbeddedEventHubs(loadEventHubsDefinition(join(config, 'eventhubs.yaml')).eventHubs.hubs, db, commit, systemClock);
  setEmbeddedRuntime({ broker, documents, eventHubs, db, commit, clock: systemClock, baseUrl: '' });
  // The app's compositions, loaded once the runtime is there (as the host loads the app).
  const { messaging } = require('../../src/composition/ports') as typeof import('../../src/composition/ports');
  const { esb } = require('../../src/composition/esb') as typeof import('../../src/composition/esb');
  const { eventSourcing } = require('../../src/composition/orders') as typeof import('../../src/composition/orders');
  const { fieldProtector } = require('../../src/composition/security') as typeof import('../../src/composition/security');
  const { acceptMessage } = require('../../src/esb/ingress') as typeof import('../../src/esb/ingress');
  const { parseEnvelope } = require('../../src/esb/envelope') as typeof import('../../src/esb/envelope');
  const { handleCommandMessage } = require('../../src/orders/command-messages') as typeof import('../../src/orders/command-messages');
  const { router, registry } = esb();
  const es = eventSourcing();
  const fields = fieldProtector();
  const sender = messaging();
  const events = documents.container('events');
  const skus = Array.from({ length: 50 }, (_, i) => `LOAD-SKU-${String(i).padStart(2, '0')}`);
  const planned = planOrders(orders, skus);
  let projectedTo = 0;
  // One projector pass at a time, as the change feed lease allows.
  let projecting = Promise.resolve();
  const project = () =>
    (projecting = projecting.then(async () => {
      const changes = events.readChangeFeed(projectedTo, 1000);
      if (changes.length === 0) return;
      projectedTo = changes.at(-1)!.lsn;
      await es.projector.handle(changes.map((c) => c.document));
    }));

  // What the ingress and the router send, by messageId: the next step reads it from here instead
  // of receiving it (the broker still stores it, as it does for the host).
  const sentById = new Map<string, OutgoingMessage>();
  const send = broker.send.bind(broker);
  broker.send = async (path: string, messages: OutgoingMessage[]) => {
    for (const m of messages) if (m.messageId) sentById.set(m.messageId, m);
    return send(path, messages);
  };
  const take = (messageId: string) => {
    const m = sentById.get(messageId);
    if (!m) throw new Error(`nothing was sent as ${messageId}`);
    sentById.delete(messageId);
    return m;
  };

  const started = performance.now();
  await forEachLimit(planned, concurrency, async (order, i) => {
    const items = [
      { sku: order.skus[0], quantity: 1 + (i % 3), unitPrice: 12.5 },
      { sku: order.skus[1], quantity: 1, unitPrice: 4.25 },
    ];
    for (const [messageType, payload] of [
      ['CreateOrder', { orderId: order.orderId, customerId: `cust-${i % 97}`, items }],
      ['SubmitOrder', { orderId: order.orderId }],
    ] as const) {
      const body = Buffer.from(JSON.stringify({ messageId: `${order.orderId}-${messageType}`, messageType, correlationId: order.correlationId, payload }));
      const accepted = await acceptMessage({ contentType: 'application/json', body, header: () => null }, { sender, registry, fields, now: () => new Date() });
      if (!('messageId' in accepted)) throw new Error('a batch was not expected');
      const inbound = take(accepted.messageId);
      const decision = await router.handle({ messageId: accepted.messageId, body: inbound.body, contentType: inbound.contentType, applicationProperties: inbound.applicationProperties ?? {} });
      if (decision.action !== 'complete' || decision.result !== 'routed') throw new Error(`${messageType} of ${order.orderId}: not routed (${JSON.stringify(decision).slice(0, 300)})`);
      for (const other of decision.sent.filter((x) => x.entity !== 'order-commands')) sentById.delete(other.messageId);
      const command = take(decision.sent.find((x) => x.entity === 'order-commands')!.messageId);
      const outcome = await handleCommandMessage(parseEnvelope(JSON.parse(command.body.toString('utf8'))), {
        orders: es.orders,
        inventory: es.inventory,
        registry,
        fields,
        audit: es.audit,
      });
      if (outcome.action !== 'complete') throw new Error(`${messageType} of ${order.orderId}: ${JSON.stringify(outcome)}`);
      await project();
    }
  });
  await project();
  const durationMs = performance.now() - started;
  process.stdout.write(`${JSON.stringify({ orders, durationMs: Math.round(durationMs), ordersPerSecond: Math.round((orders / durationMs) * 1000 * 10) / 10 })}\n`);
  broker.close();
  commit.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`);
  process.exit(1);
});
