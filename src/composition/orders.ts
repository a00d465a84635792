// Wires the event-sourced side once per process: the event store on the `events` container,
// the order and inventory services, the projections into `views`, the read models and the audit.
import { documentContainer } from './ports';
import type { DocumentContainer } from '../ports/documents';
import { DocumentEventStore, type EventStore, type StoredEvent } from '../eventstore/event-store';
import { upcast, type EventSchemas } from '../eventstore/upcasting';
import { withEventTracing } from '../observability/traced-event-store';
import { INVENTORY_EVENT_SCHEMAS, ORDER_EVENT_SCHEMAS } from '../orders/event-schemas';
import { inventoryStreamId } from '../orders/inventory';
import { InventoryService } from '../orders/inventory-service';
import { orderStreamId } from '../orders/order';
import { OrderService } from '../orders/order-service';
import type { Projection } from '../projections/projection';
import { Projector } from '../projections/projector';
import { ReadModels } from '../projections/read-models';
import { rebuildProjection, type RebuildProgress } from '../projections/rebuild';
import { ProjectionRegistry } from '../projections/registry';
import { customerOrdersView } from '../projections/views/customer-orders';
import { evolveAvailability, initialAvailability, inventoryAvailabilityView } from '../projections/views/inventory-availability';
import { evolveSummary, initialSummary, orderSummaryView } from '../projections/views/order-summary';
import { salesReportView } from '../projections/views/sales-report';
import { AUDIT_EVENT_SCHEMAS, AUDIT_STREAM_PREFIX, AuditLog } from '../security/audit-log';

export const PROJECTIONS: Projection[] = [orderSummaryView, customerOrdersView, salesReportView, inventoryAvailabilityView];

export function schemasFor(streamId: string): EventSchemas {
  if (streamId.startsWith(AUDIT_STREAM_PREFIX)) return AUDIT_EVENT_SCHEMAS;
  return streamId.startsWith('inventory-') ? INVENTORY_EVENT_SCHEMAS : ORDER_EVENT_SCHEMAS;
}

export interface EventSourcing {
  store: EventStore;
  orders: OrderService;
  inventory: InventoryService;
  views: DocumentContainer;
  registry: ProjectionRegistry;
  projector: Projector;
  readModels: ReadModels;
  /** Who issued which command and operator action (docs/security.md). */
  audit: AuditLog;
  rebuild(name: string, onProgress?: (p: RebuildProgress) => void): ReturnType<typeof rebuildProjection>;
}

export function snapshotEvery(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.EVENTSTORE_SNAPSHOT_EVERY ?? 50);
  return Number.isInteger(n) && n >= 0 ? n : 50;
}

export function createEventSourcing(events: DocumentContainer, views: DocumentContainer, options: { now?: () => Date; snapshotEvery?: number } = {}): EventSourcing {
  const store = withEventTracing(new DocumentEventStore(events));
  const now = options.now ?? (() => new Date());
  const orders = new OrderService(store, { now, snapshotEvery: options.snapshotEvery ?? snapshotEvery() });
  const inventory = new InventoryService(store, { now, snapshotEvery: options.snapshotEvery ?? snapshotEvery() });
  const registry = new ProjectionRegistry(
    views,
    PROJECTIONS.map((p) => p.name),
    now,
  );
  const projector = new Projector({ views, store, registry, projections: PROJECTIONS, schemasFor, now });
  const readStream = async (streamId: string): Promise<StoredEvent[]> => (await store.readStream(streamId)).map((e) => upcast(e, schemasFor(streamId)));
  const readModels = new ReadModels(views, registry, {
    async order(orderId) {
      const events = await readStream(orderStreamId(orderId));
      return events.length ? { summary: events.reduce(evolveSummary, initialSummary(orderStreamId(orderId))), version: events.at(-1)!.version } : undefined;
    },
    async inventory(sku) {
      const events = await readStream(inventoryStreamId(sku));
      return events.length ? { availability: events.reduce(evolveAvailability, initialAvailability(inventoryStreamId(sku))), version: events.at(-1)!.version } : undefined;
    },
  });
  return {
    store,
    orders,
    inventory,
    views,
    registry,
    projector,
    readModels,
    audit: new AuditLog(store, { now }),
    rebuild: (name, onProgress) => rebuildProjection(name, { projections: PROJECTIONS, projector, registry, store, views, schemasFor }, onProgress),
  };
}

let shared: EventSourcing | undefined;

export function eventSourcing(): EventSourcing {
  shared ??= createEventSourcing(documentContainer('events'), documentContainer('views'));
  return shared;
}

/**
 * The worker stops: the projections' status documents get what they measured since their last
 * write, and the command handlers let go of the streams they kept (another host may start in
 * this process, on other data).
 */
export async function releaseEventSourcing(): Promise<void> {
  if (!shared) return;
  shared.orders.handler.forget();
  shared.inventory.handler.forget();
  await shared.projector.flushStatus().catch(() => undefined);
}
