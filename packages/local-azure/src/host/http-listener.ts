// Serves httpTrigger functions like the Functions host: routes under the host.json routePrefix,
// method filtering, route parameters, request bodies up to the host's limit, and responses built
// from the function's http output binding.
import type { HostRefusal } from '@backbone/azure-model/local-runtime';
import { createServer, request as httpRequest, type ClientRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RpcHttpCookie, RpcHttpData, RpcInvocationResponse, RpcTypedData } from '../worker/rpc';
import type { RegisteredFunction } from '../worker/worker-state';
import type { FunctionExecutor } from './executor';
import type { HostLogger } from './logger';
import { compareRoutes, RouteTemplate } from './route-template';

/**
 * The Functions host's request body limit: ScriptConstants.DefaultMaxRequestBodySize (104857600,
 * 100 MiB, set on Kestrel), which the app setting FUNCTIONS_REQUEST_BODY_SIZE_LIMIT replaces when
 * it parses as a whole number (HttpRequestBodySizeMiddleware). Past it Kestrel answers 413.
 */
export const DEFAULT_MAX_REQUEST_BODY_BYTES = 104_857_600;

export function requestBodyLimit(env: NodeJS.ProcessEnv): number {
  const raw = env.FUNCTIONS_REQUEST_BODY_SIZE_LIMIT?.trim();
  return raw && /^\d{1,15}$/.test(raw) ? Number(raw) : DEFAULT_MAX_REQUEST_BODY_BYTES;
}

interface HttpRoute {
  fn: RegisteredFunction;
  triggerName: string;
  /** The trigger's authLevel: anonymous routes take anyone's body. */
  anonymous: boolean;
  /** Set when the host does not run the function: the route answers 501 with this reason. */
  unavailable?: string;
  template: RouteTemplate;
  methods: string[] | undefined;
  outputName: string;
}

/** Extra handlers the embedded host mounts beside the functions (admin API, dashboard). */
export type RawHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean> | boolean;

export interface HttpListenerOptions {
  routePrefix: string;
  executor: FunctionExecutor;
  logger: HostLogger;
  /** Runs after a successful invocation, before the response is sent (output bindings). */
  afterInvocation: (fn: RegisteredFunction, response: RpcInvocationResponse, invocationId: string) => Promise<void>;
  cors?: string;
  corsCredentials?: boolean;
  /** Default: DEFAULT_MAX_REQUEST_BODY_BYTES. */
  maxRequestBodyBytes?: number;
  /**
   * Whether a request's credentials are refused (missing or wrong), asked before its body is read
   * on routes that are not anonymous. A refused caller's body is bounded by
   * `unauthenticatedBodyBytes`: a larger one (declared or streamed) is answered with the refusal
   * without being buffered; a smaller one is read and the app refuses it, and audits that, itself.
   */
  refusesCredentials?: (headers: IncomingMessage['headers']) => HostRefusal | undefined;
  /** Default: UNAUTHENTICATED_BODY_BYTES. */
  unauthenticatedBodyBytes?: number;
  /**
   * The worker's HTTP proxy (capability HttpUri, which @azure/functions reports when the app calls
   * app.setup({ enableHttpStream: true })): requests and responses then stream through it, as the
   * Functions host proxies them, instead of travelling whole in the invocation.
   */
  streamProxyUri?: string;
}

/** What the host answers itself: a status and the app's JSON error shape. */
export type { HostRefusal } from '@backbone/azure-model/local-runtime';

/** What a caller without valid credentials may send before the host refuses it: the app's own smallest body limit (INPUT_MAX_BODY_BYTES). */
export const UNAUTHENTICATED_BODY_BYTES = 256 * 1024;

function typedDataBody(data: RpcTypedData | null | undefined): Buffer {
  if (!data) return Buffer.alloc(0);
  if (data.bytes != null) return Buffer.from(data.bytes);
  if (data.string != null) return Buffer.from(data.string);
  if (data.json != null) return Buffer.from(data.json);
  if (data.int != null) return Buffer.from(String(data.int));
  if (data.double != null) return Buffer.from(String(data.double));
  return Buffer.alloc(0);
}

function cookieHeader(c: RpcHttpCookie): string {
  let s = `${c.name ?? ''}=${c.value ?? ''}`;
  if (c.domain?.value) s += `; Domain=${c.domain.value}`;
  if (c.path?.value) s += `; Path=${c.path.value}`;
  if (c.expires?.value?.seconds != null) s += `; Expires=${new Date(Number(c.expires.value.seconds) * 1000).toUTCString()}`;
  if (c.maxAge?.value != null) s += `; Max-Age=${c.maxAge.value}`;
  if (c.secure?.value) s += '; Secure';
  if (c.httpOnly?.value) s += '; HttpOnly';
  if (c.sameSite && c.sameSite !== 'none') s += `; SameSite=${c.sameSite === 'explicitNone' ? 'None' : c.sameSite[0]!.toUpperCase() + c.sameSite.slice(1)}`;
  return s;
}

class BodyTooLarge extends Error {}

/**
 * Reads the body, counting bytes as they stream in: a declared Content-Length over the limit is
 * refused before anything is read, a body that grows past it (chunked, or a false length) as soon
 * as it does. What is over the limit is never buffered; the rest is drained so the client reads
 * the 413 rather than a reset connection.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new BodyTooLarge());
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        chunks.length = 0;
        req.off('data', onData);
        req.resume();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export class HttpListener {
  readonly #routes: HttpRoute[] = [];
  readonly #handlers: RawHandler[] = [];
  #server?: Server;
  #baseUrl = '';
  readonly #inflight = new Set<Promise<void>>();

  constructor(private readonly options: HttpListenerOptions) {}

  add(fn: RegisteredFunction, triggerName: string, unavailable?: string): void {
    const trigger = fn.metadata.bindings[triggerName]!;
    const route = typeof trigger.route === 'string' ? trigger.route : fn.metadata.name;
    const methods = Array.isArray(trigger.methods) ? (trigger.methods as string[]).map((m) => m.toUpperCase()) : undefined;
    const outputName = Object.entries(fn.metadata.bindings).find(([, b]) => b.direction === 'out' && b.type?.toLowerCase() === 'http')?.[0] ?? '$return';
    const anonymous = String(trigger.authLevel ?? 'function').toLowerCase() === 'anonymous';
    this.#routes.push({ fn, triggerName, anonymous, unavailable, template: new RouteTemplate(route), methods, outputName });
    this.#routes.sort((a, b) => compareRoutes(a.template, b.template));
  }

  mount(handler: RawHandler): void {
    this.#handlers.push(handler);
  }

  get baseUrl(): string {
    return this.#baseUrl;
  }

  urlOf(fn: RegisteredFunction): string {
    const route = this.#routes.find((r) => r.fn === fn);
    const prefix = this.options.routePrefix ? `/${this.options.routePrefix}` : '';
    return `${this.#baseUrl}${prefix}/${route?.template.template.replace(/^\/+/, '') ?? ''}`;
  }

  methodsOf(fn: RegisteredFunction): string[] {
    return this.#routes.find((r) => r.fn === fn)?.methods ?? ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];
  }

  async listen(port: number, hostname = '127.0.0.1'): Promise<string> {
    // Kestrel's MaxRequestHeadersTotalSize (32 KB; Node's own default is 16 KB): past it, 431.
    const server = createServer({ maxHeaderSize: 32 * 1024 }, (req, res) => {
      const work = this.#handle(req, res).catch((error: unknown) => {
        this.options.logger.log('error', 'Host.Http', `Unhandled error serving ${req.method} ${req.url}: ${(error as Error)?.stack ?? String(error)}`);
        if (!res.headersSent) sendError(res, 500, 'InternalError', 'The host could not serve this request.');
        else res.end();
      });
      this.#inflight.add(work);
      void work.finally(() => this.#inflight.delete(work));
    });
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, hostname, () => resolve());
    });
    this.#server = server;
    const address = server.address() as AddressInfo;
    this.#baseUrl = `http://${hostname === '127.0.0.1' || hostname === '0.0.0.0' ? 'localhost' : hostname}:${address.port}`;
    return this.#baseUrl;
  }

  async close(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    await Promise.allSettled([...this.#inflight]);
    server.closeAllConnections();
    await closed;
  }

  #applyCors(req: IncomingMessage, res: ServerResponse): void {
    const cors = this.options.cors;
    const origin = req.headers.origin;
    if (!cors || !origin) return;
    const allowed = cors.split(',').map((s) => s.trim());
    if (allowed.includes('*') || allowed.includes(origin)) {
      res.setHeader('Access-Control-Allow-Origin', allowed.includes('*') && !this.options.corsCredentials ? '*' : origin);
      if (this.options.corsCredentials) res.setHeader('Access-Control-Allow-Credentials', 'true');
    }
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = requestUrl(req.url ?? '/', this.#baseUrl || 'http://localhost');
    if (!url) return sendError(res, 400, 'ValidationFailed', 'The request target is not a valid URL path.', 'path');
    this.#applyCors(req, res);
    if (req.method === 'OPTIONS' && this.options.cors && req.headers['access-control-request-method']) {
      res.writeHead(204, {
        'Access-Control-Allow-Methods': 'GET, POST, PUT, PATCH, DELETE, OPTIONS',
        'Access-Control-Allow-Headers': req.headers['access-control-request-headers'] ?? '*',
      });
      res.end();
      return;
    }
    // A path that is not valid percent-encoding is refused before anything reads it: the app's
    // routes, the Durable HTTP API and the dashboard all decode their segments.
    if (!decodablePath(url.pathname)) return sendError(res, 400, 'ValidationFailed', 'The request path is not valid percent-encoding (a % must be followed by two hex digits of UTF-8).', 'path');
    for (const handler of this.#handlers) if (await handler(req, res, url)) return;

    const prefix = this.options.routePrefix ? `/${this.options.routePrefix.toLowerCase()}` : '';
    let path = url.pathname;
    if (prefix) {
      if (path.toLowerCase() !== prefix && !path.toLowerCase().startsWith(`${prefix}/`)) return this.#notFound(req, res, url);
      path = path.slice(prefix.length);
    }
    const method = (req.method ?? 'GET').toUpperCase();
    let matched: { route: HttpRoute; params: Record<string, string> } | undefined;
    for (const route of this.#routes) {
      if (route.methods && !route.methods.includes(method)) continue;
      const m = route.template.match(path);
      if (m) {
        matched = { route, params: m.params };
        break;
      }
    }
    if (!matched) return this.#notFound(req, res, url);
    if (matched.route.unavailable) return sendError(res, 501, 'NotImplemented', matched.route.unavailable);

    let body: Buffer;
    const hostLimit = this.options.maxRequestBodyBytes ?? DEFAULT_MAX_REQUEST_BODY_BYTES;
    // Bounded work before auth: a caller the app would refuse gets no more than a small body read.
    const refusal = matched.route.anonymous ? undefined : this.options.refusesCredentials?.(req.headers);
    const limit = refusal ? Math.min(hostLimit, this.options.unauthenticatedBodyBytes ?? UNAUTHENTICATED_BODY_BYTES) : hostLimit;
    if (this.options.streamProxyUri) {
      const declared = Number(req.headers['content-length']);
      if (refusal && (Number.isNaN(declared) ? req.headers['transfer-encoding'] !== undefined : declared > limit)) {
        sendError(res, refusal.status, refusal.code, refusal.message, undefined, { ...refusal.headers, Connection: 'close' });
        return;
      }
      if (Number.isFinite(declared) && declared > hostLimit) {
        sendError(res, 413, 'PayloadTooLarge', `Request bodies are limited to ${hostLimit} bytes (FUNCTIONS_REQUEST_BODY_SIZE_LIMIT).`, undefined, { Connection: 'close' });
        return;
      }
      return this.#invokeStreaming(matched.route, matched.params, req, res, url, this.options.streamProxyUri, hostLimit);
    }
    try {
      body = await readBody(req, limit);
    } catch (error) {
      if (error instanceof BodyTooLarge && refusal) {
        sendError(res, refusal.status, refusal.code, refusal.message, undefined, { ...refusal.headers, Connection: 'close' });
        return;
      }
      if (error instanceof BodyTooLarge) {
        // The connection is not reused: the rest of an oversized body is not worth reading.
        sendError(res, 413, 'PayloadTooLarge', `Request bodies are limited to ${limit} bytes (FUNCTIONS_REQUEST_BODY_SIZE_LIMIT).`, undefined, { Connection: 'close' });
        return;
      }
      throw error;
    }
    await this.#invoke(matched.route, matched.params, req, res, url, body);
  }

  /** No function serves the path and method (or a route constraint refused a segment): 404, as the Functions host answers, in the app's JSON error shape. */
  #notFound(req: IncomingMessage, res: ServerResponse, url: URL): void {
    sendError(res, 404, 'NotFound', `No function serves ${(req.method ?? 'GET').toUpperCase()} ${url.pathname}.`, 'path');
  }

  /**
   * An invocation whose request and response stream through the worker's HTTP proxy: the
   * invocation carries the request's metadata, the body goes to the proxy as it arrives (counted:
   * past the limit it is cut), and the proxy's answer is piped back as the worker writes it.
   */
  async #invokeStreaming(route: HttpRoute, params: Record<string, string>, req: IncomingMessage, res: ServerResponse, url: URL, proxyUri: string, limit: number): Promise<void> {
    // The body travels through the proxy, not in the invocation.
    const { http, triggerMetadata } = invocationHttp(req, url, params);
    const origin = new URL(requestOrigin(req, url.origin));
    let proxyRequest: ClientRequest | undefined;
    let proxied: Promise<void> = Promise.resolve();
    const forward = (invocationId: string) => {
      proxied = new Promise<void>((resolve, reject) => {
        const target = new URL(`${url.pathname}${url.search}`, proxyUri);
        proxyRequest = httpRequest(
          target,
          { method: req.method, headers: { ...req.headers, 'x-ms-invocation-id': invocationId, 'x-forwarded-host': origin.host, 'x-forwarded-proto': origin.protocol.replace(':', '') } },
          (proxyResponse) => {
            const out: Record<string, string | string[]> = {};
            for (const [k, v] of Object.entries(proxyResponse.headers)) if (v !== undefined && k !== 'x-ms-invocation-id') out[k] = v;
            res.writeHead(proxyResponse.statusCode ?? 200, out);
            proxyResponse.pipe(res);
            proxyResponse.on('end', resolve);
            proxyResponse.on('error', reject);
          },
        );
        proxyRequest.on('error', reject);
        let size = 0;
        req.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > limit) {
            proxyRequest!.destroy(new BodyTooLarge());
            req.resume();
          }
        });
        req.pipe(proxyRequest);
      });
      // Awaited below once the invocation returns; if the invocation fails first, the proxy
      // request is torn down and this rejection is expected, not unhandled.
      proxied.catch(() => undefined);
    };
    let invocationId = '';
    try {
      const outcome = await this.options.executor.execute(route.fn, {
        reason: 'This function was programmatically called via the host APIs.',
        trace: {
          ...(typeof req.headers.traceparent === 'string' ? { parent: req.headers.traceparent } : {}),
          kind: 'server',
          attributes: { 'http.request.method': req.method ?? 'GET', 'url.path': url.pathname },
        },
        request: ({ invocationId: id }) => {
          invocationId = id;
          forward(id);
          return { inputData: [{ name: route.triggerName, data: { http } }], triggerMetadata };
        },
      });
      await this.options.afterInvocation(route.fn, outcome.response, invocationId);
      await proxied;
    } catch {
      proxyRequest?.destroy();
      // The Functions host answers a failed invocation with an empty 500.
      if (!res.headersSent) res.writeHead(500, { 'Content-Length': '0' });
      res.end();
    }
  }

  async #invoke(route: HttpRoute, params: Record<string, string>, req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer) {
    const { http, triggerMetadata } = invocationHttp(req, url, params, body);
    let invocationId = '';
    let outcome;
    try {
      const traceparent = req.headers.traceparent;
      outcome = await this.options.executor.execute(route.fn, {
        reason: 'This function was programmatically called via the host APIs.',
        trace: {
          ...(typeof traceparent === 'string' ? { parent: traceparent } : {}),
          kind: 'server',
          attributes: { 'http.request.method': req.method ?? 'GET', 'url.path': url.pathname },
        },
        request: ({ invocationId: id }) => {
          invocationId = id;
          return { inputData: [{ name: route.triggerName, data: { http } }], triggerMetadata };
        },
      });
      await this.options.afterInvocation(route.fn, outcome.response, invocationId);
    } catch {
      // The Functions host answers a failed invocation with an empty 500.
      if (!res.headersSent) res.writeHead(500, { 'Content-Length': '0' });
      res.end();
      return;
    }
    const data = route.outputName === '$return' ? outcome.response.returnValue : outcome.response.outputData?.find((o) => o.name === route.outputName)?.data;
    const httpOut = data?.http;
    if (!httpOut) {
      res.writeHead(204, { 'Content-Length': '0' });
      res.end();
      return;
    }
    const status = Number(httpOut.statusCode ?? 200) || 200;
    const responseBody = typedDataBody(httpOut.body);
    const outHeaders: Record<string, string | string[]> = { ...(httpOut.headers ?? {}) };
    if (httpOut.cookies?.length) outHeaders['set-cookie'] = httpOut.cookies.map(cookieHeader);
    delete outHeaders['content-length'];
    delete outHeaders['transfer-encoding'];
    res.writeHead(status, { ...outHeaders, 'Content-Length': String(req.method === 'HEAD' ? 0 : responseBody.length) });
    res.end(req.method === 'HEAD' ? undefined : responseBody);
  }
}

/** The app's error shape (docs/http-api.md: Errors), for what the host answers itself. */
function sendError(res: ServerResponse, status: number, code: string, message: string, target?: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ error: { code, message, ...(target ? { target } : {}) } });
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)) });
  res.end(body);
}

function decodablePath(pathname: string): boolean {
  try {
    decodeURIComponent(pathname);
    return true;
  } catch {
    return false;
  }
}

/**
 * The request's URL. A target of origin form ("/path?query") is a path, even one that starts
 * with "//" (the WHATWG parser would read "//host" as an authority); an absolute one must parse.
 */
function requestUrl(target: string, base: string): URL | undefined {
  try {
    return target.startsWith('/') ? new URL(`${base}${target}`) : new URL(target);
  } catch {
    return undefined;
  }
}

const HOST_HEADER = /^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** The origin the caller addressed (http://<Host header>), or `fallback` when the header is missing or not a host. */
export function requestOrigin(req: IncomingMessage, fallback: string): string {
  const host = req.headers.host;
  return typeof host === 'string' && HOST_HEADER.test(host) ? `http://${host}` : fallback;
}

/** The HTTP trigger's data and metadata of a request, as the Functions host sends them to the worker. */
function invocationHttp(req: IncomingMessage, url: URL, params: Record<string, string>, body?: Buffer): { http: RpcHttpData; triggerMetadata: Record<string, RpcTypedData> } {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = k in query ? `${query[k]},${v}` : v;
  const http: RpcHttpData = {
    method: req.method,
    // As the Functions host does: the URL the caller used (its Host header), so a function that
    // builds links from request.url (createCheckStatusResponse) gives the caller's host back.
    url: `${requestOrigin(req, url.origin)}${url.pathname}${url.search}`,
    headers,
    query,
    params,
    body: body?.length ? { bytes: body } : undefined,
  };
  const triggerMetadata: Record<string, RpcTypedData> = { Query: { json: JSON.stringify(query) }, Headers: { json: JSON.stringify(headers) } };
  for (const [k, v] of Object.entries(params)) triggerMetadata[k] = { string: v };
  return { http, triggerMetadata };
}
