// The order application service: turns requests (HTTP bodies, Service Bus command messages)
// into Order commands, runs them through the command handler, and reads an order's state and
// history (time travel with asOf).
import { randomUUID } from 'node:crypto';
import { CommandHandler, type CommandOptions } from '../eventstore/command-handler';
import { fold } from '../eventstore/decider';
import type { EventStore, StoredEvent } from '../eventstore/event-store';
import { upcast } from '../eventstore/upcasting';
import { NotFoundError, ValidationError } from '../shared/errors';
import { checkId, ORDER_EVENT_SCHEMAS } from './event-schemas';
import { orderDecider, orderStreamId, type OrderCommand, type OrderDetails, type OrderEvent, type OrderLine, type OrderState } from './order';

/** The stream version after the command, for the ETag. */
export interface OrderCommandResult {
  orderId: string;
  version: number;
  /** The command had been handled before (same messageId); nothing new was written. */
  duplicate?: boolean;
  /** Event types the command appended. */
  events: string[];
}

export interface ServiceOptions {
  now?: () => Date;
  snapshotEvery?: number;
  maxRetries?: number;
  newId?: () => string;
}

export type OrderContext = CommandOptions;

export class OrderService {
  readonly handler: CommandHandler<OrderCommand, OrderEvent, OrderState>;
  readonly #now: () => Date;
  readonly #newId: () => string;

  constructor(
    private readonly store: EventStore,
    options: ServiceOptions = {},
  ) {
    this.#now = options.now ?? (() => new Date());
    this.#newId = options.newId ?? randomUUID;
    this.handler = new CommandHandler(store, orderDecider, {
      schemas: ORDER_EVENT_SCHEMAS,
      snapshotEvery: options.snapshotEvery ?? 50,
      stateSchemaVersion: 1,
      maxRetries: options.maxRetries,
      now: this.#now,
    });
  }

  async #run(orderId: string, command: OrderCommand, context: OrderContext): Promise<OrderCommandResult> {
    const result = await this.handler.handle(orderStreamId(orderId), command, context);
    return { orderId, version: result.version, events: result.events.map((e) => e.type), ...(result.duplicate ? { duplicate: true } : {}) };
  }

  #at(): string {
    return this.#now().toISOString();
  }

  create(input: { orderId?: string; customerId: string; items: OrderLine[] } & OrderDetails, context: OrderContext = {}): Promise<OrderCommandResult> {
    const orderId = input.orderId === undefined ? this.#newId() : checkId(input.orderId, 'orderId');
    checkId(input.customerId, 'customerId');
    if (!Array.isArray(input.items)) throw new ValidationError('items must be an array', 'items');
    input.items.forEach((item, i) => checkId(item?.sku, `items[${i}].sku`));
    const items = input.items.map((i) => ({ sku: i.sku, quantity: i.quantity, unitPrice: i.unitPrice }));
    const { customer, shippingAddress, payment } = input;
    const details: OrderDetails = { ...(customer ? { customer } : {}), ...(shippingAddress ? { shippingAddress } : {}), ...(payment ? { payment } : {}) };
    return this.#run(orderId, { type: 'CreateOrder', orderId, customerId: input.customerId, items, ...(Object.keys(details).length ? { details } : {}), at: this.#at() }, context);
  }

  addItem(orderId: string, item: OrderLine, context: OrderContext = {}): Promise<OrderCommandResult> {
    checkId(orderId, 'orderId');
    checkId(item.sku, 'sku');
    return this.#run(orderId, { type: 'AddItem', orderId, sku: item.sku, quantity: item.quantity, unitPrice: item.unitPrice, at: this.#at() }, context);
  }

  removeItem(orderId: string, sku: string, context: OrderContext = {}): Promise<OrderCommandResult> {
    checkId(orderId, 'orderId');
    checkId(sku, 'sku');
    return this.#run(orderId, { type: 'RemoveItem', orderId, sku, at: this.#at() }, context);
  }

  changeQuantity(orderId: string, sku: string, quantity: number, context: OrderContext = {}): Promise<OrderCommandResult> {
    checkId(orderId, 'orderId');
    checkId(sku, 'sku');
    return this.#run(orderId, { type: 'ChangeItemQuantity', orderId, sku, quantity, at: this.#at() }, context);
  }

  submit(orderId: string, context: OrderContext = {}): Promise<OrderCommandResult> {
    checkId(orderId, 'orderId');
    return this.#run(orderId, { type: 'SubmitOrder', orderId, at: this.#at() }, context);
  }

  cancel(orderId: string, reason: string, context: OrderContext = {}): Promise<OrderCommandResult> {
    checkId(orderId, 'orderId');
    return this.#run(orderId, { type: 'CancelOrder', orderId, reason, at: this.#at() }, context);
  }

  confirm(orderId: string, context: OrderContext = {}): Promise<OrderCommandResult> {
    checkId(orderId, 'orderId');
    return this.#run(orderId, { type: 'ConfirmOrder', orderId, at: this.#at() }, context);
  }

  markPaid(orderId: string, payment: { paymentId: string; amount: number }, context: OrderContext = {}): Promise<OrderCommandResult> {
    checkId(orderId, 'orderId');
    return this.#run(orderId, { type: 'MarkOrderPaid', orderId, paymentId: payment.paymentId, amount: payment.amount, at: this.#at() }, context);
  }

  markShipped(orderId: string, shipment: { shipmentId: string; carrier: string }, context: OrderContext = {}): Promise<OrderCommandResult> {
    checkId(orderId, 'orderId');
    return this.#run(orderId, { type: 'MarkOrderShipped', orderId, shipmentId: shipment.shipmentId, carrier: shipment.carrier, at: this.#at() }, context);
  }

  /** The order's current state and version; NotFound for an order that was never created. */
  async get(orderId: string): Promise<{ state: Exclude<OrderState, { status: 'none' }>; version: number }> {
    checkId(orderId, 'orderId');
    const { state, version } = await this.handler.load(orderStreamId(orderId));
    if (state.status === 'none') throw new NotFoundError(`Order ${orderId} does not exist`, 'orderId');
    return { state, version };
  }

  /** The order's events (upcast to the current schemas) up to a version, and its state then. */
  async history(orderId: string, asOf?: number): Promise<{ version: number; currentVersion: number; state: OrderState; events: StoredEvent[] }> {
    checkId(orderId, 'orderId');
    if (asOf !== undefined && (!Number.isInteger(asOf) || asOf < 1)) throw new ValidationError('asOf must be a positive integer version', 'asOf');
    const all = await this.store.readStream(orderStreamId(orderId));
    if (all.length === 0) throw new NotFoundError(`Order ${orderId} does not exist`, 'orderId');
    const currentVersion = all.at(-1)!.version;
    if (asOf !== undefined && asOf > currentVersion) throw new NotFoundError(`Order ${orderId} has ${currentVersion} events; there is no version ${asOf}`, 'asOf');
    const events = all.filter((e) => asOf === undefined || e.version <= asOf).map((e) => upcast(e, ORDER_EVENT_SCHEMAS));
    const state = fold(orderDecider, events as unknown as OrderEvent[]);
    return { version: events.at(-1)!.version, currentVersion, state, events };
  }
}
