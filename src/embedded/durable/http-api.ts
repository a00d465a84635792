// The Durable Functions HTTP API on the embedded host, under /runtime/webhooks/durabletask/ —
// the instance-management webhooks (statusQueryGetUri and friends from createCheckStatusResponse)
// and the RPC endpoint durable-functions' DurableClient calls (its rpcBaseUrl points here):
//   POST   orchestrators/{functionName}[/{instanceId}][?version=]  start     202 | 400 | 409
//   GET    instances/{instanceId}[?showHistory&showInput]   status           200 done | 202 running | 400 failed/terminated | 404
//   GET    instances/?runtimeStatus=&createdTimeFrom=&top=  query            200 (+ x-ms-continuation-token)
//   POST   instances/{instanceId}/raiseEvent/{eventName}    raise an event   202 | 404 | 410
//   POST   instances/{instanceId}/terminate|suspend|resume  control          202 | 404 | 410
//   DELETE instances/{instanceId}  |  instances/?filters    purge            200 { instancesDeleted } | 404
//   rewind and entities                                      501: not emulated
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
    ...(history
      ? historyFields(history
            .filter((e) => e.EventType !== EventType.OrchestratorStarted && e.EventType !== EventType.OrchestratorCompleted)
            .map(({ EventType: type, IsPlayed: _p, Result, Input, ...rest }) => ({
              EventType: EventType[type],
              ...rest,
              ...(Input !== undefined && options.showHistoryOutput !== false ? { Input: parse(Input) } : {}),
              ...(Result !== undefined && options.showHistoryOutput ? { Result: parse(Result) } : {}),
            })),
        )
      : {}),
  };
}

// The webhook documents `historyEvents`; durable-functions' DurableOrchestrationStatus reads `history`.
const historyFields = (events: unknown[]) => ({ historyEvents: events, history: events });

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
  const list = value.split(',').map((s) => s.trim()).filter(Boolean);
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
    let parts = url.pathname.slice(DURABLE_API_PREFIX.length + 1).split('/').map(decodeURIComponent);
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
          const query = { runtimeStatus: statusesFrom(q.get('runtimeStatus')), createdTimeFrom: timeFrom(q.get('createdTimeFrom'), 'createdTimeFrom'), createdTimeTo: timeFrom(q.get('createdTimeTo'), 'createdTimeTo'), prefix: q.get('instanceIdPrefix') ?? undefined };
          if (method === 'GET') {
            const top = Math.min(Number(q.get('top') ?? 100) || 100, 1000);
            const skip = Number(req.headers['x-ms-continuation-token'] ?? 0) || 0;
            const rows = engine.store.query({ ...query, top: top + 1, skip });
            const more = rows.length > top;
            return send(res, 200, rows.slice(0, top).map((r) => statusJson(r)), more ? { 'x-ms-continuation-token': String(skip + top) } : {});
          }
          if (method === 'DELETE') {
            const ids = engine.store.query({ ...query, top: 100_000 }).filter((r) => TERMINAL.has(r.status)).map((r) => r.instanceId);
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
      if (parts[0] === 'entities') return send(res, 501, { error: 'Durable entities are not supported by the embedded Durable engine' });
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

function wholeSecondsUtc(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}
