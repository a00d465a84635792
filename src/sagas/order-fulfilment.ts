// The order-fulfilment saga: twelve steps from validation to the OrderCompleted event, each with
// the compensation that undoes it. Steps that call (simulated) external services have a timeout;
// every step is retried on transient failures; compensations are retried longer.
import type { RetryPolicy, SagaDefinition } from './definition';

const STEP_RETRY: RetryPolicy = { firstRetryIntervalMs: 1_000, backoffCoefficient: 2, maxRetryIntervalMs: 30_000, maxAttempts: 5 };
const EXTERNAL = { retry: STEP_RETRY, timeoutMs: 5 * 60_000 };

export const ORDER_FULFILMENT_SAGA: SagaDefinition = {
  orchestrator: 'orderFulfilmentSaga',
  approvalEvent: 'ManualApproval',
  outcomeActivity: 'recordSagaOutcome',
  compensationRetry: { firstRetryIntervalMs: 2_000, backoffCoefficient: 2, maxRetryIntervalMs: 60_000, maxAttempts: 8 },
  steps: [
    { name: 'validateOrder', compensation: 'rejectOrder', retry: STEP_RETRY },
    { name: 'reserveInventory', compensation: 'releaseInventory', retry: STEP_RETRY },
    { name: 'authorizePayment', compensation: 'voidPayment', ...EXTERNAL },
    { name: 'checkFraud', approval: true, ...EXTERNAL },
    { name: 'capturePayment', compensation: 'refundPayment', ...EXTERNAL },
    { name: 'createShipment', compensation: 'cancelShipment', ...EXTERNAL },
    { name: 'bookCarrier', compensation: 'releaseCarrier', ...EXTERNAL },
    { name: 'generateInvoice', compensation: 'voidInvoice', ...EXTERNAL },
    { name: 'awardLoyaltyPoints', compensation: 'revokeLoyaltyPoints', ...EXTERNAL },
    { name: 'confirmOrder', compensation: 'cancelConfirmedOrder', retry: STEP_RETRY },
    { name: 'notifyCustomer', compensation: 'sendCancellationNotice', ...EXTERNAL },
    { name: 'publishOrderCompleted', retry: STEP_RETRY },
  ],
};
