// Order and inventory commands that arrive as messages (the order-commands queue, fed by the
// ESB): the envelope's payload is checked against the catalog schema, then handled by the same
// services as the HTTP API. The envelope's messageId is the command's messageId, so a message
// delivered twice changes the stream once.
import type { Envelope } from '../esb/envelope';
import { modelName, type SchemaRegistry } from '../esb/schemas';
import type { EventMetadata } from '../eventstore/event-store';
import { AppError, BusinessRuleError, ConflictError, NotFoundError, ValidationError } from '../shared/errors';
import type { InventoryService } from './inventory-service';
import type { OrderDetails, OrderLine } from './order';
import type { OrderService } from './order-service';

export const COMMAND_MESSAGE_TYPES = ['CreateOrder', 'AddOrderItem', 'RemoveOrderItem', 'ChangeOrderItemQuantity', 'SubmitOrder', 'CancelOrder', 'ReceiveStock'] as const;

export type CommandOutcome =
  | { action: 'complete'; stream: string; version: number; duplicate: boolean; events: string[] }
  | { action: 'deadLetter'; reason: 'CommandInvalid' | 'CommandTargetNotFound' | 'CommandConflict' | 'BusinessRuleViolated'; description: string };

interface CommandPayload extends OrderDetails {
  orderId: string;
  customerId: string;
  items: OrderLine[];
  sku: string;
  quantity: number;
  unitPrice: number;
  reason?: string;
  reference?: string;
}

interface Services {
  orders: OrderService;
  inventory: InventoryService;
  registry: SchemaRegistry;
  /** Field-level encryption: a command whose sensitive fields arrive in clear is refused rather than stored. */
  fields: { assertProtected(messageType: string, payload: Record<string, unknown>): void };
}

/** Runs one command message. Rejections become dead-letter decisions; other errors (conflicts that outlast retries, store outages) propagate so the message is retried. */
export async function handleCommandMessage(envelope: Envelope, services: Services): Promise<CommandOutcome> {
  const metadata: Partial<EventMetadata> = {
    messageId: envelope.messageId,
    correlationId: envelope.correlationId,
    causationId: envelope.causationId ?? envelope.messageId,
    ...(typeof envelope.headers.traceparent === 'string' ? { traceparent: envelope.headers.traceparent } : {}),
  };
  try {
    if (!(COMMAND_MESSAGE_TYPES as readonly string[]).includes(envelope.messageType)) {
      throw new ValidationError(`${envelope.messageType} is not an order or inventory command`, 'messageType');
    }
    services.registry.validatePayload(services.registry.get(modelName(envelope.messageType, envelope.schemaVersion)), envelope.payload);
    // The schema has vouched for the fields each type carries.
    const p = envelope.payload as unknown as CommandPayload;
    const ctx = { metadata };
    let result: { version: number; duplicate?: boolean; events: string[] };
    let stream: string;
    switch (envelope.messageType) {
      case 'CreateOrder':
        services.fields.assertProtected('CreateOrder', envelope.payload);
        result = await services.orders.create({ orderId: p.orderId, customerId: p.customerId, items: p.items, customer: p.customer, shippingAddress: p.shippingAddress, payment: p.payment }, ctx);
        stream = `order-${p.orderId}`;
        break;
      case 'AddOrderItem':
        result = await services.orders.addItem(p.orderId, { sku: p.sku, quantity: p.quantity, unitPrice: p.unitPrice }, ctx);
        stream = `order-${p.orderId}`;
        break;
      case 'RemoveOrderItem':
        result = await services.orders.removeItem(p.orderId, p.sku, ctx);
        stream = `order-${p.orderId}`;
        break;
      case 'ChangeOrderItemQuantity':
        result = await services.orders.changeQuantity(p.orderId, p.sku, p.quantity, ctx);
        stream = `order-${p.orderId}`;
        break;
      case 'SubmitOrder':
        result = await services.orders.submit(p.orderId, ctx);
        stream = `order-${p.orderId}`;
        break;
      case 'CancelOrder':
        result = await services.orders.cancel(p.orderId, p.reason ?? 'cancelled by message', ctx);
        stream = `order-${p.orderId}`;
        break;
      default:
        result = await services.inventory.receive(p.sku, { quantity: p.quantity, reference: p.reference }, ctx);
        stream = `inventory-${p.sku}`;
    }
    return { action: 'complete', stream, version: result.version, duplicate: result.duplicate === true, events: result.events };
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    const description = `${error.message}${error.target ? ` (${error.target})` : ''}`;
    if (error instanceof ValidationError) return { action: 'deadLetter', reason: 'CommandInvalid', description };
    if (error instanceof NotFoundError) return { action: 'deadLetter', reason: 'CommandTargetNotFound', description };
    if (error instanceof ConflictError) return { action: 'deadLetter', reason: 'CommandConflict', description };
    if (error instanceof BusinessRuleError) return { action: 'deadLetter', reason: 'BusinessRuleViolated', description };
    throw error;
  }
}
