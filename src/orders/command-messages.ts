// Order and inventory commands that arrive as messages (the order-commands queue, fed by the
// ESB): the envelope's payload is checked against the catalog schema, then handled by the same
// services as the HTTP API. The envelope's messageId is the command's messageId, so a message
// delivered twice changes the stream once. The caller of a command message is the ESB (a system
// identity): its events say so, and the audit records each outcome — at least once, since a
// redelivered message is recorded again (as a duplicate when it had been applied).
import type { Envelope } from '../esb/envelope';
import { retryDelayMs, type BackoffPolicy } from '../esb/retry';
import { modelName, type SchemaRegistry } from '../esb/schemas';
import type { EventMetadata } from '../eventstore/event-store';
import type { AuditCaller, AuditLog } from '../security/audit-log';
import { AppError, BusinessRuleError, ConflictError, NotFoundError, ValidationError } from '../shared/errors';
import type { InventoryService } from './inventory-service';
import type { OrderDetails, OrderLine } from './order';
import type { OrderService } from './order-service';

export const COMMAND_MESSAGE_TYPES = ['CreateOrder', 'AddOrderItem', 'RemoveOrderItem', 'ChangeOrderItemQuantity', 'SubmitOrder', 'CancelOrder', 'ReceiveStock'] as const;

export type CommandOutcome =
  | { action: 'complete'; stream: string; version: number; duplicate: boolean; events: string[] }
  | { action: 'retryLater'; attempt: number; delayMs: number; description: string }
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
  /** Where each outcome is audited; an audit that fails fails the message, so it is retried. */
  audit?: AuditLog;
  /** Field-level encryption: a command whose sensitive fields arrive in clear is refused rather than stored. */
  fields: { assertProtected(messageType: string, payload: Record<string, unknown>): void };
}

/**
 * A command for an order that does not exist yet may have overtaken its CreateOrder: the inbound
 * queue is not FIFO and the router runs messages concurrently, so the two can reach the
 * order-commands session in either order. Such a command is tried again later (a scheduled copy,
 * so the session's other messages — the CreateOrder among them — go first) before it is
 * dead-lettered as CommandTargetNotFound: 8 retries, about 16 s in all (COMMAND_NOT_FOUND_RETRIES
 * changes the count).
 */
export const TARGET_NOT_YET_RETRIES = 8;
export const TARGET_NOT_YET_BACKOFF: BackoffPolicy = { initialIntervalMs: 100, maxIntervalMs: 5_000 };

export interface RetryOptions {
  /** How many times this command was already tried again later. */
  retries?: number;
  maxRetries?: number;
  random?: () => number;
}

/** Who issues a command that arrives as a message. */
export const ESB_CALLER: AuditCaller = { name: 'esb', kind: 'system', roles: [] };

/**
 * Runs one command message. Rejections become dead-letter decisions; other errors (conflicts that
 * outlast retries, store outages) propagate so the message is retried. Final outcomes are
 * audited; a command put off for later is audited when it is finally applied or rejected.
 */
export async function handleCommandMessage(envelope: Envelope, services: Services, retry: RetryOptions = {}): Promise<CommandOutcome> {
  const outcome = await runCommandMessage(envelope, services, retry);
  if (services.audit && outcome.action !== 'retryLater') {
    const p = (envelope.payload ?? {}) as { orderId?: unknown; sku?: unknown };
    const target = envelope.messageType === 'ReceiveStock' ? (typeof p.sku === 'string' ? `inventory:${p.sku}` : 'inventory') : typeof p.orderId === 'string' ? `order:${p.orderId}` : 'orders';
    await services.audit.record({
      action: envelope.messageType,
      kind: 'command',
      target,
      caller: ESB_CALLER,
      correlationId: envelope.correlationId,
      outcome: outcome.action === 'complete' ? 'accepted' : 'rejected',
      ...(outcome.action === 'deadLetter' ? { reason: outcome.reason } : {}),
      details: {
        messageId: envelope.messageId,
        ...(typeof envelope.headers.source === 'string' ? { source: envelope.headers.source } : {}),
        ...(outcome.action === 'complete' && outcome.duplicate ? { duplicate: true } : {}),
      },
    });
  }
  return outcome;
}

async function runCommandMessage(envelope: Envelope, services: Services, { retries = 0, maxRetries = TARGET_NOT_YET_RETRIES, random = Math.random }: RetryOptions): Promise<CommandOutcome> {
  const metadata: Partial<EventMetadata> = {
    messageId: envelope.messageId,
    correlationId: envelope.correlationId,
    causationId: envelope.causationId ?? envelope.messageId,
    caller: { name: ESB_CALLER.name, kind: ESB_CALLER.kind },
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
    if (error instanceof NotFoundError) {
      const creates = envelope.messageType === 'CreateOrder' || envelope.messageType === 'ReceiveStock';
      if (!creates && retries < maxRetries) {
        const attempt = retries + 1;
        return { action: 'retryLater', attempt, delayMs: retryDelayMs(attempt, TARGET_NOT_YET_BACKOFF, random), description };
      }
      return { action: 'deadLetter', reason: 'CommandTargetNotFound', description: retries > 0 ? `${description} (still after ${retries} retries)` : description };
    }
    if (error instanceof ConflictError) return { action: 'deadLetter', reason: 'CommandConflict', description };
    if (error instanceof BusinessRuleError) return { action: 'deadLetter', reason: 'BusinessRuleViolated', description };
    throw error;
  }
}
