// The Durable Functions HTTP API on the embedded host, under /runtime/webhooks/durabletask/ —
// the instance-management webhooks (statusQueryGetUri and friends from createCheckStatusResponse)
// and the RPC endpoint durable-functions' DurableClient calls (its rpcBaseUrl points here):
//   POST   orchestrators/{functionName}[/{instanceId}][?version=]  start     202 | 400 | 409
//   GET    instances/{instanceId}[?showHistory&showInput]   status           200 done | 202 running | 400 failed/terminated | 404
//   GET    instances/?runtimeStatus=&createdTimeFrom=&top=  query            200 (+ x-ms-continuation-token)
//   POST   instances/{instanceId}/raiseEvent/{eventName}    raise an event   202 | 404 | 410
//   POST   instances/{instanceId}/terminate|suspend|resume  control          202 | 404 | 410
//   DELETE instances/{instanceId}  |  instances/?filters    purge            200 { instancesDeleted } | 404
//   GET    entities/{name}[/{key}]                          entity state     200 | 404 (list: 200)
//   POST   entities/{name}/{key}?op=  (DELETE: op 'delete')  signal an entity 202 | 400 | 404
//   rewind and restart                                       501: not emulated
// The durableClient input binding hands functions the URLs of this API.
//
// With a system key (the host sets one when the app's HTTP auth is on), every request must carry
// it, as the extension's webhooks require their `durabletask_extension` system key in Azure:
// `?code=` or `x-functions-key` on the webhooks; the RPC calls of durable-functions' client carry
// no key (in Azure they go to a listener on 127.0.0.1 only), so its rpcBaseUrl holds the key as a
// path segment (`…/durabletask/rpc/<key>/`) that only the app's bindings are told. Without one,
// the API is open, as `func start` leaves it.
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { requestOrigin } from '../host/http-listener';
import { DurableOperationError, type DurableEngine } from './engine';
import { EntityScheduler } from './entities';
import { EventType, type HistoryEvent } from './history';
import { TERMINAL, type InstanceRow, type RuntimeStatus } from './store';

export const DURABLE_API_PREFIX = '/runtime/webhooks/durabletask';
const STATUSES: RuntimeStatus[] = ['Pending', 'Running', 'Completed', 'ContinuedAsNew', 'Failed', 'Terminated', 'Suspended'];
const MAX_BODY = 16 * 1024 * 1024;

export interface DurableApiOptions {
  engine: DurableEngine;
  taskHub: string;
  baseUrl: () => string;
  /** Required on every request when set (see above). */
  systemKey?: string;
}

const sameKey = (presented: string | null | undefined, key: string) => {
  if (!presented) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(key);
  return a.length === b.length && timingSafeEqual(a, b);
};

const parse = (text: string | null): unknown => (text === null || text === '' ? null : JSON.parse(text));

export function statusJson(i: InstanceRow, history?: HistoryEvent[], options: { showInput?: boolean; showHistoryOutput?: boolean } = {}) {
  return {
    name: i.name,
    instanceId: i.instanceId,
    runtimeStatus: i.status,
    input: options.showInput === false ? null : parse(i.input),
    customStatus: parse(i.customStatus),
    output: parse(i.output),
    // The extension's HttpApiHandler: CreatedTime.ToString("s") + "Z" (whole seconds, UTC).
    createdTime: wholeSecondsUtc(i.createdAt),
    lastUpdatedTime: wholeSecondsUtc(i.updatedAt),
    // No history for an instance that has not started (the extension skips Pending ones).
    ...(history && i.status !== 'Pending' ? { historyEvents: historyForStatus(history, options.showInput !== false, options.showHistoryOutput === true) } : {}),
  };
}

/** A text parsed as JSON, else the text itself (the extension's ParseToJToken). */
function parseToken(text: unknown): unknown {
  if (typeof text !== 'string') return text ?? null;
  const trimmed = text.trim();
  if (trimmed === '') return '';
  try {
    return JSON.parse(trimmed);
  } catch {
    return text;
  }
}

/**
 * The history as the extension's status API shows it (DurableClient.GetDurableOrchestrationStatusAsync):
 * event types by name; OrchestratorStarted/Completed left out; a completed or failed task or
 * sub-orchestration folded with the event that scheduled it (FunctionName, ScheduledTime, its
 * Input when showInput) and that event left out; ExecutionStarted's Name as FunctionName; results
 * only with showHistoryOutput, then parsed; inputs stay JSON text; EventId and IsPlayed dropped.
 */
export function historyForStatus(history: HistoryEvent[], showInput: boolean, showHistoryOutput: boolean): Record<string, unknown>[] {
  const items = history.map((e) => ({ ...e }) as Record<string, unknown>);
  const scheduled = new Map<string, { index: number; name: unknown; at: unknown; input: unknown }>();
  const dropped = new Set<number>();
  items.forEach((item, i) => {
    const type = item.EventType as EventType;
    item.EventType = EventType[type] ?? type;
    const fold = (prefix: string) => {
      const s = scheduled.get(`${prefix}_${String(item.TaskScheduledId)}`);
      if (s) {
        item.ScheduledTime = s.at;
        item.FunctionName = s.name;
        if (showInput) item.Input = s.input;
        dropped.add(s.index);
      }
      delete item.TaskScheduledId;
    };
    switch (type) {
      case EventType.TaskScheduled:
      case EventType.SubOrchestrationInstanceCreated:
        scheduled.set(`${EventType[type]}_${String(item.EventId)}`, { index: i, name: item.Name, at: item.Timestamp, input: item.Input });
        delete item.Version;
        break;
      case EventType.TaskCompleted:
      case EventType.TaskFailed:
      case EventType.SubOrchestrationInstanceCompleted:
      case EventType.SubOrchestrationInstanceFailed: {
        fold(type === EventType.TaskCompleted || type === EventType.TaskFailed ? 'TaskScheduled' : 'SubOrchestrationInstanceCreated');
        const completed = type === EventType.TaskCompleted || type === EventType.SubOrchestrationInstanceCompleted;
        if (!showHistoryOutput && completed) delete item.Result;
        else if (showHistoryOutput && completed) item.Result = parseToken(item.Result);
        break;
      }
      case EventType.ExecutionStarted:
        item.FunctionName = item.Name;
        delete item.Name;
        delete item.OrchestrationInstance;
        delete item.ParentInstance;
        delete item.Version;
        delete item.Tags;
        break;
      case EventType.ExecutionCompleted:
        if (showHistoryOutput) item.Result = parseToken(item.Result);
        else delete item.Result;
        break;
      case EventType.TimerFired:
        delete item.TimerId;
        break;
      case EventType.OrchestratorStarted:
      case EventType.OrchestratorCompleted:
        dropped.add(i);
        break;
      default:
        // The other events are shown as recorded.
        break;
    }
    if (!showInput) delete item.Input;
    delete item.EventId;
    delete item.IsPlayed;
  });
  return items.filter((_, i) => !dropped.has(i));
}

/** The management URLs of one instance (createCheckStatusResponse's payload). */
export function managementPayload(base: string, taskHub: string, instanceId: string, systemKey = '') {
  const api = `${base}${DURABLE_API_PREFIX}`;
  const q = `taskHub=${encodeURIComponent(taskHub)}&connection=Storage&code=${encodeURIComponent(systemKey)}`;
  const id = encodeURIComponent(instanceId);
  return {
    id: instanceId,
    purgeHistoryDeleteUri: `${api}/instances/${id}?${q}`,
    sendEventPostUri: `${api}/instances/${id}/raiseEvent/{eventName}?${q}`,
    statusQueryGetUri: `${api}/instances/${id}?${q}`,
    terminatePostUri: `${api}/instances/${id}/terminate?reason={text}&${q}`,
    suspendPostUri: `${api}/instances/${id}/suspend?reason={text}&${q}`,
    resumePostUri: `${api}/instances/${id}/resume?reason={text}&${q}`,
    rewindPostUri: `${api}/instances/${id}/rewind?reason={text}&${q}`,
    restartPostUri: `${api}/instances/${id}/restart?${q}`,
  };
}

/** What the durableClient input binding gives a function (durable-functions' OrchestrationClientInputData). */
export function durableClientData(base: string, taskHub: string, systemKey = '') {
  const api = `${base}${DURABLE_API_PREFIX}`;
  const code = encodeURIComponent(systemKey);
  const required = `taskHub=${encodeURIComponent(taskHub)}&connection=Storage&code=${code}`;
  return {
    taskHubName: taskHub,
    creationUrls: {
      createNewInstancePostUri: `${api}/orchestrators/{functionName}[/{instanceId}]?code=${code}`,
      createAndWaitOnNewInstancePostUri: `${api}/orchestrators/{functionName}[/{instanceId}]?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&code=${code}`,
    },
    managementUrls: managementPayload(base, taskHub, 'INSTANCEID', systemKey),
    baseUrl: api,
    requiredQueryStringParameters: required,
    rpcBaseUrl: systemKey ? `${api}/rpc/${code}/` : `${api}/`,
    httpBaseUrl: api,
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new DurableOperationError(413, 'The request body is too large.');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): true {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { ...(text ? { 'Content-Type': 'application/json; charset=utf-8' } : {}), 'Content-Length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
  return true;
}

function statusesFrom(value: string | null): RuntimeStatus[] | undefined {
  if (!value) return undefined;
  const list = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const s of list) if (!STATUSES.includes(s as RuntimeStatus)) throw new DurableOperationError(400, `Unknown runtimeStatus '${s}'`);
  return list as RuntimeStatus[];
}

function timeFrom(value: string | null, name: string): number | undefined {
  if (!value) return undefined;
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new DurableOperationError(400, `${name} is not a date`);
  return t;
}

function validInstanceId(id: string): string {
  if (!id || id.length > 256 || /[/\\#?]/.test(id) || /[\u0000-\u001f\u007f]/.test(id)) throw new DurableOperationError(400, `'${id}' is not a valid instance ID.`);
  return id;
}

export function durableApiHandler(options: DurableApiOptions) {
  const { engine } = options;
  return async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> => {
    if (!url.pathname.toLowerCase().startsWith(`${DURABLE_API_PREFIX}/`)) return false;
    let parts = url.pathname
      .slice(DURABLE_API_PREFIX.length + 1)
      .split('/')
      .map(decodeURIComponent);
    const method = req.method ?? 'GET';
    const q = url.searchParams;
    if (options.systemKey) {
      const viaRpc = parts[0] === 'rpc' && sameKey(parts[1], options.systemKey);
      const header = req.headers['x-functions-key'];
      if (!viaRpc && !sameKey(q.get('code'), options.systemKey) && !sameKey(typeof header === 'string' ? header : undefined, options.systemKey)) {
        return send(res, 401, { error: { code: 'Unauthorized', message: 'The Durable Functions API needs the durabletask_extension system key (?code= or x-functions-key).' } });
      }
      if (viaRpc) parts = parts.slice(2);
    }
    try {
      if (parts[0] === 'orchestrators' && method === 'POST' && parts.length >= 2 && parts.length <= 3) {
        const instanceId = validInstanceId(parts[2] || randomUUID().replaceAll('-', ''));
        const body = await readBody(req);
        if (body !== '') JSON.parse(body); // the input must be JSON
        // durable-functions' client passes StartNewOptions.version as ?version=.
        await engine.startNew(parts[1]!, instanceId, body, q.get('version') || undefined);
        const { rewindPostUri: _rewind, ...payload } = managementPayload(requestOrigin(req, options.baseUrl()), options.taskHub, instanceId, options.systemKey);
        return send(res, 202, payload, { Location: payload.statusQueryGetUri, 'Retry-After': '10' });
      }
      if (parts[0] === 'instances') {
        const id = parts[1] ?? '';
        if (id === '') {
          const query = {
            runtimeStatus: statusesFrom(q.get('runtimeStatus')),
            createdTimeFrom: timeFrom(q.get('createdTimeFrom'), 'createdTimeFrom'),
            createdTimeTo: timeFrom(q.get('createdTimeTo'), 'createdTimeTo'),
            prefix: q.get('instanceIdPrefix') ?? undefined,
          };
          if (method === 'GET') {
            const top = Math.min(Number(q.get('top') ?? 100) || 100, 1000);
            const skip = Number(req.headers['x-ms-continuation-token'] ?? 0) || 0;
            const rows = engine.store.query({ ...query, top: top + 1, skip });
            const more = rows.length > top;
            return send(
              res,
              200,
              rows.slice(0, top).map((r) => statusJson(r)),
              more ? { 'x-ms-continuation-token': String(skip + top) } : {},
            );
          }
          if (method === 'DELETE') {
            const ids = engine.store
              .query({ ...query, top: 100_000 })
              .filter((r) => TERMINAL.has(r.status))
              .map((r) => r.instanceId);
            const n = await engine.purge(ids);
            return n === 0 ? send(res, 404) : send(res, 200, { instancesDeleted: n });
          }
        }
        validInstanceId(id);
        if (parts.length === 2 && method === 'GET') {
          const instance = engine.store.getInstance(id);
          if (!instance) return send(res, 404);
          const showHistory = q.get('showHistory') === 'true';
          const body = statusJson(instance, showHistory ? engine.store.history(id) : undefined, {
            showInput: q.get('showInput') !== 'false',
            showHistoryOutput: q.get('showHistoryOutput') === 'true',
          });
          // As the extension answers: 202 while it runs, 200 once it has finished (also when it failed,
          // unless returnInternalServerErrorOnFailure=true asks for a 500).
          if (!TERMINAL.has(instance.status)) return send(res, 202, body, { Location: url.href, 'Retry-After': '5' });
          const failed500 = instance.status === 'Failed' && q.get('returnInternalServerErrorOnFailure') === 'true';
          return send(res, failed500 ? 500 : 200, body);
        }
        if (parts.length === 2 && method === 'DELETE') {
          const n = await engine.purge([id]);
          return n === 0 ? send(res, 404) : send(res, 200, { instancesDeleted: n });
        }
        if (parts.length === 4 && parts[2] === 'raiseEvent' && method === 'POST') {
          const type = req.headers['content-type'];
          if (type && !type.toLowerCase().startsWith('application/json')) throw new DurableOperationError(400, 'Only application/json request content is supported');
          const body = await readBody(req);
          if (body !== '') JSON.parse(body);
          await engine.raiseEvent(id, parts[3]!, body);
          return send(res, 202);
        }
        if (parts.length === 3 && method === 'POST' && (parts[2] === 'terminate' || parts[2] === 'suspend' || parts[2] === 'resume')) {
          await engine.control(id, parts[2], q.get('reason') ?? '');
          return send(res, 202);
        }
        if (parts.length === 3 && method === 'POST' && (parts[2] === 'rewind' || parts[2] === 'restart')) {
          return send(res, 501, { error: `${parts[2]} is not supported by the embedded Durable engine` });
        }
      }
      if (parts[0] === 'entities' && parts.length >= 2) return await entityRequest(engine, req, res, parts, q);
      return send(res, 404);
    } catch (error) {
      if (error instanceof DurableOperationError) {
        return error.status === 500
          ? send(res, 500, { Message: 'Something went wrong while processing your request', ExceptionMessage: error.message, ExceptionType: 'System.InvalidOperationException' })
          : send(res, error.status, { error: error.message });
      }
      if (error instanceof SyntaxError) return send(res, 400, { error: `The body is not JSON: ${error.message}` });
      throw error;
    }
  };
}

/**
 * The extension's entity routes (HttpApiHandler): GET entities/{name}/{key} → 200 with the state,
 * 404 when the entity has none; GET entities/{name} → the entities of that name; POST
 * entities/{name}/{key}?op= (DELETE: op 'delete') → 202, the body the operation's input (JSON when
 * sent as application/json, else the text). A key of '$' is the empty key. A name with no entity
 * function is refused with 404 and the extension's message, before anything is queued.
 */
async function entityRequest(engine: DurableEngine, req: IncomingMessage, res: ServerResponse, parts: string[], q: URLSearchParams): Promise<true> {
  const method = req.method ?? 'GET';
  const name = parts[1]!;
  if (!name || parts.length > 3) return send(res, 404);
  if (!engine.entities.has(name)) return send(res, 404, { error: EntityScheduler.missing(name) });
  if (parts.length === 2) {
    if (method !== 'GET') return send(res, 405, { error: `${method} is not allowed on an entity list.` });
    const top = Math.min(Number(q.get('top') ?? 100) || 100, 1000);
    const after = String(req.headers['x-ms-continuation-token'] ?? '');
    const rows = engine.store.listEntities(name.toLowerCase(), after, top + 1);
    const page = rows.slice(0, top);
    const fetchState = q.get('fetchState') === 'true';
    const body = page.map((e) => ({ entityId: { name: e.name, key: e.key }, lastOperationTime: new Date(e.updatedAt).toISOString(), ...(fetchState ? { state: parse(e.state) } : {}) }));
    return send(res, 200, body, rows.length > top ? { 'x-ms-continuation-token': page.at(-1)!.instanceId } : {});
  }
  const key = parts[2] === '$' ? '' : parts[2]!;
  const entity = { name, key };
  if (method === 'GET') {
    const row = engine.entities.read(entity);
    return row?.exists ? send(res, 200, parse(row.state)) : send(res, 404);
  }
  if (method !== 'POST' && method !== 'DELETE') return send(res, 405, { error: `${method} is not allowed on an entity.` });
  const operation = method === 'DELETE' ? 'delete' : (q.get('op') ?? '');
  const body = await readBody(req);
  let input: string | undefined;
  if (body !== '') {
    const json = (req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json');
    if (json) {
      try {
        input = JSON.stringify(JSON.parse(body));
      } catch (error) {
        return send(res, 400, { error: `Could not parse JSON content: ${(error as Error).message}` });
      }
    } else input = JSON.stringify(body);
  }
  await engine.entities.signal(entity, operation, input);
  return send(res, 202);
}

function wholeSecondsUtc(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}
