// Does every participant agree with the saga's outcome? Completed: every effect applied, the
// stock reserved, the order confirmed. Compensated: no effect left applied, no stock held, the
// order cancelled. CompensationFailed: exactly the effects the saga could not undo remain.
// Used by the tests, the load script and an ops endpoint.
import type { DocumentContainer } from '../ports/documents';
import type { InventoryService } from '../orders/inventory-service';
import type { OrderService } from '../orders/order-service';
import { inventoryStreamId } from '../orders/inventory';
import { Ledger } from '../participants/ledger';
import { LEDGER_STEPS, type OrderFacts } from './activities';
import type { SagaDefinition, SagaStatus } from './definition';

export interface ParticipantCheck {
  consistent: boolean;
  problems: string[];
  effects: Record<string, string>;
}

export async function checkParticipants(
  status: SagaStatus,
  deps: { definition: SagaDefinition; ledgers: DocumentContainer; orders: OrderService; inventory: InventoryService },
): Promise<ParticipantCheck> {
  const problems: string[] = [];
  const effects: Record<string, string> = {};
  const { orderId } = status;
  const compensated = new Set(status.compensations.filter((c) => c.status === 'done').map((c) => c.step));
  const failedCompensation = status.compensations.find((c) => c.status === 'failed')?.step;
  // Which steps should have their effect in place once the saga is over.
  const shouldRemain = (step: string): boolean => {
    if (status.status === 'Completed') return true;
    if (status.status === 'Compensated') return false;
    if (step === failedCompensation) return true;
    return status.completedSteps.includes(step) && !compensated.has(step);
  };

  for (const step of deps.definition.steps) {
    const ledgerStep = LEDGER_STEPS[step.name];
    if (!ledgerStep) continue;
    const entry = await new Ledger(deps.ledgers, ledgerStep.participant).get(orderId, step.name);
    const applied = entry?.state === 'applied';
    effects[step.name] = entry?.state ?? 'none';
    const expected = shouldRemain(step.name);
    if (applied !== expected) {
      problems.push(`${ledgerStep.participant}/${step.name} is ${entry?.state ?? 'absent'} but the saga is ${status.status}`);
    }
  }

  const { state: order } = await deps.orders.get(orderId);
  effects.order = order.status;
  const lines = order.lines as OrderFacts['lines'];
  const inventoryHeld = shouldRemain('reserveInventory');
  for (const line of lines) {
    const { state } = await deps.inventory.handler.load(inventoryStreamId(line.sku));
    const held = state.reservations[orderId];
    effects[`inventory/${line.sku}`] = held === undefined ? 'released' : `reserved ${held}`;
    if ((held !== undefined) !== inventoryHeld) problems.push(`inventory/${line.sku} is ${held === undefined ? 'not reserved' : `reserved (${held})`} but the saga is ${status.status}`);
  }
  if (status.status === 'Completed' && order.status !== 'confirmed') problems.push(`the order is ${order.status}, not confirmed`);
  // Rejecting the order is the first step's compensation; a saga declined at validation undid nothing.
  const rejected = status.compensations.some((c) => c.compensation === 'rejectOrder' && c.status === 'done');
  if (rejected && order.status !== 'cancelled') problems.push(`the order is ${order.status}, not cancelled`);
  if (status.status !== 'Completed' && order.status === 'confirmed') problems.push('the order is confirmed, but the saga did not complete');
  return { consistent: problems.length === 0, problems, effects };
}
