// The Order aggregate: a customer's order from draft to shipped.
//   draft ──submit──▶ submitted ──confirm──▶ confirmed ──ship (once paid)──▶ shipped
//     └──────────────── cancel (any time before shipping) ────────────────▶ cancelled
// Lines change only while the order is a draft; at most 100 lines; quantities are positive
// integers and unit prices non-negative. Repeating a command that already took effect
// (confirm, cancel, pay with the same payment, ship) decides nothing, so retried saga steps are
// harmless.
import { BusinessRuleError, ConflictError, NotFoundError, ValidationError } from '../shared/errors';
import type { Decider } from '../eventstore/decider';

export const MAX_ORDER_LINES = 100;

export interface OrderLine {
  sku: string;
  quantity: number;
  unitPrice: number;
}

/**
 * What a checkout says about the customer and how they pay. Card details, contact data and the
 * street address arrive encrypted (field-level encryption at the ingress) and are kept that way:
 * only a card's last four digits and brand are in clear.
 */
export interface OrderDetails {
  customer?: { email?: string; phone?: string };
  shippingAddress?: { line1: string; city: string; postalCode: string; country: string };
  payment?: { method: 'card' | 'paypal' | 'bank_transfer' | 'gift_card'; card?: { number: string; holder: string; expiry: string; last4?: string; brand?: string } };
}

export type OrderCommand =
  | { type: 'CreateOrder'; orderId: string; customerId: string; items: OrderLine[]; details?: OrderDetails; at: string }
  | { type: 'AddItem'; orderId: string; sku: string; quantity: number; unitPrice: number; at: string }
  | { type: 'RemoveItem'; orderId: string; sku: string; at: string }
  | { type: 'ChangeItemQuantity'; orderId: string; sku: string; quantity: number; at: string }
  | { type: 'SubmitOrder'; orderId: string; at: string }
  | { type: 'ConfirmOrder'; orderId: string; at: string }
  | { type: 'CancelOrder'; orderId: string; reason: string; at: string }
  | { type: 'MarkOrderPaid'; orderId: string; paymentId: string; amount: number; at: string }
  | { type: 'MarkOrderShipped'; orderId: string; shipmentId: string; carrier: string; at: string };

export type OrderEvent =
  | { type: 'OrderCreated'; data: { orderId: string; customerId: string; createdAt: string } & OrderDetails }
  | { type: 'ItemAdded'; data: OrderLine }
  | { type: 'ItemRemoved'; data: { sku: string } }
  | { type: 'ItemQuantityChanged'; data: { sku: string; quantity: number } }
  | { type: 'OrderSubmitted'; data: { orderId: string; customerId: string; lines: OrderLine[]; total: number; submittedAt: string } }
  | { type: 'OrderConfirmed'; data: { confirmedAt: string } }
  | { type: 'OrderCancelled'; data: { reason: string; cancelledAt: string; previousStatus: OrderStatus } }
  | { type: 'OrderPaid'; data: { paymentId: string; amount: number; paidAt: string } }
  | { type: 'OrderShipped'; data: { shipmentId: string; carrier: string; shippedAt: string } };

export type OrderStatus = 'draft' | 'submitted' | 'confirmed' | 'cancelled' | 'shipped';

export type OrderState =
  | { status: 'none' }
  | {
      status: OrderStatus;
      orderId: string;
      customerId: string;
      createdAt: string;
      lines: OrderLine[];
      /** How the customer pays (card fields encrypted): what the payment step authorizes. */
      payment?: OrderDetails['payment'];
      paymentId?: string;
      shipmentId?: string;
    };

type Existing = Exclude<OrderState, { status: 'none' }>;

export function orderTotal(lines: readonly OrderLine[]): number {
  return Math.round(lines.reduce((sum, l) => sum + l.quantity * l.unitPrice, 0) * 100) / 100;
}

function checkLine(line: { sku: string; quantity: number; unitPrice?: number }, at = ''): void {
  const where = at ? `${at}.` : '';
  if (typeof line.sku !== 'string' || line.sku.trim() === '') throw new ValidationError('sku must be a non-empty string', `${where}sku`);
  if (!Number.isInteger(line.quantity) || line.quantity <= 0) throw new ValidationError('quantity must be a positive integer', `${where}quantity`);
  if (line.unitPrice !== undefined && (!Number.isFinite(line.unitPrice) || line.unitPrice < 0)) {
    throw new ValidationError('unitPrice must be zero or more', `${where}unitPrice`);
  }
}

function existing(state: OrderState, orderId: string): Existing {
  if (state.status === 'none') throw new NotFoundError(`Order ${orderId} does not exist`, 'orderId');
  return state;
}

function draft(state: OrderState, orderId: string): Existing {
  const order = existing(state, orderId);
  if (order.status !== 'draft') throw new BusinessRuleError(`Order ${orderId} is ${order.status}; its lines can no longer change`, 'status');
  return order;
}

function addLine(lines: OrderLine[], line: OrderLine): OrderLine[] {
  const i = lines.findIndex((l) => l.sku === line.sku);
  if (i < 0) return [...lines, line];
  return lines.map((l, j) => (j === i ? { ...l, quantity: l.quantity + line.quantity, unitPrice: line.unitPrice } : l));
}

export function decide(command: OrderCommand, state: OrderState): OrderEvent[] {
  switch (command.type) {
    case 'CreateOrder': {
      if (state.status !== 'none') throw new ConflictError(`Order ${command.orderId} exists already`, 'orderId');
      if (!command.customerId?.trim()) throw new ValidationError('customerId is required', 'customerId');
      if (command.items.length > MAX_ORDER_LINES) throw new BusinessRuleError(`An order has at most ${MAX_ORDER_LINES} lines`, 'items');
      command.items.forEach((item, i) => checkLine(item, `items[${i}]`));
      let lines: OrderLine[] = [];
      const added: OrderEvent[] = [];
      for (const item of command.items) {
        lines = addLine(lines, item);
        if (lines.length > MAX_ORDER_LINES) throw new BusinessRuleError(`An order has at most ${MAX_ORDER_LINES} lines`, 'items');
        added.push({ type: 'ItemAdded', data: { sku: item.sku, quantity: item.quantity, unitPrice: item.unitPrice } });
      }
      const { customer, shippingAddress, payment } = command.details ?? {};
      const details: OrderDetails = { ...(customer ? { customer } : {}), ...(shippingAddress ? { shippingAddress } : {}), ...(payment ? { payment } : {}) };
      return [{ type: 'OrderCreated', data: { orderId: command.orderId, customerId: command.customerId, createdAt: command.at, ...details } }, ...added];
    }
    case 'AddItem': {
      const order = draft(state, command.orderId);
      checkLine(command);
      const isNew = !order.lines.some((l) => l.sku === command.sku);
      if (isNew && order.lines.length >= MAX_ORDER_LINES) throw new BusinessRuleError(`An order has at most ${MAX_ORDER_LINES} lines`, 'sku');
      return [{ type: 'ItemAdded', data: { sku: command.sku, quantity: command.quantity, unitPrice: command.unitPrice } }];
    }
    case 'RemoveItem': {
      const order = draft(state, command.orderId);
      if (!order.lines.some((l) => l.sku === command.sku)) throw new NotFoundError(`Order ${command.orderId} has no line for ${command.sku}`, 'sku');
      return [{ type: 'ItemRemoved', data: { sku: command.sku } }];
    }
    case 'ChangeItemQuantity': {
      const order = draft(state, command.orderId);
      checkLine({ sku: command.sku, quantity: command.quantity });
      const line = order.lines.find((l) => l.sku === command.sku);
      if (!line) throw new NotFoundError(`Order ${command.orderId} has no line for ${command.sku}`, 'sku');
      return line.quantity === command.quantity ? [] : [{ type: 'ItemQuantityChanged', data: { sku: command.sku, quantity: command.quantity } }];
    }
    case 'SubmitOrder': {
      const order = existing(state, command.orderId);
      if (order.status === 'submitted') return [];
      if (order.status !== 'draft') throw new BusinessRuleError(`Order ${command.orderId} is ${order.status}; only a draft can be submitted`, 'status');
      if (order.lines.length === 0) throw new BusinessRuleError(`Order ${command.orderId} has no lines to submit`, 'items');
      return [
        {
          type: 'OrderSubmitted',
          data: { orderId: order.orderId, customerId: order.customerId, lines: order.lines, total: orderTotal(order.lines), submittedAt: command.at },
        },
      ];
    }
    case 'ConfirmOrder': {
      const order = existing(state, command.orderId);
      if (order.status === 'confirmed' || order.status === 'shipped') return [];
      if (order.status !== 'submitted') throw new BusinessRuleError(`Order ${command.orderId} is ${order.status}; only a submitted order can be confirmed`, 'status');
      return [{ type: 'OrderConfirmed', data: { confirmedAt: command.at } }];
    }
    case 'CancelOrder': {
      const order = existing(state, command.orderId);
      if (order.status === 'cancelled') return [];
      if (order.status === 'shipped') throw new BusinessRuleError(`Order ${command.orderId} has shipped; it can no longer be cancelled`, 'status');
      return [{ type: 'OrderCancelled', data: { reason: command.reason, cancelledAt: command.at, previousStatus: order.status } }];
    }
    case 'MarkOrderPaid': {
      const order = existing(state, command.orderId);
      if (order.paymentId === command.paymentId) return [];
      if (order.paymentId) throw new BusinessRuleError(`Order ${command.orderId} is paid already (payment ${order.paymentId})`, 'paymentId');
      if (order.status !== 'submitted' && order.status !== 'confirmed') {
        throw new BusinessRuleError(`Order ${command.orderId} is ${order.status}; only a submitted or confirmed order can be paid`, 'status');
      }
      if (!Number.isFinite(command.amount) || command.amount < 0) throw new ValidationError('amount must be zero or more', 'amount');
      return [{ type: 'OrderPaid', data: { paymentId: command.paymentId, amount: command.amount, paidAt: command.at } }];
    }
    case 'MarkOrderShipped': {
      const order = existing(state, command.orderId);
      if (order.status === 'shipped') return [];
      if (order.status !== 'confirmed') throw new BusinessRuleError(`Order ${command.orderId} is ${order.status}; only a confirmed order ships`, 'status');
      if (!order.paymentId) throw new BusinessRuleError(`Order ${command.orderId} is not paid yet`, 'paymentId');
      return [{ type: 'OrderShipped', data: { shipmentId: command.shipmentId, carrier: command.carrier, shippedAt: command.at } }];
    }
  }
}

export function evolve(state: OrderState, event: OrderEvent): OrderState {
  if (event.type === 'OrderCreated') {
    return {
      status: 'draft',
      orderId: event.data.orderId,
      customerId: event.data.customerId,
      createdAt: event.data.createdAt,
      lines: [],
      ...(event.data.payment ? { payment: event.data.payment } : {}),
    };
  }
  if (state.status === 'none') return state;
  switch (event.type) {
    case 'ItemAdded':
      return { ...state, lines: addLine(state.lines, event.data) };
    case 'ItemRemoved':
      return { ...state, lines: state.lines.filter((l) => l.sku !== event.data.sku) };
    case 'ItemQuantityChanged':
      return { ...state, lines: state.lines.map((l) => (l.sku === event.data.sku ? { ...l, quantity: event.data.quantity } : l)) };
    case 'OrderSubmitted':
      return { ...state, status: 'submitted' };
    case 'OrderConfirmed':
      return { ...state, status: 'confirmed' };
    case 'OrderCancelled':
      return { ...state, status: 'cancelled' };
    case 'OrderPaid':
      return { ...state, paymentId: event.data.paymentId };
    case 'OrderShipped':
      return { ...state, status: 'shipped', shipmentId: event.data.shipmentId };
  }
}

export const orderDecider: Decider<OrderCommand, OrderEvent, OrderState> = {
  decide,
  evolve,
  initialState: () => ({ status: 'none' }),
};

export const orderStreamId = (orderId: string) => `order-${orderId}`;
