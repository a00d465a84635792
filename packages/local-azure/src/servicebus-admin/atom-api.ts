// Service Bus' administration API (HTTP, ATOM/XML) on the embedded broker, for
// ServiceBusAdministrationClient in @azure/service-bus and Azure.Messaging.ServiceBus. It is
// served on a port of its own, as the official emulator serves it (5300 beside AMQP's 5672):
// the SDKs reach it with the emulator's connection string naming that port
// (UseDevelopmentEmulator=true makes them use plain HTTP). Requests carry a SharedAccessSignature
// signed with the namespace's keys, as they would in Azure.
//
//   GET    /$namespaceinfo                                 the namespace
//   GET    /$Resources/Queues | /$Resources/Topics          feeds ($skip, $top)
//   GET    /{topic}/Subscriptions                           feed of a topic's subscriptions
//   GET    /{topic}/Subscriptions/{sub}/Rules               feed of a subscription's rules
//   GET | PUT | DELETE  /{queue or topic}, /{topic}/Subscriptions/{sub}, .../Rules/{rule}
//
// PUT creates (409 if it exists) or, with If-Match: *, replaces the description (404 if missing).
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BrokerError } from '@backbone/azure-model/service-bus';
import type { EmbeddedBroker } from '../broker/broker';
import { subscriptionPath, type Entity, type SubscriptionEntity } from '../broker/entities';
import { DEVELOPMENT_KEYS, grantedPath, verifySas } from '../amqp/listener';
import type { HostLogger } from '../host/logger';
import {
  entryDocument,
  errorBody,
  feedDocument,
  namespaceEntry,
  parseEntryBody,
  parseQueue,
  parseRule,
  parseSubscription,
  parseTopic,
  queueEntry,
  ruleEntry,
  subscriptionEntry,
  topicEntry,
  xml,
  type EntryContext,
} from './atom-xml';

export interface ServiceBusAdminOptions {
  broker: EmbeddedBroker;
  /** Shared access key name → key (the development key by default). */
  keys?: Record<string, string>;
  logger?: HostLogger;
  now?: () => number;
}

const MAX_BODY_BYTES = 1024 * 1024;
const DEFAULT_PAGE = 100;
const ENTRY = 'application/atom+xml;type=entry;charset=utf-8';
const FEED = 'application/atom+xml;type=feed;charset=utf-8';

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const STATUS_OF: Partial<Record<BrokerError['code'], number>> = { MessagingEntityNotFound: 404, MessagingEntityAlreadyExists: 409, InvalidOperation: 400 };

type Route =
  | { kind: 'namespace' }
  | { kind: 'list'; of: 'queues' | 'topics' }
  | { kind: 'subscriptions'; topic: string }
  | { kind: 'rules'; topic: string; subscription: string }
  | { kind: 'entity'; name: string }
  | { kind: 'subscription'; topic: string; subscription: string }
  | { kind: 'rule'; topic: string; subscription: string; rule: string };

function route(pathname: string): Route | undefined {
  const parts = pathname
    .split('/')
    .filter((p) => p !== '')
    .map((p) => decodeURIComponent(p));
  const is = (i: number, word: string) => parts[i]?.toLowerCase() === word.toLowerCase();
  if (parts.length === 1 && is(0, '$namespaceinfo')) return { kind: 'namespace' };
  if (parts.length === 2 && is(0, '$Resources') && (is(1, 'Queues') || is(1, 'Topics'))) return { kind: 'list', of: is(1, 'Queues') ? 'queues' : 'topics' };
  if (parts[0]?.startsWith('$')) return undefined;
  if (parts.length === 1) return { kind: 'entity', name: parts[0]! };
  if (parts.length === 2 && is(1, 'Subscriptions')) return { kind: 'subscriptions', topic: parts[0]! };
  if (parts.length === 3 && is(1, 'Subscriptions')) return { kind: 'subscription', topic: parts[0]!, subscription: parts[2]! };
  if (parts.length === 4 && is(1, 'Subscriptions') && is(3, 'Rules')) return { kind: 'rules', topic: parts[0]!, subscription: parts[2]! };
  if (parts.length === 5 && is(1, 'Subscriptions') && is(3, 'Rules')) return { kind: 'rule', topic: parts[0]!, subscription: parts[2]!, rule: parts[4]! };
  return undefined;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpError(413, `The request body is larger than ${MAX_BODY_BYTES} bytes.`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function serviceBusAdminHandler(o: ServiceBusAdminOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const now = o.now ?? Date.now;
  const keys = o.keys ?? DEVELOPMENT_KEYS;
  const startedAt = now();
  const broker = o.broker;
  const entities = broker.entities;
  const maxMessageSizeKb = () => (entities.sku === 'Premium' ? 1024 : 256);

  const authorize = (req: IncomingMessage, path: string) => {
    const header = req.headers.authorization ?? req.headers.servicebusauthorization;
    const token = Array.isArray(header) ? header[0] : header;
    if (!token) throw new HttpError(401, 'MissingToken: The authorization header was not found. To know more visit https://aka.ms/sbResourceMgrExceptions.');
    const verdict = verifySas(token, keys, now());
    if (typeof verdict === 'string') throw new HttpError(401, `InvalidSignature: ${verdict}.`);
    // The SDKs sign the request's own URL (query included); a token for a path grants what lies under it.
    const granted = grantedPath(verdict.audience.replace(/\?.*$/, '')).toLowerCase();
    const wanted = path.toLowerCase();
    if (granted && wanted !== granted && !wanted.startsWith(`${granted}/`)) throw new HttpError(401, `InvalidAudience: the token grants '${granted}', not '${path}'.`);
  };

  const runtime = (e: Entity) => broker.runtimeProperties(e.path);
  const entryOf = (ctx: EntryContext, e: Entity) => (e.kind === 'queue' ? queueEntry(ctx, e, runtime(e)) : e.kind === 'topic' ? topicEntry(ctx, e, runtime(e)) : subscriptionEntry(ctx, e, runtime(e)));

  const subscription = (topic: string, name: string): SubscriptionEntity => {
    const e = entities.get(subscriptionPath(topic, name));
    if (e?.kind !== 'subscription') throw new BrokerError('MessagingEntityNotFound', `The messaging entity '${topic}/Subscriptions/${name}' could not be found.`);
    return e;
  };

  const page = <T>(items: T[], url: URL, ctx: EntryContext, path: string): { items: T[]; next: string | undefined } => {
    const skip = Number(url.searchParams.get('$skip') ?? 0);
    const top = Number(url.searchParams.get('$top') ?? DEFAULT_PAGE);
    if (!Number.isInteger(skip) || skip < 0 || !Number.isInteger(top) || top < 1) throw new HttpError(400, '$skip must be a whole number and $top a positive one.');
    const slice = items.slice(skip, skip + top);
    const more = skip + top < items.length;
    return { items: slice, next: more ? `${ctx.base}/${path}?api-version=2021-05&$skip=${skip + top}&$top=${top}` : undefined };
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<{ status: number; body: string; type: string }> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const target = route(url.pathname);
    if (!target) throw new HttpError(404, `No Service Bus resource at '${url.pathname}'.`);
    authorize(req, url.pathname.replace(/^\/+/, ''));
    const host = req.headers.host ?? 'localhost';
    const ctx: EntryContext = { base: `http://${host}`, namespace: host.replace(/:\d+$/, '') };
    const method = req.method ?? 'GET';
    const entryReply = (status: number, e: Record<string, unknown>) => ({ status, body: xml(entryDocument(e)), type: ENTRY });
    const refuse = (): never => {
      res.setHeader('Allow', target.kind === 'namespace' || target.kind === 'list' || target.kind === 'subscriptions' || target.kind === 'rules' ? 'GET' : 'GET, PUT, DELETE');
      throw new HttpError(405, `${method} is not allowed on '${url.pathname}'.`);
    };

    switch (target.kind) {
      case 'namespace':
        if (method !== 'GET') refuse();
        return entryReply(200, namespaceEntry(ctx, entities.sku, startedAt));
      case 'list': {
        if (method !== 'GET') refuse();
        const all: Entity[] = target.of === 'queues' ? entities.queues : entities.topics;
        const path = target.of === 'queues' ? '$Resources/Queues' : '$Resources/Topics';
        const p = page(all, url, ctx, path);
        return {
          status: 200,
          body: xml(
            feedDocument(
              ctx,
              path,
              target.of === 'queues' ? 'Queues' : 'Topics',
              p.items.map((e) => entryOf(ctx, e)),
              p.next,
            ),
          ),
          type: FEED,
        };
      }
      case 'subscriptions': {
        if (method !== 'GET') refuse();
        const topic = entities.get(target.topic);
        if (topic?.kind !== 'topic') throw new BrokerError('MessagingEntityNotFound', `The messaging entity '${target.topic}' could not be found.`);
        const path = `${topic.path}/Subscriptions`;
        const p = page(topic.subscriptions, url, ctx, path);
        return {
          status: 200,
          body: xml(
            feedDocument(
              ctx,
              path,
              'Subscriptions',
              p.items.map((e) => entryOf(ctx, e)),
              p.next,
            ),
          ),
          type: FEED,
        };
      }
      case 'rules': {
        if (method !== 'GET') refuse();
        const sub = subscription(target.topic, target.subscription);
        const path = `${sub.topic}/Subscriptions/${sub.subscriptionName}/Rules`;
        const p = page(sub.rules, url, ctx, path);
        return {
          status: 200,
          body: xml(
            feedDocument(
              ctx,
              path,
              'Rules',
              p.items.map((r) => ruleEntry(ctx, sub, r)),
              p.next,
            ),
          ),
          type: FEED,
        };
      }
      case 'entity': {
        const existing = entities.get(target.name);
        if (method === 'GET') {
          if (!existing || existing.kind === 'subscription') throw new BrokerError('MessagingEntityNotFound', `The messaging entity '${target.name}' could not be found.`);
          return entryReply(200, entryOf(ctx, existing));
        }
        if (method === 'DELETE') {
          const kind = existing?.kind === 'topic' ? 'topic' : 'queue';
          await broker.changeEntity({ op: 'delete', kind, name: target.name });
          return { status: 200, body: '', type: ENTRY };
        }
        if (method !== 'PUT') refuse();
        const { root, description } = parseEntryBody(await readBody(req));
        const op = req.headers['if-match'] ? 'update' : 'create';
        if (root === 'QueueDescription') {
          if (op === 'update' && existing && existing.kind !== 'queue') throw new BrokerError('MessagingEntityNotFound', `'${target.name}' is a ${existing.kind}, not a queue.`);
          await broker.changeEntity({ op, kind: 'queue', ...parseQueue(target.name, description, maxMessageSizeKb()) });
        } else if (root === 'TopicDescription') {
          if (op === 'update' && existing && existing.kind !== 'topic') throw new BrokerError('MessagingEntityNotFound', `'${target.name}' is a ${existing.kind}, not a topic.`);
          await broker.changeEntity({ op, kind: 'topic', ...parseTopic(target.name, description, maxMessageSizeKb()) });
        } else {
          throw new HttpError(400, `A ${root} cannot be put at '${target.name}'; a QueueDescription or TopicDescription was expected.`);
        }
        return entryReply(op === 'create' ? 201 : 200, entryOf(ctx, entities.get(target.name)!));
      }
      case 'subscription': {
        if (method === 'GET') return entryReply(200, entryOf(ctx, subscription(target.topic, target.subscription)));
        if (method === 'DELETE') {
          await broker.changeEntity({ op: 'delete', kind: 'subscription', topic: target.topic, name: target.subscription });
          return { status: 200, body: '', type: ENTRY };
        }
        if (method !== 'PUT') refuse();
        const { root, description } = parseEntryBody(await readBody(req));
        if (root !== 'SubscriptionDescription') throw new HttpError(400, `A ${root} cannot be put at a subscription's address.`);
        const op = req.headers['if-match'] ? 'update' : 'create';
        const parsed = parseSubscription(target.subscription, description, maxMessageSizeKb());
        await broker.changeEntity({ op, kind: 'subscription', topic: target.topic, ...parsed });
        return entryReply(op === 'create' ? 201 : 200, entryOf(ctx, subscription(target.topic, target.subscription)));
      }
      case 'rule': {
        const findRule = () => {
          const sub = subscription(target.topic, target.subscription);
          const rule = sub.rules.find((r) => r.name.toLowerCase() === target.rule.toLowerCase());
          if (!rule) throw new BrokerError('MessagingEntityNotFound', `The messaging entity '${sub.topic}/Subscriptions/${sub.subscriptionName}/Rules/${target.rule}' could not be found.`);
          return ruleEntry(ctx, sub, rule);
        };
        if (method === 'GET') return entryReply(200, findRule());
        if (method === 'DELETE') {
          await broker.changeEntity({ op: 'delete', kind: 'rule', topic: target.topic, subscription: target.subscription, name: target.rule });
          return { status: 200, body: '', type: ENTRY };
        }
        if (method !== 'PUT') refuse();
        const { root, description } = parseEntryBody(await readBody(req));
        if (root !== 'RuleDescription') throw new HttpError(400, `A ${root} cannot be put at a rule's address.`);
        const op = req.headers['if-match'] ? 'update' : 'create';
        await broker.changeEntity({ op, kind: 'rule', topic: target.topic, subscription: target.subscription, definition: parseRule(target.rule, description) });
        return entryReply(op === 'create' ? 201 : 200, findRule());
      }
    }
  }

  return (req, res) => {
    const send = (status: number, body: string, type: string) => {
      if (res.headersSent) return;
      res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    };
    handle(req, res).then(
      (r) => send(r.status, r.body, r.type),
      (error: unknown) => {
        const status = error instanceof HttpError ? error.status : error instanceof BrokerError ? (STATUS_OF[error.code] ?? 500) : 500;
        const message = error instanceof Error ? error.message : String(error);
        if (status === 500) o.logger?.log('error', 'Host.ServiceBusAdmin', `${req.method} ${req.url}: ${message}`);
        // As the service words it: what went wrong, then where to trace it.
        const detail = `${message} TrackingId:${randomUUID()}, SystemTracker:${req.headers.host ?? 'localhost'}:${req.url ?? '/'}, Timestamp:${new Date(now()).toISOString()}`;
        send(status, errorBody(status, detail), 'application/xml; charset=utf-8');
      },
    );
  };
}

/** The administration API on a port of its own. */
export class ServiceBusAdminServer {
  readonly #server: Server;

  constructor(options: ServiceBusAdminOptions) {
    this.#server = createServer(serviceBusAdminHandler(options));
    // Clients keep connections alive between calls; closing must not wait for them.
    this.#server.keepAliveTimeout = 5_000;
  }

  /** The port bound, once listening. */
  port?: number;

  /** Resolves with the port bound (0 picks a free one); on the loopback interface by default, as the AMQP listener. */
  listen(port: number, host = '127.0.0.1'): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        this.port = (this.#server.address() as AddressInfo).port;
        resolve(this.port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}
