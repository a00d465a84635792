// Every protected HTTP operation, the roles that may call it and what the audit records of it.
// One table, so the rules can be read (and tabulated in docs/http-api.md) in one place: commands need
// their write role, reads the read role (or ops, for support), ops actions the ops role.
import type { Role } from './identity';

/**
 * command: an order or inventory command — every outcome is audited;
 * ops: an operator's action — every outcome is audited;
 * read: a query — only refused attempts are audited;
 * ingress: a message put on the bus — only refused attempts are audited here (the commands it
 * carries are audited when they are handled).
 */
export type OperationKind = 'command' | 'ops' | 'read' | 'ingress';

/** Whether every outcome of the operation is audited, not only its refusals. */
export const auditsOutcomes = (op: Operation) => op.kind === 'command' || op.kind === 'ops';

export interface RequestView {
  params: Record<string, string | undefined>;
  query: { get(name: string): string | null };
}

export interface Operation {
  kind: OperationKind;
  /** Any one of them is enough. */
  roles: readonly Role[];
  /** What the operation acts on, for the audit: "order:o-1", "deadletters:inbound", … */
  target(request: RequestView, responseBody?: unknown): string;
}

const READ: readonly Role[] = ['orders.read', 'ops'];
const OPS: readonly Role[] = ['ops'];
const param = (name: string, fallback: string) => (r: RequestView) => `${fallback}:${r.params[name] ?? '?'}`;
const fixed = (target: string) => () => target;
const deadLetters = (r: RequestView) => `deadletters:${r.query.get('entity') ?? '?'}`;

export const OPERATIONS = {
  // The ESB ingress: partners and shops put messages on the bus.
  'messages.ingest': { kind: 'ingress', roles: ['messages.write'], target: fixed('messages') },
  // Order and inventory commands.
  'order.create': {
    kind: 'command',
    roles: ['orders.write'],
    // The id is in the body or chosen by the server: known from the answer once it succeeded.
    target: (_r, body) => {
      const orderId = (body as { orderId?: unknown } | undefined)?.orderId;
      return typeof orderId === 'string' ? `order:${orderId}` : 'orders';
    },
  },
  'order.addItem': { kind: 'command', roles: ['orders.write'], target: param('id', 'order') },
  'order.removeItem': { kind: 'command', roles: ['orders.write'], target: param('id', 'order') },
  'order.submit': { kind: 'command', roles: ['orders.write'], target: param('id', 'order') },
  'order.cancel': { kind: 'command', roles: ['orders.write'], target: param('id', 'order') },
  'inventory.receive': { kind: 'command', roles: ['inventory.write'], target: param('sku', 'inventory') },
  // The read side.
  'order.read': { kind: 'read', roles: READ, target: param('id', 'order') },
  'order.readEvents': { kind: 'read', roles: READ, target: param('id', 'order') },
  'customer.readOrders': { kind: 'read', roles: READ, target: param('id', 'customer') },
  'sales.readReport': { kind: 'read', roles: READ, target: fixed('reports:sales') },
  'sales.readMetric': { kind: 'read', roles: READ, target: fixed('metrics:sales') },
  'inventory.read': { kind: 'read', roles: READ, target: param('sku', 'inventory') },
  'saga.read': { kind: 'read', roles: READ, target: param('orderId', 'saga') },
  'saga.list': { kind: 'read', roles: READ, target: fixed('sagas') },
  // Human approval of a saga step (and any other event a saga waits for).
  'saga.raiseEvent': { kind: 'ops', roles: ['sagas.approve', 'ops'], target: param('orderId', 'saga') },
  // Operations.
  'ops.readEntities': { kind: 'read', roles: OPS, target: fixed('entities') },
  'ops.readDeadLetters': { kind: 'read', roles: OPS, target: deadLetters },
  'ops.readTrail': { kind: 'read', roles: OPS, target: fixed('trail') },
  'ops.readProjections': { kind: 'read', roles: OPS, target: fixed('projections') },
  'ops.readJob': { kind: 'read', roles: OPS, target: param('id', 'job') },
  'ops.checkSagaParticipants': { kind: 'read', roles: OPS, target: param('orderId', 'saga') },
  'ops.readAudit': { kind: 'read', roles: OPS, target: fixed('audit') },
  'deadletters.resubmit': { kind: 'ops', roles: OPS, target: deadLetters },
  'deadletters.resubmitMany': { kind: 'ops', roles: OPS, target: deadLetters },
  'deadletters.purge': { kind: 'ops', roles: OPS, target: deadLetters },
  'saga.terminate': { kind: 'ops', roles: OPS, target: param('orderId', 'saga') },
  'projection.rebuild': { kind: 'ops', roles: OPS, target: param('name', 'projection') },
  'integrationEvents.republish': { kind: 'ops', roles: OPS, target: fixed('integration-events') },
} as const satisfies Record<string, Operation>;

export type OperationName = keyof typeof OPERATIONS;

export function operation(name: OperationName): Operation {
  return OPERATIONS[name];
}

/** Host-only endpoints of the embedded host (the dashboard's flow and traces) need this role. */
export const DASHBOARD_ROLES: readonly Role[] = OPS;
