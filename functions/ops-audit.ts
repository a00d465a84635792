// GET /api/ops/audit?target=&since=&until=&action=&outcome=&limit= — who issued which command and
// which ops action, and who was refused (the ops role). Newest first; `since` defaults to 7 days
// before `until` (now), a query spans at most 31 days. Records live in the event store
// (src/security/audit-log.ts).
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { eventSourcing } from '../src/composition/orders';
import { errorResponse, json } from '../src/http/responses';
import { secured } from '../src/http/secured';
import { parseAuditQuery } from '../src/security/audit-log';

export async function queryAudit(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  try {
    const q = parseAuditQuery(request.query, new Date());
    const { records, truncated } = await eventSourcing().audit.query(q);
    return json(200, { since: q.since.toISOString(), until: q.until.toISOString(), records, ...(truncated ? { truncated: true } : {}) });
  } catch (error) {
    return errorResponse(error, context);
  }
}

app.http('opsAudit', { methods: ['GET'], route: 'ops/audit', authLevel: 'function', handler: secured('ops.readAudit', queryAudit) });
