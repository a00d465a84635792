// The guard every protected HTTP function is registered through: identify the caller, check its
// roles against the operation (src/security/operations.ts), answer 401/403 as JSON when that
// fails, otherwise run the handler with the caller — and audit: every refusal (rate-limited) and
// every outcome of a command or an ops action. In Azure the Functions host has checked the
// function key before this runs; this is the app's own check of who the caller is.
import { refuseCardNumbers } from '../security/card-numbers';
import { randomUUID } from 'node:crypto';
import { eventSourcing } from '../composition/orders';
import type { EventMetadata } from '../eventstore/event-store';
import { count } from '../observability/metrics';
import type { AuditCaller, AuditEntry } from '../security/audit-log';
import { authSettings, identify, IdentificationFailed, requireRole, type Caller, type HeaderReader } from '../security/identity';
import { auditsOutcomes, OPERATIONS, type Operation, type OperationName, type RequestView } from '../security/operations';
import { RefusalLimiter } from '../security/refusal-limiter';
import { AuthenticationError, AuthorizationError } from '../shared/errors';
import { errorResponse, type ErrorLog, type JsonResponse } from './responses';

export interface SecuredRequest extends RequestView {
  headers: HeaderReader;
}

export interface SecuredContext extends ErrorLog {
  functionName: string;
}

interface ResponseLike {
  status?: number;
  jsonBody?: unknown;
}

/** What a handler learns of the request's caller, and how it adds to the audit record. */
export interface Access {
  readonly caller: Caller;
  /** X-Correlation-Id when the request sent a usable one, otherwise one made up for it. */
  readonly correlationId: string;
  /** A command's event metadata, carrying the caller and the request's correlationId. */
  stamp<M extends Partial<EventMetadata>>(metadata: M): M & Pick<EventMetadata, 'caller' | 'correlationId'>;
  /** Details for the audit record; `action` renames the operation (a raised event that is an approval). */
  note(details: Record<string, unknown>, action?: string): void;
}

const refusals = new RefusalLimiter();

// Read once as the app loads, so a malformed API_KEYS fails the start, naming the entry, instead
// of the first request (which would fail closed too, with a 500).
authSettings();

const UNIDENTIFIED: AuditCaller = { name: 'unidentified', kind: 'unidentified', roles: [] };
const auditCaller = (caller: Caller): AuditCaller => ({ name: caller.name, kind: caller.kind, roles: [...caller.roles] });

function correlationOf(headers: HeaderReader): string {
  const sent = headers.get('x-correlation-id');
  // An unusable one is the handler's to refuse (400); the audit still needs an id.
  return sent !== null && sent.length > 0 && sent.length <= 128 ? sent : randomUUID();
}

function errorCode(body: unknown): string | undefined {
  const code = (body as { error?: { code?: unknown } } | undefined)?.error?.code;
  return typeof code === 'string' ? code : undefined;
}

async function writeAudit(entry: AuditEntry, context: SecuredContext): Promise<void> {
  try {
    await eventSourcing().audit.record(entry);
  } catch (error) {
    // The answer stands (a command has been committed; its events carry the caller); the record
    // goes to the error log instead, where Application Insights keeps it.
    context.error(`Audit record not written (${(error as Error).message}): ${JSON.stringify(entry)}`);
  }
}

async function refuse(
  error: AuthenticationError | AuthorizationError,
  name: OperationName,
  op: Operation,
  request: SecuredRequest,
  caller: Caller | undefined,
  correlationId: string,
  context: SecuredContext,
) {
  count('security.refusals', { operation: name, status: String(error.status) });
  const decision = refusals.take(`${error.status}|${caller?.name ?? '-'}|${name}`);
  if (decision.record) {
    await writeAudit(
      {
        action: name,
        kind: op.kind,
        target: op.target(request),
        caller: caller ? auditCaller(caller) : UNIDENTIFIED,
        correlationId,
        outcome: 'refused',
        status: error.status,
        reason: error instanceof IdentificationFailed ? error.problem : error.code,
        ...(decision.suppressed > 0 ? { suppressedRefusals: decision.suppressed } : {}),
      },
      context,
    );
  }
  return errorResponse(error, context);
}

/** Registers `handler` behind the caller check of operation `name`; use as app.http's handler. */
export function secured<Req extends SecuredRequest, Ctx extends SecuredContext, Res extends ResponseLike>(
  name: OperationName,
  handler: (request: Req, context: Ctx, access: Access) => Promise<Res>,
): (request: Req, context: Ctx) => Promise<Res | JsonResponse> {
  const op: Operation = OPERATIONS[name];
  return async (request, context) => {
    // A card number in the URL or the correlation id would be stamped on the audit record, the
    // events and every message: refused first, before anything is written (security review, finding 6).
    try {
      refuseCardNumbers({ ...request.params }, '');
      refuseCardNumbers(request.headers.get('x-correlation-id') ?? '', 'x-correlation-id');
    } catch (error) {
      return errorResponse(error, context);
    }
    const correlationId = correlationOf(request.headers);
    let caller: Caller | undefined;
    try {
      caller = identify(request.headers, authSettings());
      requireRole(caller, op.roles, name);
    } catch (error) {
      if (error instanceof AuthenticationError || error instanceof AuthorizationError) return refuse(error, name, op, request, caller, correlationId, context);
      return errorResponse(error, context); // a broken API_KEYS setting: logged, 500, nobody let in
    }
    const who = caller;
    let action: string = name;
    const details: Record<string, unknown> = {};
    const access: Access = {
      caller: who,
      correlationId,
      stamp: (metadata) => ({ ...metadata, correlationId, caller: { name: who.name, kind: who.kind } }),
      note: (more, rename) => {
        Object.assign(details, more);
        if (rename) action = rename;
      },
    };
    let response: Res;
    try {
      response = await handler(request, context, access);
    } catch (error) {
      if (auditsOutcomes(op))
        await writeAudit({ action, kind: op.kind, target: op.target(request), caller: auditCaller(who), correlationId, outcome: 'failed', reason: (error as Error)?.name }, context);
      throw error;
    }
    if (auditsOutcomes(op)) {
      const status = response.status ?? 200;
      const reason = status >= 400 ? errorCode(response.jsonBody) : undefined;
      await writeAudit(
        {
          action,
          kind: op.kind,
          target: op.target(request, status < 400 ? response.jsonBody : undefined),
          caller: auditCaller(who),
          correlationId,
          outcome: status < 400 ? 'accepted' : status < 500 ? 'rejected' : 'failed',
          status,
          ...(reason ? { reason } : {}),
          ...(Object.keys(details).length ? { details } : {}),
        },
        context,
      );
    }
    return response;
  };
}
