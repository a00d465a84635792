// cosmosDBTrigger functions on the embedded document store, with the Cosmos DB extension's
// change feed processor semantics:
//  - a lease document per monitored container in the lease container (one partition range here),
//    owned by one listener at a time, renewed, taken over once expired;
//  - without a checkpoint, startFromBeginning / startFromTime / "now" decide where reading starts;
//    with one, they are ignored;
//  - batches of at most maxItemsPerInvocation changes (latest version of each item, with _lsn),
//    in order; the next read follows at once while changes remain, after feedPollDelay otherwise;
//  - the batch is checkpointed after the invocation whether it succeeded or threw (the extension
//    logs the failure and moves on) — a retry policy re-runs the batch first, holding the lease;
//  - a batch running while the host stops is not checkpointed, so it is delivered again.
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { Document } from '@backbone/azure-model/documents';
import type { Clock } from '../clock';
import type { EmbeddedContainer, EmbeddedDocumentStore } from '../docstore/store';
import type { RpcBindingInfo, RpcInvocationResponse } from '../worker/rpc';
import type { RegisteredFunction } from '../worker/worker-state';
import { abortableDelay, type FunctionExecutor } from './executor';
import type { HostLogger } from './logger';
import { resolveSettingExpression } from './settings';

/** Defaults of the extension (CosmosDBTriggerAttribute, ChangeFeedProcessorOptions). */
export const COSMOS_TRIGGER_DEFAULTS = {
  leaseContainerName: 'leases',
  feedPollDelay: 5_000,
  leaseAcquireInterval: 13_000,
  leaseExpirationInterval: 60_000,
  leaseRenewInterval: 17_000,
  /** Unset in the extension: the service picks the page size (100 items for the change feed). */
  maxItemsPerInvocation: 100,
};

export interface CosmosTriggerSpec {
  fn: RegisteredFunction;
  triggerName: string;
  container: EmbeddedContainer;
  leases: EmbeddedContainer;
  leaseId: string;
  maxItems: number;
  feedPollDelay: number;
  leaseAcquireInterval: number;
  leaseExpirationInterval: number;
  leaseRenewInterval: number;
  startFromBeginning: boolean;
  startFromTime?: number;
}

interface LeaseDocument extends Document {
  id: string;
  version: number;
  LeaseToken: string;
  FeedRange: { Range: { min: string; max: string } };
  Owner: string | null;
  /** The change feed position: the LSN of the last change handled, quoted as an ETag. */
  ContinuationToken: string | null;
  properties: Record<string, string>;
  timestamp: string;
  Mode: string;
}

export interface CosmosDBListenerOptions {
  documents: EmbeddedDocumentStore;
  clock: Clock;
  executor: FunctionExecutor;
  logger: HostLogger;
  env: NodeJS.ProcessEnv;
  afterInvocation: (fn: RegisteredFunction, response: RpcInvocationResponse, invocationId: string) => Promise<void>;
}

const num = (v: unknown, fallback: number) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : fallback);

/** A lease owned by a host process that no longer runs is free to take at once. */
function ownerIsDead(owner: string | null): boolean {
  const pid = owner?.match(/^embedded-(\d+)-/)?.[1];
  if (!pid || Number(pid) === process.pid) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export class CosmosDBListener {
  readonly #entries: { spec: CosmosTriggerSpec; running?: Promise<void>; owner: string }[] = [];
  readonly #abort = new AbortController();

  constructor(private readonly options: CosmosDBListenerOptions) {
    setMaxListeners(0, this.#abort.signal);
  }

  /** Reads the trigger's options the way the extension does; throws on the ones it rejects. */
  spec(fn: RegisteredFunction, triggerName: string, trigger: RpcBindingInfo): CosmosTriggerSpec {
    const { env, documents } = this.options;
    const where = `function '${fn.metadata.name}'`;
    const setting = (v: unknown) => (typeof v === 'string' ? resolveSettingExpression(v, env) : undefined);
    const databaseName = setting(trigger.databaseName);
    const containerName = setting(trigger.containerName);
    const connection = setting(trigger.connection);
    if (!connection) throw new Error(`${where}: the cosmosDBTrigger needs a connection setting`);
    if (!env[connection] && !env[`${connection}__accountEndpoint`]) {
      throw new Error(`${where}: Cosmos DB connection '${connection}' does not exist. Make sure that it is a defined App Setting.`);
    }
    if (!databaseName || !containerName) throw new Error(`${where}: the cosmosDBTrigger needs databaseName and containerName`);
    const leaseDatabase = setting(trigger.leaseDatabaseName) ?? databaseName;
    const leaseContainerName = setting(trigger.leaseContainerName) ?? COSMOS_TRIGGER_DEFAULTS.leaseContainerName;
    for (const db of [databaseName, leaseDatabase]) {
      if (db !== documents.databaseName) throw new Error(`${where}: database '${db}' is not the embedded store's database '${documents.databaseName}' (config/cosmos.yaml)`);
    }
    if (leaseContainerName === containerName) throw new Error(`${where}: The monitored container cannot be the same as the container storing the leases.`);
    if (!documents.has(containerName)) throw new Error(`${where}: container '${containerName}' is not declared in config/cosmos.yaml`);
    if (!documents.has(leaseContainerName) && trigger.createLeaseContainerIfNotExists === true) {
      // As the extension creates it: partitioned on /id.
      documents.addContainer({ name: leaseContainerName, partitionKey: '/id' });
      this.options.logger.log('information', 'Host.Startup', `Cosmos DB lease container '${leaseContainerName}' created for function '${fn.metadata.name}' (createLeaseContainerIfNotExists)`);
    }
    if (!documents.has(leaseContainerName)) {
      throw new Error(
        `${where}: Either the source container '${containerName}' (in database '${databaseName}') or the lease container '${leaseContainerName}' (in database '${leaseDatabase}') does not exist. Both containers must exist before the listener starts. To automatically create the lease container, set 'CreateLeaseContainerIfNotExists' to 'true'.`,
      );
    }
    if (trigger.startFromBeginning === true && trigger.startFromTime !== undefined) {
      throw new Error(`${where}: Only one of StartFromBeginning or StartFromTime can be used`);
    }
    let startFromTime: number | undefined;
    if (trigger.startFromTime !== undefined) {
      startFromTime = Date.parse(String(trigger.startFromTime));
      if (Number.isNaN(startFromTime)) throw new Error(`${where}: startFromTime '${String(trigger.startFromTime)}' is not a date`);
    }
    const prefix = setting(trigger.leaseContainerPrefix) ?? '';
    return {
      fn,
      triggerName,
      container: documents.container(containerName),
      leases: documents.container(leaseContainerName),
      leaseId: `${prefix}embedded.documents.localhost_${databaseName}_${containerName}..0`,
      maxItems: num(trigger.maxItemsPerInvocation, COSMOS_TRIGGER_DEFAULTS.maxItemsPerInvocation),
      feedPollDelay: num(trigger.feedPollDelay, COSMOS_TRIGGER_DEFAULTS.feedPollDelay),
      leaseAcquireInterval: num(trigger.leaseAcquireInterval, COSMOS_TRIGGER_DEFAULTS.leaseAcquireInterval),
      leaseExpirationInterval: num(trigger.leaseExpirationInterval, COSMOS_TRIGGER_DEFAULTS.leaseExpirationInterval),
      leaseRenewInterval: num(trigger.leaseRenewInterval, COSMOS_TRIGGER_DEFAULTS.leaseRenewInterval),
      startFromBeginning: trigger.startFromBeginning === true,
      startFromTime,
    };
  }

  add(spec: CosmosTriggerSpec): void {
    this.#entries.push({ spec, owner: `embedded-${process.pid}-${randomUUID()}` });
  }

  start(): void {
    for (const entry of this.#entries) entry.running = this.#run(entry.spec, entry.owner);
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await Promise.allSettled(this.#entries.map((e) => e.running ?? Promise.resolve()));
  }

  #log(spec: CosmosTriggerSpec, level: 'debug' | 'information' | 'warning' | 'error', message: string): void {
    this.options.logger.log(level, `Host.Triggers.CosmosDB`, `${spec.fn.metadata.name}: ${message}`);
  }

  #now(): string {
    return new Date(this.options.clock.now()).toISOString();
  }

  /** Takes the lease if it is free, expired or ours; creates it (and the .info marker) the first time. */
  async #acquire(spec: CosmosTriggerSpec, owner: string): Promise<LeaseDocument | undefined> {
    const lease = await spec.leases.read<LeaseDocument>(spec.leaseId, spec.leaseId);
    if (!lease) {
      const infoId = spec.leaseId.replace(/\.\.0$/, '.info');
      if (!(await spec.leases.read(infoId, infoId))) await spec.leases.upsert({ id: infoId });
      try {
        return await spec.leases.create<LeaseDocument>({
          id: spec.leaseId,
          version: 0,
          LeaseToken: '0',
          FeedRange: { Range: { min: '', max: 'FF' } },
          Owner: owner,
          ContinuationToken: null,
          properties: {},
          timestamp: this.#now(),
          Mode: 'Incremental Feed',
        });
      } catch {
        return undefined; // another listener created it first
      }
    }
    const age = this.options.clock.now() - Date.parse(lease.timestamp);
    const free = !lease.Owner || lease.Owner === owner || age > spec.leaseExpirationInterval || ownerIsDead(lease.Owner);
    if (!free) return undefined;
    try {
      return await spec.leases.replace<LeaseDocument>({ ...lease, Owner: owner, timestamp: this.#now() }, { ifMatch: lease._etag });
    } catch {
      return undefined;
    }
  }

  /** Where a lease without a checkpoint starts reading. */
  #startPosition(spec: CosmosTriggerSpec): number {
    if (spec.startFromBeginning) return 0;
    if (spec.startFromTime !== undefined) return spec.container.lsnBefore(spec.startFromTime);
    return spec.container.latestLsn();
  }

  async #run(spec: CosmosTriggerSpec, owner: string): Promise<void> {
    const signal = this.#abort.signal;
    let lease: LeaseDocument | undefined;
    let renewedAt = 0;
    while (!signal.aborted) {
      try {
        if (!lease) {
          lease = await this.#acquire(spec, owner);
          if (!lease) {
            await abortableDelay(spec.leaseAcquireInterval, signal);
            continue;
          }
          this.#log(spec, 'debug', `acquired lease ${lease.id}`);
          renewedAt = this.options.clock.now();
          if (lease.ContinuationToken === null) {
            // The start position is recorded at once, so a restart before the first batch does
            // not move "now" past changes made meanwhile.
            lease = await spec.leases.replace<LeaseDocument>({ ...lease, ContinuationToken: `"${this.#startPosition(spec)}"`, timestamp: this.#now() }, { ifMatch: lease._etag });
          }
        }
        const after = Number(JSON.parse(lease.ContinuationToken!));
        const changes = spec.container.readChangeFeed(after, spec.maxItems);
        if (changes.length === 0) {
          if (this.options.clock.now() - renewedAt >= spec.leaseRenewInterval) {
            lease = await spec.leases.replace<LeaseDocument>({ ...lease, timestamp: this.#now() }, { ifMatch: lease._etag });
            renewedAt = this.options.clock.now();
          }
          await abortableDelay(spec.feedPollDelay, signal);
          continue;
        }
        await this.#deliver(
          spec,
          changes.map((c) => c.document),
          signal,
        );
        // Stopping (not draining): leave the batch unacknowledged so it is delivered again.
        if (signal.aborted) break;
        lease = await spec.leases.replace<LeaseDocument>({ ...lease, ContinuationToken: `"${changes.at(-1)!.lsn}"`, timestamp: this.#now() }, { ifMatch: lease._etag });
        renewedAt = this.options.clock.now();
      } catch (error) {
        // Lost the lease (412) or the store failed: start over from the stored lease.
        this.#log(spec, 'warning', `lease ${spec.leaseId}: ${(error as Error).message}; re-acquiring`);
        lease = undefined;
        await abortableDelay(Math.min(spec.feedPollDelay, 1_000), signal);
      }
    }
    // Release the lease so another listener (or the next host) takes it at once.
    if (lease) {
      const current = await spec.leases.read<LeaseDocument>(spec.leaseId, spec.leaseId).catch(() => undefined);
      if (current?.Owner === owner) await spec.leases.replace({ ...current, Owner: null, timestamp: this.#now() }, { ifMatch: current._etag }).catch(() => undefined);
    }
  }

  async #deliver(spec: CosmosTriggerSpec, documents: Document[], signal: AbortSignal): Promise<void> {
    let invocationId = '';
    try {
      const outcome = await this.options.executor.execute(spec.fn, {
        reason: `New changes on container ${spec.container.name} at ${this.#now()}`,
        signal,
        // A batch serves many transactions: its span starts a trace; the app parents per-event work on each event.
        trace: { kind: 'consumer', attributes: { 'db.system': 'cosmosdb', 'db.collection.name': spec.container.name, 'messaging.batch.message_count': documents.length } },
        request: ({ invocationId: id }) => {
          invocationId = id;
          // The extension hands non-.NET workers the batch as one JSON array string; binding data is empty.
          return { inputData: [{ name: spec.triggerName, data: { string: JSON.stringify(documents) } }], triggerMetadata: {} };
        },
      });
      await this.options.afterInvocation(spec.fn, outcome.response, invocationId);
    } catch {
      // The executor logged the failure; like the extension, the batch is checkpointed anyway.
      this.#log(spec, 'warning', `Lease 0 encountered an unhandled user exception during processing.`);
    }
  }
}
