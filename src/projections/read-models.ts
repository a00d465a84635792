// The query side: reads the active generation of each view. An order or SKU whose view is not
// there yet (the projection lags a moment behind the append) is answered from the event store,
// so a client that just wrote sees its write; an id nobody ever wrote is 404.
import { queryWithCallerToken, type DocumentContainer } from '../ports/documents';
import { NotFoundError, ValidationError } from '../shared/errors';
import { viewId } from './projection';
import { percentile, statusId, type ProjectionStatus } from './projector';
import { REGISTRY_PK, type ProjectionRegistry, type RegistryEntry } from './registry';
import type { StreamStateDocument } from './stream-state-view';
import { toEntry, type CustomerOrderEntry } from './views/customer-orders';
import type { InventoryAvailability } from './views/inventory-availability';
import type { OrderSummary } from './views/order-summary';
import type { SalesTotals } from './views/sales-report';

export interface Fallbacks {
  order(orderId: string): Promise<{ summary: OrderSummary; version: number } | undefined>;
  inventory(sku: string): Promise<{ availability: InventoryAvailability; version: number } | undefined>;
}

export interface Page<T> {
  items: T[];
  continuation?: string;
}

const MAX_PAGE = 100;

function pageSize(limit: number | undefined, fallback = 20): number {
  if (limit === undefined) return fallback;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw new ValidationError(`limit must be an integer from 1 to ${MAX_PAGE}`, 'limit');
  return limit;
}

export class ReadModels {
  #cache = new Map<string, { entry: RegistryEntry; at: number }>();

  constructor(
    private readonly views: DocumentContainer,
    private readonly registry: ProjectionRegistry,
    private readonly fallbacks: Fallbacks,
    /** How long a generation lookup is reused; a swap is seen by queries within this time. */
    private readonly registryCacheMs = 1_000,
  ) {}

  async #active(name: string): Promise<number> {
    const hit = this.#cache.get(name);
    if (hit && Date.now() - hit.at < this.registryCacheMs) return hit.entry.active;
    const entry = await this.registry.get(name);
    this.#cache.set(name, { entry, at: Date.now() });
    return entry.active;
  }

  async order(orderId: string): Promise<{ order: OrderSummary; version: number; source: 'view' | 'events' }> {
    const g = await this.#active('order-summary');
    const doc = await this.views.read<StreamStateDocument<OrderSummary>>(viewId(g, `order:${orderId}`), `order:${orderId}`);
    if (doc) return { order: doc.state, version: doc.version, source: 'view' };
    const fallback = await this.fallbacks.order(orderId);
    if (!fallback) throw new NotFoundError(`Order ${orderId} does not exist`, 'orderId');
    return { order: fallback.summary, version: fallback.version, source: 'events' };
  }

  async customerOrders(customerId: string, options: { limit?: number; continuation?: string } = {}): Promise<Page<CustomerOrderEntry & { version: number }>> {
    const g = await this.#active('customer-orders');
    const page = await queryWithCallerToken<StreamStateDocument<OrderSummary>>(this.views, {
      partitionKey: `customer:${customerId}`,
      where: [
        { path: 'kind', op: '=', value: 'customer-order' },
        { path: 'generation', op: '=', value: g },
      ],
      orderBy: { path: 'sortKey', descending: true },
      limit: pageSize(options.limit),
      continuation: options.continuation,
    });
    if (page.items.length === 0 && !options.continuation) throw new NotFoundError(`Customer ${customerId} has no orders`, 'customerId');
    return { items: page.items.map((d) => ({ ...toEntry(d.state), version: d.version })), ...(page.continuation ? { continuation: page.continuation } : {}) };
  }

  async salesReport(options: { limit?: number; continuation?: string } = {}): Promise<Page<Pick<SalesTotals, 'sku' | 'unitsSold' | 'revenue' | 'orders'>>> {
    const g = await this.#active('sales-report');
    const page = await queryWithCallerToken<SalesTotals>(this.views, {
      where: [
        { path: 'kind', op: '=', value: 'sales' },
        { path: 'generation', op: '=', value: g },
      ],
      orderBy: { path: 'revenue', descending: true },
      limit: pageSize(options.limit, 50),
      continuation: options.continuation,
    });
    return {
      items: page.items.map((s) => ({ sku: s.sku, unitsSold: s.unitsSold, revenue: s.revenue, orders: s.orders })),
      ...(page.continuation ? { continuation: page.continuation } : {}),
    };
  }

  async inventory(sku: string): Promise<{ inventory: Omit<InventoryAvailability, 'held'>; version: number; source: 'view' | 'events' }> {
    const g = await this.#active('inventory-availability');
    const doc = await this.views.read<StreamStateDocument<InventoryAvailability>>(viewId(g, `inventory:${sku}`), `inventory:${sku}`);
    const found = doc ? { availability: doc.state, version: doc.version, source: 'view' as const } : await this.fallbacks.inventory(sku).then((f) => f && { ...f, source: 'events' as const });
    if (!found) throw new NotFoundError(`No stock was ever recorded for ${sku}`, 'sku');
    const { held: _held, ...inventory } = found.availability;
    return { inventory, version: found.version, source: found.source };
  }

  /** Generation, rebuild history and lag of every projection. */
  async projections(): Promise<
    {
      name: string;
      activeGeneration: number;
      buildingGeneration?: number;
      rebuilds: RegistryEntry['rebuilds'];
      lag: { lastMs?: number; p50Ms?: number; p99Ms?: number; samples: number };
      lastAppliedAt?: string;
      eventsApplied: number;
      poisoned: ProjectionStatus['poisoned'];
    }[]
  > {
    const entries = await this.registry.all();
    return Promise.all(
      entries.map(async (e) => {
        const status = await this.views.read<ProjectionStatus>(statusId(e.name), REGISTRY_PK);
        const samples = status?.lagSamples ?? [];
        return {
          name: e.name,
          activeGeneration: e.active,
          ...(e.building !== undefined ? { buildingGeneration: e.building } : {}),
          rebuilds: e.rebuilds,
          lag: { lastMs: status?.lastLagMs, p50Ms: percentile(samples, 50), p99Ms: percentile(samples, 99), samples: samples.length },
          ...(status?.lastAppliedAt ? { lastAppliedAt: status.lastAppliedAt } : {}),
          eventsApplied: status?.eventsApplied ?? 0,
          poisoned: status?.poisoned ?? [],
        };
      }),
    );
  }
}
