// What the app asked of each service, counted where the embedded host serves it: Cosmos DB
// operations with the size of every item they touched, Service Bus API calls, Event Hubs events,
// function executions (and how long at least one ran: the time a Flex Consumption instance bills),
// Durable task hub traffic and log records. `npm run cost` turns these into a bill; nothing in the
// host depends on them, and counting is a map increment, so it is always on.

export type UsageService = 'cosmos' | 'serviceBus' | 'eventHubs' | 'functions' | 'durable' | 'logs';

export interface UsageRecord {
  service: UsageService;
  /** The container, entity, hub or function. */
  resource: string;
  operation: string;
  /** API calls (requests). */
  calls: number;
  /** Items those calls carried (documents, messages, events). */
  items: number;
  bytes: number;
  /** Σ over items of max(1, size in KB): what per-KB request charges scale with. */
  kb: number;
  /** Summed durations, for executions. */
  ms: number;
}

export class UsageMeter {
  readonly #records = new Map<string, UsageRecord>();
  #active = 0;
  #busySince = 0;
  #busyMs = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** One call that carried items of these sizes (bytes). */
  call(service: UsageService, resource: string, operation: string, sizes: readonly number[] = [], ms = 0): void {
    const key = `${service}\u0000${resource}\u0000${operation}`;
    let r = this.#records.get(key);
    if (!r) this.#records.set(key, (r = { service, resource, operation, calls: 0, items: 0, bytes: 0, kb: 0, ms: 0 }));
    r.calls++;
    r.items += sizes.length;
    for (const size of sizes) {
      r.bytes += size;
      r.kb += Math.max(1, size / 1024);
    }
    r.ms += ms;
  }

  /** An execution starts: the instance is busy while at least one runs. */
  executionStarted(): void {
    if (this.#active++ === 0) this.#busySince = this.now();
  }

  executionEnded(): void {
    if (--this.#active === 0) this.#busyMs += this.now() - this.#busySince;
  }

  /** Milliseconds during which at least one execution ran (so far). */
  busyMs(): number {
    return this.#busyMs + (this.#active > 0 ? this.now() - this.#busySince : 0);
  }

  records(): UsageRecord[] {
    return [...this.#records.values()].map((r) => ({ ...r }));
  }

  /** Forgets everything counted so far (e.g. after a run's setup). */
  reset(): void {
    this.#records.clear();
    this.#busyMs = 0;
    this.#busySince = this.now();
  }
}

export const byteLength = (value: unknown): number => (typeof value === 'string' ? Buffer.byteLength(value) : Buffer.isBuffer(value) ? value.length : Buffer.byteLength(JSON.stringify(value ?? null)));
