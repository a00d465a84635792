// The order-fulfilment saga as specifications: given what the participants answer, then the
// activities the orchestrator calls — steps forward, compensations in reverse — and how it ends.
// See test/support/saga-spec.ts for how it runs without a host.
import { ORDER_FULFILMENT_SAGA } from '../../src/sagas/order-fulfilment';
import { sagaSpec, type Answer } from '../support/saga-spec';

const spec = sagaSpec(ORDER_FULFILMENT_SAGA);
const STEPS = ORDER_FULFILMENT_SAGA.steps.map((s) => s.name);
const upTo = (step: string) => STEPS.slice(0, STEPS.indexOf(step) + 1);
const approvalNeeded: Answer = { ok: true, output: { requiresApproval: true, approvalTimeoutSeconds: 600 } };

test('given every participant says yes, then the twelve steps run in order and the saga completes', () =>
  spec.given({}).then({
    status: { status: 'Completed', completedSteps: STEPS, compensations: [] },
    calls: [...STEPS, 'recordSagaOutcome'],
  }));

test('given the payment capture is declined, then the completed steps are undone in reverse (checkFraud has nothing to undo)', () =>
  spec.given({ capturePayment: { ok: false, reason: 'card declined' } }).then({
    status: {
      status: 'Compensated',
      failedStep: 'capturePayment',
      lastError: 'capturePayment: card declined',
      completedSteps: upTo('checkFraud'),
      compensations: [
        { step: 'authorizePayment', compensation: 'voidPayment', status: 'done' },
        { step: 'reserveInventory', compensation: 'releaseInventory', status: 'done' },
        { step: 'validateOrder', compensation: 'rejectOrder', status: 'done' },
      ],
    },
    calls: [...upTo('capturePayment'), 'voidPayment', 'releaseInventory', 'rejectOrder', 'recordSagaOutcome'],
  }));

test('given a transient error twice, then the step is retried and the saga completes', () =>
  spec.given({ reserveInventory: { throw: 'store busy', times: 2 } }).then({
    status: { status: 'Completed', completedSteps: STEPS },
    calls: ['validateOrder', 'reserveInventory', 'reserveInventory', 'reserveInventory', ...STEPS.slice(2), 'recordSagaOutcome'],
  }));

test('given a step that keeps failing, then after its five attempts its own compensation runs first (its outcome is unknown)', () =>
  spec.given({ createShipment: { throw: 'shipping down' } }).then({
    status: { status: 'Compensated', failedStep: 'createShipment', completedSteps: upTo('capturePayment') },
    calls: [...upTo('capturePayment'), ...Array(5).fill('createShipment'), 'cancelShipment', 'refundPayment', 'voidPayment', 'releaseInventory', 'rejectOrder', 'recordSagaOutcome'],
  }));

test('given a fraud check that asks for approval and an approval, then the saga goes on and completes', () =>
  spec
    .given({ checkFraud: approvalNeeded })
    .withEvents({ name: 'ManualApproval', data: { approved: true, by: 'ana' } })
    .then({ status: { status: 'Completed', completedSteps: STEPS }, calls: [...STEPS, 'recordSagaOutcome'] }));

test('given a rejection, then only the steps before the approval are undone', () =>
  spec
    .given({ checkFraud: approvalNeeded })
    .withEvents({ name: 'ManualApproval', data: { approved: false, by: 'ana', reason: 'looks odd' } })
    .then({
      status: { status: 'Compensated', lastError: 'checkFraud: ApprovalRejected: looks odd' },
      calls: [...upTo('checkFraud'), 'voidPayment', 'releaseInventory', 'rejectOrder', 'recordSagaOutcome'],
    }));

test('given no decision before the deadline, then the durable timer rejects it', () =>
  spec.given({ checkFraud: approvalNeeded }).then({
    status: { status: 'Compensated', lastError: 'checkFraud: ApprovalTimedOut: no manual approval in time' },
    calls: [...upTo('checkFraud'), 'voidPayment', 'releaseInventory', 'rejectOrder', 'recordSagaOutcome'],
  }));

test('given a compensation that keeps failing, then the saga stops in CompensationFailed after its eight attempts, naming it', () =>
  spec.given({ capturePayment: { ok: false, reason: 'card declined' }, releaseInventory: { throw: 'inventory down' } }).then({
    status: {
      status: 'CompensationFailed',
      compensations: [
        { step: 'authorizePayment', compensation: 'voidPayment', status: 'done' },
        { step: 'reserveInventory', compensation: 'releaseInventory', status: 'failed' },
      ],
    },
    calls: [...upTo('capturePayment'), 'voidPayment', ...Array(8).fill('releaseInventory'), 'recordSagaOutcome'],
  }));

test('given a compensation that answers no, then it fails at once (a "no" is not retried): CompensationFailed', () =>
  spec.given({ validateOrder: { ok: true }, reserveInventory: { ok: false, reason: 'out of stock' }, rejectOrder: { ok: false, reason: 'already shipped' } }).then({
    status: { status: 'CompensationFailed', compensations: [{ step: 'validateOrder', compensation: 'rejectOrder', status: 'failed' }] },
    calls: ['validateOrder', 'reserveInventory', 'rejectOrder', 'recordSagaOutcome'],
  }));
