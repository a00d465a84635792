// Wires the order-fulfilment saga once per process: its activities over the order and inventory
// services, the participants' ledgers, the messaging port and the views (outcomes).
import { documentContainer } from './ports';
import { messaging } from './ports';
import { createSagaActivities, type Activity } from '../sagas/activities';
import type { SagaDefinition, SagaStatus } from '../sagas/definition';
import { ORDER_FULFILMENT_SAGA } from '../sagas/order-fulfilment';
import { recordOutcome } from '../sagas/outcomes';
import { checkParticipants } from '../sagas/participant-check';
import { eventSourcing } from './orders';
import { fieldProtector } from './security';

export interface Sagas {
  definition: SagaDefinition;
  activities: Record<string, Activity>;
  recordOutcome(status: SagaStatus): Promise<unknown>;
  check(status: SagaStatus): ReturnType<typeof checkParticipants>;
}

let shared: Sagas | undefined;

export function sagas(): Sagas {
  if (shared) return shared;
  const es = eventSourcing();
  const ledgers = documentContainer('ledgers');
  const activities = createSagaActivities({ orders: es.orders, inventory: es.inventory, ledgers, sender: messaging(), fields: fieldProtector() });
  shared = {
    definition: ORDER_FULFILMENT_SAGA,
    activities,
    recordOutcome: (status) => recordOutcome(es.views, status),
    check: (status) => checkParticipants(status, { definition: ORDER_FULFILMENT_SAGA, ledgers, orders: es.orders, inventory: es.inventory }),
  };
  return shared;
}
