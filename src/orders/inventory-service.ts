// The inventory application service: stock receipts, reservations for orders (the saga's
// steps and compensations), adjustments, and the current stock of a SKU.
import { CommandHandler, type CommandOptions } from '../eventstore/command-handler';
import type { EventStore } from '../eventstore/event-store';
import { NotFoundError } from '../shared/errors';
import { checkId, INVENTORY_EVENT_SCHEMAS } from './event-schemas';
import { available, inventoryDecider, inventoryStreamId, type InventoryCommand, type InventoryEvent, type InventoryState } from './inventory';
import type { ServiceOptions } from './order-service';

export interface InventoryCommandResult {
  sku: string;
  version: number;
  duplicate?: boolean;
  events: string[];
}

export class InventoryService {
  readonly handler: CommandHandler<InventoryCommand, InventoryEvent, InventoryState>;
  readonly #now: () => Date;

  constructor(store: EventStore, options: ServiceOptions = {}) {
    this.#now = options.now ?? (() => new Date());
    this.handler = new CommandHandler(store, inventoryDecider, {
      schemas: INVENTORY_EVENT_SCHEMAS,
      snapshotEvery: options.snapshotEvery ?? 50,
      stateSchemaVersion: 1,
      maxRetries: options.maxRetries,
      now: this.#now,
    });
  }

  async #run(sku: string, command: InventoryCommand, context: CommandOptions): Promise<InventoryCommandResult> {
    checkId(sku, 'sku');
    const result = await this.handler.handle(inventoryStreamId(sku), command, context);
    return { sku, version: result.version, events: result.events.map((e) => e.type), ...(result.duplicate ? { duplicate: true } : {}) };
  }

  #at(): string {
    return this.#now().toISOString();
  }

  receive(sku: string, input: { quantity: number; reference?: string }, context: CommandOptions = {}) {
    return this.#run(sku, { type: 'ReceiveStock', sku, quantity: input.quantity, ...(input.reference ? { reference: input.reference } : {}), at: this.#at() }, context);
  }

  reserve(sku: string, orderId: string, quantity: number, context: CommandOptions = {}) {
    return this.#run(sku, { type: 'ReserveStock', sku, orderId, quantity, at: this.#at() }, context);
  }

  release(sku: string, orderId: string, context: CommandOptions = {}) {
    return this.#run(sku, { type: 'ReleaseStock', sku, orderId, at: this.#at() }, context);
  }

  commit(sku: string, orderId: string, context: CommandOptions = {}) {
    return this.#run(sku, { type: 'CommitReservation', sku, orderId, at: this.#at() }, context);
  }

  adjust(sku: string, delta: number, reason: string, context: CommandOptions = {}) {
    return this.#run(sku, { type: 'AdjustStock', sku, delta, reason, at: this.#at() }, context);
  }

  async get(sku: string): Promise<{ sku: string; onHand: number; reserved: number; available: number; version: number }> {
    checkId(sku, 'sku');
    const { state, version } = await this.handler.load(inventoryStreamId(sku));
    if (!state.known) throw new NotFoundError(`No stock was ever recorded for ${sku}`, 'sku');
    return { sku, onHand: state.onHand, reserved: state.reserved, available: available(state), version };
  }
}
