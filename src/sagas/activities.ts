// The order-fulfilment saga's steps and compensations. Inventory and the order are the real
// aggregates (their deciders make repeats harmless: reserving again for the same order, confirming
// a confirmed order, cancelling a cancelled one decide nothing); payment, shipping, carrier,
// invoicing, loyalty and notification are simulated services whose ledgers apply each effect once
// per order and step. Every activity goes through the configured fault injection first.
//   result { ok: true, output }   the step is done (output feeds later steps)
//   result { ok: false, reason }  a business "no": the saga compensates, no retry
//   a thrown error                transient: retried by the step's policy
import type { DocumentContainer } from '../ports/documents';
import { completeEnvelope } from '../esb/envelope';
import type { MessageSender } from '../ports/messaging';
import type { InventoryService } from '../orders/inventory-service';
import type { OrderLine } from '../orders/order';
import type { OrderService } from '../orders/order-service';
import { authorizeCard } from '../participants/card-authorization';
import { injectFaults, participantsConfig } from '../participants/faults';
import { Ledger } from '../participants/ledger';
import { SealedValueError } from '../security/sealed-value';
import { AppError, BusinessRuleError, NotFoundError } from '../shared/errors';
import type { StepInput, StepResult } from './definition';

export interface OrderFacts {
  customerId: string;
  total: number;
  itemCount: number;
  lines: OrderLine[];
}

export interface SagaDependencies {
  orders: OrderService;
  inventory: InventoryService;
  ledgers: DocumentContainer;
  sender: MessageSender;
  /** Field-level encryption: the payment step decrypts the card it authorizes (and nothing else). */
  fields: { reveal(consumer: string, messageType: string, payload: Record<string, unknown>): Record<string, unknown> };
  now?: () => Date;
}

export type Activity = (input: StepInput) => Promise<StepResult>;

/** Participants with a ledger, and the steps each one records. */
export const LEDGER_STEPS: Record<string, { participant: string; compensation: string }> = {
  authorizePayment: { participant: 'payment', compensation: 'voidPayment' },
  capturePayment: { participant: 'payment', compensation: 'refundPayment' },
  createShipment: { participant: 'shipping', compensation: 'cancelShipment' },
  bookCarrier: { participant: 'carrier', compensation: 'releaseCarrier' },
  generateInvoice: { participant: 'invoicing', compensation: 'voidInvoice' },
  awardLoyaltyPoints: { participant: 'loyalty', compensation: 'revokeLoyaltyPoints' },
  notifyCustomer: { participant: 'notification', compensation: 'sendCancellationNotice' },
};

const orderOf = (input: StepInput) => input.data.order as OrderFacts | undefined;
const facts = (input: StepInput, step: string) => {
  const order = orderOf(input);
  return { orderId: input.orderId, step, ...(order ? { customerId: order.customerId, total: order.total, itemCount: order.itemCount } : {}) };
};
const meta = (input: StepInput, what: string) => ({
  metadata: {
    messageId: `${input.sagaId}:${what}`,
    causationId: input.sagaId,
    // The saga issues these order commands: a system caller, named after the saga.
    caller: { name: 'order-fulfilment-saga', kind: 'system' },
    ...(input.correlationId ? { correlationId: input.correlationId } : {}),
  },
});

/** A business refusal of an aggregate is a decline; anything else is transient (retried). */
function declineOf(error: unknown): StepResult {
  if (error instanceof BusinessRuleError || error instanceof NotFoundError) return { ok: false, reason: `${error.code}: ${error.message}` };
  throw error;
}

export function createSagaActivities(deps: SagaDependencies): Record<string, Activity> {
  const now = deps.now ?? (() => new Date());
  const ledgers = new Map<string, Ledger>();
  const ledger = (participant: string) => {
    let l = ledgers.get(participant);
    if (!l) ledgers.set(participant, (l = new Ledger(deps.ledgers, participant, now)));
    return l;
  };

  /**
   * A step of a simulated participant: decline per configuration or by the participant's own
   * answer (`ask`), else record the effect once.
   */
  const participantStep =
    (step: string, effect: (input: StepInput, answer: Record<string, unknown>) => Record<string, unknown>, ask?: (input: StepInput) => Promise<StepResult>): Activity =>
    async (input) => {
      const { decline } = await injectFaults(step, facts(input, step), true);
      if (decline) return { ok: false, reason: decline };
      const answer = ask ? await ask(input) : { ok: true as const, output: {} };
      if (!answer.ok) return answer;
      const { participant } = LEDGER_STEPS[step]!;
      const { entry, refused } = await ledger(participant).apply(input.orderId, step, effect(input, answer.output ?? {}));
      if (refused) return { ok: false, reason: `${step} was compensated before it took effect` };
      return { ok: true, output: { [step]: entry.effect } };
    };

  const participantCompensation =
    (step: string): Activity =>
    async (input) => {
      const { compensation, participant } = LEDGER_STEPS[step]!;
      await injectFaults(compensation, facts(input, compensation), false);
      const { entry } = await ledger(participant).compensate(input.orderId, step);
      return { ok: true, output: { [compensation]: entry.state } };
    };

  const amount = (input: StepInput) => orderOf(input)?.total ?? 0;

  /** The provider's answer for an order paid by card (decrypted here, in memory only); orders paid otherwise need none. */
  const authorizeOrderCard = async (input: StepInput): Promise<StepResult> => {
    const { state } = await deps.orders.get(input.orderId);
    if (state.payment?.method !== 'card' || !state.payment.card) return { ok: true, output: {} };
    let clear: { payment: { card: { number: string; expiry: string } } };
    try {
      clear = deps.fields.reveal('authorizePayment', 'CreateOrder', { orderId: state.orderId, payment: state.payment }) as typeof clear;
    } catch (error) {
      // Tampered, moved from another order, or under a key no longer configured: no retry makes it readable.
      if (error instanceof SealedValueError) return { ok: false, reason: `CardUnreadable: ${error.message}` };
      throw error;
    }
    const answer = authorizeCard(clear.payment.card, now());
    return answer.approved ? { ok: true, output: { card: answer.card } } : { ok: false, reason: answer.reason };
  };

  return {
    async validateOrder(input) {
      const { decline } = await injectFaults('validateOrder', facts(input, 'validateOrder'), true);
      if (decline) return { ok: false, reason: decline };
      try {
        const { state } = await deps.orders.get(input.orderId);
        if (state.status !== 'submitted' && state.status !== 'confirmed') return { ok: false, reason: `OrderNotSubmitted: order ${input.orderId} is ${state.status}` };
        if (state.lines.length === 0) return { ok: false, reason: 'OrderEmpty: the order has no lines' };
        const total = Math.round(state.lines.reduce((s, l) => s + l.quantity * l.unitPrice, 0) * 100) / 100;
        const order: OrderFacts = { customerId: state.customerId, total, itemCount: state.lines.reduce((n, l) => n + l.quantity, 0), lines: state.lines };
        return { ok: true, output: { order } };
      } catch (error) {
        return declineOf(error);
      }
    },

    async rejectOrder(input) {
      await injectFaults('rejectOrder', facts(input, 'rejectOrder'), false);
      try {
        await deps.orders.cancel(input.orderId, `Fulfilment failed: ${input.failure ?? 'unknown reason'}`, meta(input, 'reject'));
      } catch (error) {
        // An order that is gone or has shipped cannot be cancelled: nothing left to undo here.
        if (!(error instanceof AppError)) throw error;
      }
      return { ok: true };
    },

    async reserveInventory(input) {
      const { decline } = await injectFaults('reserveInventory', facts(input, 'reserveInventory'), true);
      if (decline) return { ok: false, reason: decline };
      const lines = orderOf(input)?.lines ?? [];
      const reserved: string[] = [];
      for (const line of lines) {
        try {
          await deps.inventory.reserve(line.sku, input.orderId, line.quantity, meta(input, `reserve:${line.sku}`));
          reserved.push(line.sku);
        } catch (error) {
          // One line short: give back what this step took, so a declined step leaves nothing behind.
          if (!(error instanceof BusinessRuleError || error instanceof NotFoundError)) throw error;
          for (const sku of reserved) await deps.inventory.release(sku, input.orderId, meta(input, `release:${sku}`));
          return { ok: false, reason: `OutOfStock: ${error.message}` };
        }
      }
      return { ok: true, output: { reservedSkus: reserved } };
    },

    async releaseInventory(input) {
      await injectFaults('releaseInventory', facts(input, 'releaseInventory'), false);
      for (const line of orderOf(input)?.lines ?? []) await deps.inventory.release(line.sku, input.orderId, meta(input, `release:${line.sku}`));
      return { ok: true };
    },

    authorizePayment: participantStep('authorizePayment', (input, answer) => ({ authorizationId: `auth-${input.orderId}`, amount: amount(input), ...answer }), authorizeOrderCard),
    voidPayment: participantCompensation('authorizePayment'),

    async checkFraud(input) {
      const { decline } = await injectFaults('checkFraud', facts(input, 'checkFraud'), true);
      if (decline) return { ok: false, reason: decline };
      const { approvalThreshold, approvalTimeoutSeconds } = participantsConfig().fraud;
      return { ok: true, output: { requiresApproval: amount(input) > approvalThreshold, approvalTimeoutSeconds } };
    },

    capturePayment: participantStep('capturePayment', (input) => ({ captureId: `capture-${input.orderId}`, amount: amount(input) })),
    refundPayment: participantCompensation('capturePayment'),
    createShipment: participantStep('createShipment', (input) => ({ shipmentId: `ship-${input.orderId}`, items: orderOf(input)?.itemCount ?? 0 })),
    cancelShipment: participantCompensation('createShipment'),
    bookCarrier: participantStep('bookCarrier', (input) => ({ bookingId: `carrier-${input.orderId}`, carrier: 'embedded-express' })),
    releaseCarrier: participantCompensation('bookCarrier'),
    generateInvoice: participantStep('generateInvoice', (input) => ({ invoiceId: `inv-${input.orderId}`, amount: amount(input) })),
    voidInvoice: participantCompensation('generateInvoice'),
    awardLoyaltyPoints: participantStep('awardLoyaltyPoints', (input) => ({ points: Math.floor(amount(input)) })),
    revokeLoyaltyPoints: participantCompensation('awardLoyaltyPoints'),

    async confirmOrder(input) {
      const { decline } = await injectFaults('confirmOrder', facts(input, 'confirmOrder'), true);
      if (decline) return { ok: false, reason: decline };
      try {
        const r = await deps.orders.confirm(input.orderId, meta(input, 'confirm'));
        return { ok: true, output: { confirmedVersion: r.version } };
      } catch (error) {
        return declineOf(error);
      }
    },

    async cancelConfirmedOrder(input) {
      await injectFaults('cancelConfirmedOrder', facts(input, 'cancelConfirmedOrder'), false);
      try {
        await deps.orders.cancel(input.orderId, `Fulfilment failed: ${input.failure ?? 'unknown reason'}`, meta(input, 'cancel'));
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
      }
      return { ok: true };
    },

    notifyCustomer: participantStep('notifyCustomer', (input) => ({ to: orderOf(input)?.customerId, template: 'order-confirmed' })),
    sendCancellationNotice: participantCompensation('notifyCustomer'),

    async publishOrderCompleted(input) {
      const { decline } = await injectFaults('publishOrderCompleted', facts(input, 'publishOrderCompleted'), true);
      if (decline) return { ok: false, reason: decline };
      const order = orderOf(input);
      const envelope = completeEnvelope(
        {
          messageId: `order-completed-${input.orderId}`,
          messageType: 'OrderCompleted',
          causationId: input.sagaId,
          ...(input.correlationId ? { correlationId: input.correlationId } : {}),
          headers: { source: 'order-fulfilment-saga' },
          payload: { orderId: input.orderId, customerId: order?.customerId ?? '', total: order?.total ?? 0, completedAt: now().toISOString() },
        },
        { messageId: () => `order-completed-${input.orderId}`, correlationId: () => input.sagaId, now },
      );
      // A deterministic messageId: duplicate detection drops a repeat of this step.
      await deps.sender.send('order-events', [
        {
          body: Buffer.from(JSON.stringify(envelope)),
          contentType: 'application/json',
          messageId: envelope.messageId,
          correlationId: envelope.correlationId,
          subject: 'OrderCompleted',
          applicationProperties: { messageType: 'OrderCompleted', causationId: input.sagaId },
        },
      ]);
      return { ok: true, output: { publishedMessageId: envelope.messageId } };
    },
  };
}
