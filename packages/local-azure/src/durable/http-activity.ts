// The built-in HTTP activity behind `context.df.callHttp`, as the Durable extension runs it: the
// orchestrator's CallHttp action becomes a TaskScheduled of 'BuiltIn::HttpActivity' whose input is
// the DurableHttpRequest, and its TaskCompleted result is the DurableHttpResponse
// { statusCode, headers, content } (the extension's DurableHttpResponse: the response's own
// headers, not its content headers; one value as a string, several as an array).
//
// The asynchronous (202) pattern: with asynchronousPatternEnabled (durable-functions' default), a
// 202 answer with a Location header is polled — GET Location, after Retry-After seconds or the
// default sleep — until the answer is something else (the extension's CallHttpAsync loop). The
// extension sleeps on durable timers between polls; here the work item sleeps, so a host killed
// while polling starts the request again when the work item is retried (at-least-once, as every
// activity). The orchestrator only ever sees the final answer, as it does in Azure.
export const HTTP_ACTIVITY = 'BuiltIn::HttpActivity';

/** The extension's default HttpSettings.DefaultAsyncRequestSleepTimeMilliseconds. */
export const DEFAULT_POLL_MS = 30_000;

export interface DurableHttpRequest {
  method?: string;
  uri?: string;
  content?: string | null;
  headers?: Record<string, string | string[]> | null;
  tokenSource?: unknown;
  asynchronousPatternEnabled?: boolean;
  /** A timeout, as a TimeSpan text ("00:00:30") or milliseconds. */
  timeout?: string | number | null;
}

export interface DurableHttpResponse {
  statusCode: number;
  headers: Record<string, string | string[]>;
  content: string;
}

/** The headers HttpResponseMessage.Headers holds (content headers live on its Content). */
const CONTENT_HEADERS = new Set([
  'allow',
  'content-disposition',
  'content-encoding',
  'content-language',
  'content-length',
  'content-location',
  'content-md5',
  'content-range',
  'content-type',
  'expires',
  'last-modified',
]);

export class HttpActivityError extends Error {
  override name = 'HttpRequestException';
}

function timeoutMs(t: DurableHttpRequest['timeout']): number | undefined {
  if (typeof t === 'number') return t;
  const m = typeof t === 'string' ? /^(?:(\d+)\.)?(\d+):(\d+):(\d+(?:\.\d+)?)$/.exec(t) : null;
  return m ? (((Number(m[1] ?? 0) * 24 + Number(m[2])) * 60 + Number(m[3])) * 60 + Number(m[4])) * 1000 : undefined;
}

async function send(request: DurableHttpRequest, signal?: AbortSignal): Promise<DurableHttpResponse> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers ?? {})) for (const v of Array.isArray(value) ? value : [value]) headers.append(name, String(v));
  const method = (request.method ?? 'GET').toUpperCase();
  const limit = timeoutMs(request.timeout);
  const signals = [signal, limit !== undefined ? AbortSignal.timeout(limit) : undefined].filter((s): s is AbortSignal => s !== undefined);
  let response: Response;
  try {
    response = await fetch(request.uri!, {
      method,
      headers,
      ...(request.content != null && method !== 'GET' && method !== 'HEAD' ? { body: request.content } : {}),
      redirect: 'follow',
      ...(signals.length ? { signal: AbortSignal.any(signals) } : {}),
    });
  } catch (error) {
    const e = error as Error & { cause?: Error };
    if (e.name === 'TimeoutError') throw new HttpActivityError(`The operation was canceled. Reached user specified timeout: ${String(request.timeout)}.`);
    throw new HttpActivityError(`${e.message}${e.cause?.message ? ` (${e.cause.message})` : ''}`);
  }
  const out: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (CONTENT_HEADERS.has(name)) return;
    const values = name === 'set-cookie' ? response.headers.getSetCookie() : [value];
    out[name] = values.length === 1 ? values[0]! : values;
  });
  return { statusCode: response.status, headers: out, content: await response.text() };
}

const header = (r: DurableHttpResponse, name: string): string | undefined => {
  const v = r.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
};

/** Runs the request (and its 202 polling) and returns the final answer. */
export async function runHttpActivity(request: DurableHttpRequest, options: { pollMs?: number; signal?: AbortSignal } = {}): Promise<DurableHttpResponse> {
  if (!request.uri || !/^https?:\/\//i.test(request.uri))
    throw new HttpActivityError(`An invalid request URI was provided: '${request.uri ?? ''}'. Either the request URI must be an absolute URI or BaseAddress must be set.`);
  if (request.tokenSource) {
    // There is no managed identity to take a token from on this machine.
    throw new HttpActivityError('callHttp with a tokenSource needs a managed identity, which the embedded host does not have: pass the Authorization header yourself when running locally.');
  }
  let response = await send(request, options.signal);
  while (response.statusCode === 202 && request.asynchronousPatternEnabled !== false && header(response, 'location')) {
    const retryAfter = Number(header(response, 'retry-after'));
    const wait = Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter * 1000 : (options.pollMs ?? DEFAULT_POLL_MS);
    await new Promise((resolve) => setTimeout(resolve, wait));
    if (options.signal?.aborted) throw new HttpActivityError('The host is stopping.');
    const location = new URL(header(response, 'location')!, request.uri).href;
    // The extension polls with GET and the original headers, less x-functions-key (a status endpoint wants another key).
    const headers = Object.fromEntries(Object.entries(request.headers ?? {}).filter(([name]) => name.toLowerCase() !== 'x-functions-key'));
    response = await send({ method: 'GET', uri: location, headers, timeout: request.timeout ?? null }, options.signal);
  }
  return response;
}
