// The operations dashboard on the embedded host: the static page in <appDir>/dashboard/ (read
// at request time, so `npm start` serves it without a build step and an edit shows on reload),
// at `/` and `/dashboard/<asset>`, and two JSON endpoints only the host can answer, because they
// read the host's own services rather than the app's:
//   GET /dashboard/api/flow                     messages/s in and completed per entity, depths
//   GET /dashboard/api/traces?correlationId=    the spans of the traces of one transaction
// Everything else the page shows comes from the app's HTTP API (/api/ops/..., /api/sagas...),
// as it would on Azure. The page is not deployed there (.funcignore). With API keys configured
// the two endpoints need the ops role, like the app's ops API; the page itself (static files,
// no data) stays public so it can ask for a key.
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, resolve, sep } from 'node:path';
import type { EntityRuntimeProperties } from '@backbone/azure-model/service-bus';
import type { HostRefusal } from '@backbone/azure-model/local-runtime';
import type { EmbeddedBroker } from '../broker/broker';
import type { SpanRecord } from '../telemetry';
import type { UsageMeter, UsageRecord } from '../usage';
import type { RawHandler } from './http-listener';

const ASSET_PREFIX = '/dashboard/';
const API_PREFIX = '/dashboard/api/';
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
};
// One folder, plain names: nothing with a slash, a backslash or a leading dot can name a file
// outside it, whatever the URL decoding did before.
const ASSET_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9]+)+$/;
// The page loads only what this host serves: no CDN, no font service, nothing inline.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";
const MAX_CORRELATION_ID = 128;
const MAX_SPANS = 5_000;

/** What the flow figures are read from: the broker's entities and depths, the usage meter's counts. */
export interface FlowSources {
  entities(): { path: string; kind: 'queue' | 'topic' | 'subscription'; topic?: string }[];
  runtimeProperties(path: string): EntityRuntimeProperties;
  usage(): UsageRecord[];
}

/** The flow of the embedded broker, counted by the host's usage meter. */
export function brokerFlowSources(broker: Pick<EmbeddedBroker, 'entities' | 'runtimeProperties'>, usage: Pick<UsageMeter, 'records'>): FlowSources {
  return {
    entities: () => [
      ...broker.entities.queues.map((q) => ({ path: q.path, kind: 'queue' as const })),
      ...broker.entities.topics.flatMap((t) => [{ path: t.path, kind: 'topic' as const }, ...t.subscriptions.map((s) => ({ path: s.path, kind: 'subscription' as const, topic: t.path }))]),
    ],
    runtimeProperties: (path) => broker.runtimeProperties(path),
    usage: () => usage.records(),
  };
}

export interface DashboardOptions {
  /** The app folder; the page is read from its dashboard/ folder. */
  appDir: string;
  broker: Pick<EmbeddedBroker, 'entities' | 'runtimeProperties'>;
  usage: Pick<UsageMeter, 'records'>;
  spansOfCorrelation(correlationId: string): SpanRecord[];
  /** Monotonic milliseconds (tests pass their own). */
  now?: () => number;
  /** The sliding window the rates are averaged over. */
  windowMs?: number;
  /** Checks the caller of a dashboard API request (the app's rules, from its hooks): a refusal is answered as it says. */
  authorize?: (headers: IncomingMessage['headers']) => HostRefusal | undefined;
}

export interface EntityFlow {
  path: string;
  kind: 'queue' | 'topic' | 'subscription';
  topic?: string;
  /** Messages that arrived per second over the window. */
  incomingPerSecond: number;
  /** Messages completed (consumed successfully) per second; a topic holds none, so null. */
  completedPerSecond: number | null;
  activeMessageCount: number | null;
  deadLetterMessageCount: number | null;
  scheduledMessageCount: number | null;
}

export interface FlowReport {
  /** The span of time the rates are averaged over (shorter right after start). */
  windowSeconds: number;
  sampledAt: string;
  entities: EntityFlow[];
  totals: { incomingPerSecond: number; completedPerSecond: number; activeMessageCount: number; deadLetterMessageCount: number };
}

interface Counters {
  /** Messages sent to a queue or topic (usage meter: send and schedule items). */
  sent: number;
  completed: number;
  /** Every message an entity holds, dead letters included (its totalMessageCount). */
  total: number;
}

interface Sample {
  at: number;
  counters: Map<string, Counters>;
  /** Depths as read with the counters, by entity path. */
  properties: Map<string, EntityRuntimeProperties>;
}

const round = (n: number) => Math.round(n * 100) / 100;

/**
 * Rates from cumulative counters over a sliding window. Samples are taken when the flow is asked
 * for (the dashboard polls every second or so) plus one when the host starts, so nothing runs in
 * the background of a host nobody watches, and the first answer already averages since start.
 *
 * A queue's or topic's incoming rate counts what senders handed the broker (the usage meter's
 * send and schedule items, what Service Bus bills as incoming). A subscription has no sender:
 * what arrived there is what it holds now beyond what it held then, plus what was completed
 * meanwhile (conservation; messages purged or expired without dead-lettering in the window make
 * it read low). Completed is the usage meter's complete calls per entity.
 */
export class FlowSampler {
  readonly #samples: Sample[] = [];
  readonly #now: () => number;
  readonly #windowMs: number;

  constructor(
    private readonly sources: FlowSources,
    options: { now?: () => number; windowMs?: number } = {},
  ) {
    this.#now = options.now ?? (() => performance.now());
    this.#windowMs = options.windowMs ?? 10_000;
    this.#samples.push(this.#take());
  }

  #take(): Sample {
    const counters = new Map<string, Counters>();
    const of = (path: string) => {
      const key = path.toLowerCase();
      let c = counters.get(key);
      if (!c) counters.set(key, (c = { sent: 0, completed: 0, total: 0 }));
      return c;
    };
    for (const r of this.sources.usage()) {
      if (r.service !== 'serviceBus') continue;
      if (r.operation === 'send' || r.operation === 'schedule') of(r.resource).sent += r.items;
      else if (r.operation === 'complete') of(r.resource).completed += r.calls;
    }
    const properties = new Map<string, EntityRuntimeProperties>();
    for (const e of this.sources.entities()) {
      const p = this.sources.runtimeProperties(e.path);
      properties.set(e.path, p);
      if ('totalMessageCount' in p) of(e.path).total = p.totalMessageCount;
    }
    return { at: this.#now(), counters, properties };
  }

  /** Takes a sample and reports the rates since the oldest sample still in the window. */
  report(): FlowReport {
    const current = this.#take();
    const from = current.at - this.#windowMs;
    // Keep the samples in the window and the newest one before it (the baseline while the window
    // holds no other); fewer than one sample per 100 ms adds nothing but memory.
    const last = this.#samples[this.#samples.length - 1]!;
    if (current.at - last.at >= 100) this.#samples.push(current);
    while (this.#samples.length > 2 && this.#samples[1]!.at <= from) this.#samples.shift();
    const inWindow = this.#samples.find((s) => s.at >= from && s.at < current.at);
    const base = inWindow ?? this.#samples.filter((s) => s.at < current.at).pop() ?? current;
    const seconds = (current.at - base.at) / 1000;
    const none: Counters = { sent: 0, completed: 0, total: 0 };
    // A counter that went down was reset (UsageMeter.reset): no rate for that window.
    const rate = (delta: number) => (seconds > 0 && delta > 0 ? round(delta / seconds) : 0);

    const entities: EntityFlow[] = [];
    for (const e of this.sources.entities()) {
      const key = e.path.toLowerCase();
      const now = current.counters.get(key) ?? none;
      const then = base.counters.get(key) ?? none;
      if (e.kind === 'topic') {
        entities.push({
          path: e.path,
          kind: 'topic',
          incomingPerSecond: rate(now.sent - then.sent),
          completedPerSecond: null,
          activeMessageCount: null,
          deadLetterMessageCount: null,
          scheduledMessageCount: scheduledOf(current.properties.get(e.path) ?? this.sources.runtimeProperties(e.path)),
        });
        continue;
      }
      const p = current.properties.get(e.path) ?? this.sources.runtimeProperties(e.path);
      const completed = now.completed - then.completed;
      const incoming = e.kind === 'queue' ? now.sent - then.sent : now.total - then.total + Math.max(0, completed);
      entities.push({
        path: e.path,
        kind: e.kind,
        ...(e.topic ? { topic: e.topic } : {}),
        incomingPerSecond: rate(incoming),
        completedPerSecond: rate(completed),
        activeMessageCount: 'activeMessageCount' in p ? p.activeMessageCount : null,
        deadLetterMessageCount: 'deadLetterMessageCount' in p ? p.deadLetterMessageCount : null,
        scheduledMessageCount: scheduledOf(p),
      });
    }
    // Topics' incoming is already counted by their subscriptions' arrivals, once per copy: the
    // totals add up what entered the namespace (queues and topics) and what left it.
    const sum = (f: (e: EntityFlow) => number | null, kinds: EntityFlow['kind'][]) => round(entities.filter((e) => kinds.includes(e.kind)).reduce((n, e) => n + (f(e) ?? 0), 0));
    return {
      windowSeconds: round(seconds),
      sampledAt: new Date().toISOString(),
      entities,
      totals: {
        incomingPerSecond: sum((e) => e.incomingPerSecond, ['queue', 'topic']),
        completedPerSecond: sum((e) => e.completedPerSecond, ['queue', 'subscription']),
        activeMessageCount: sum((e) => e.activeMessageCount, ['queue', 'subscription']),
        deadLetterMessageCount: sum((e) => e.deadLetterMessageCount, ['queue', 'subscription']),
      },
    };
  }
}

const scheduledOf = (p: EntityRuntimeProperties) => ('scheduledMessageCount' in p ? p.scheduledMessageCount : null);

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): true {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(text)), 'Cache-Control': 'no-store', ...headers });
  res.end(text);
  return true;
}

const error = (res: ServerResponse, status: number, code: string, message: string, headers?: Record<string, string>) => send(res, status, { error: { code, message } }, headers);

/** The traces of one business transaction, each span once, in start order. */
export function traceView(correlationId: string, spans: SpanRecord[]) {
  const sorted = [...spans].sort((a, b) => a.start - b.start);
  const truncated = sorted.length > MAX_SPANS;
  const kept = truncated ? sorted.slice(0, MAX_SPANS) : sorted;
  const traceIds = [...new Set(kept.map((s) => s.traceId))];
  return { correlationId, traceIds, spanCount: kept.length, truncated, spans: kept };
}

export function dashboardHandler(options: DashboardOptions): RawHandler {
  const dir = resolve(options.appDir, 'dashboard');
  // Created with the host: its first sample is the baseline the first report averages from.
  const sampler = new FlowSampler(brokerFlowSources(options.broker, options.usage), { now: options.now, windowMs: options.windowMs });

  async function asset(req: IncomingMessage, res: ServerResponse, name: string): Promise<true> {
    const dot = name.lastIndexOf('.');
    const type = dot > 0 ? CONTENT_TYPES[name.slice(dot).toLowerCase()] : undefined;
    if (!ASSET_NAME.test(name) || !type) return error(res, 404, 'NotFound', `No dashboard asset named '${name}'.`);
    const file = join(dir, name);
    if (!file.startsWith(dir + sep)) return error(res, 400, 'BadRequest', 'Asset names cannot leave the dashboard folder.');
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      return error(res, 404, 'NotFound', name === 'index.html' ? `The dashboard is not installed: no ${file}.` : `No dashboard asset named '${name}'.`);
    }
    res.writeHead(200, {
      'Content-Type': type,
      'Content-Length': String(body.length),
      // Read from disk on every request: an edited page shows on reload.
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
      ...(type.startsWith('text/html') ? { 'Content-Security-Policy': CSP, 'Referrer-Policy': 'no-referrer' } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  }

  function api(res: ServerResponse, route: string, url: URL): true {
    if (route === 'flow') return send(res, 200, sampler.report());
    if (route === 'traces') {
      const correlationId = url.searchParams.get('correlationId')?.trim() ?? '';
      if (!correlationId) return error(res, 400, 'BadRequest', 'The correlationId query parameter is required.');
      if (correlationId.length > MAX_CORRELATION_ID) return error(res, 400, 'BadRequest', `A correlationId has at most ${MAX_CORRELATION_ID} characters.`);
      return send(res, 200, traceView(correlationId, options.spansOfCorrelation(correlationId)));
    }
    return error(res, 404, 'NotFound', `No dashboard endpoint '${route}'.`);
  }

  return async (req, res, url) => {
    const path = url.pathname;
    const isIndex = path === '/' || path === '/dashboard' || path === '/dashboard/';
    if (!isIndex && !path.startsWith(ASSET_PREFIX)) return false;
    const method = (req.method ?? 'GET').toUpperCase();
    if (method !== 'GET' && method !== 'HEAD') return error(res, 405, 'MethodNotAllowed', 'The dashboard answers GET only.', { Allow: 'GET, HEAD' });
    if (isIndex) return asset(req, res, 'index.html');
    let rest: string;
    try {
      rest = decodeURIComponent(path.slice(ASSET_PREFIX.length));
    } catch {
      return error(res, 400, 'BadRequest', 'The path is not valid percent-encoding.');
    }
    if (path.startsWith(API_PREFIX) && options.authorize) {
      const refused = options.authorize(req.headers);
      if (refused) return error(res, refused.status, refused.code, refused.message, refused.headers);
    }
    try {
      if (path.startsWith(API_PREFIX)) return api(res, path.slice(API_PREFIX.length), url);
    } catch (e) {
      // The page polls through restarts and shutdowns: a closed database is a 503, not a crash.
      return error(res, 503, 'ServiceUnavailable', (e as Error).message, { 'Retry-After': '1' });
    }
    if (rest.includes('/') || rest.includes('\\') || rest.includes('..') || rest.includes('\0')) {
      return error(res, 400, 'BadRequest', 'Asset names cannot leave the dashboard folder.');
    }
    return asset(req, res, rest);
  };
}
