// The Cosmos DB NoSQL REST API (the gateway protocol both @azure/cosmos and Microsoft.Azure.Cosmos
// speak in gateway mode) over the embedded document store, on a port of its own as the Cosmos DB
// emulator serves it on 8081. Plain HTTP: the JS SDK accepts an http:// endpoint as it is, and
// .NET does with ConnectionMode.Gateway (the emulator's connection string with http://), so no
// certificate has to be trusted. Requests are signed with the account key (the emulator's
// published key unless configured otherwise) and checked here.
//
//   GET  /                                             the database account (endpoints, consistency)
//   GET | POST  /dbs, /dbs/{db}/colls                  list, create, query (x-ms-documentdb-isquery)
//   GET | DELETE  /dbs/{db}, /dbs/{db}/colls/{coll}    read, delete
//   GET  /dbs/{db}/colls/{coll}/pkranges               the one partition key range "" to "FF"
//   POST /dbs/{db}/colls/{coll}/docs                   create, upsert, query, query plan, batch
//   GET  /dbs/{db}/colls/{coll}/docs                   read feed, change feed (A-IM)
//   GET | PUT | PATCH | DELETE  .../docs/{id}          point operations
//   GET | POST  /offers                                no offers: throughput is not modelled
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { EmbeddedDocumentStore } from '../docstore/store';
import type { HostLogger } from '../host/logger';
import type { Db } from '../sqlite';
import { authorize, EMULATOR_KEY } from './auth';
import { transactionalBatch } from './batch';
import { changeFeed, isChangeFeed } from './change-feed';
import {
  createDocument,
  deleteDocument,
  inPartition,
  partitionKeyHeader,
  patchDocument,
  readDocument,
  replaceDocument,
  shapeDocument,
  storeKey,
  upsertDocument,
  type ContainerContext,
} from './documents';
import { CosmosError, toCosmosError } from './errors';
import { flag, header, jsonObject, type Reply, type RestRequest } from './http';
import { feedPage, queryPage, queryPlan, querySpec } from './queries';
import { Catalog, containerResource, databaseResource, type ContainerRecord, type Json } from './resources';
import { partitionKeyRangeRid } from './rids';
import { route } from './routing';
import { maybeThrottle, throttleRates, type ThrottleRates } from './throttling';

export interface CosmosRestOptions {
  documents: EmbeddedDocumentStore;
  /** The SQLite database the store lives in (the catalog of databases and containers goes beside it). */
  db: Db;
  /** Account keys requests may be signed with; the emulator's published key by default. */
  keys?: string[];
  logger?: HostLogger;
  /** The store's clock (timestamps); signatures are checked against the real time. */
  now?: () => number;
  /**
   * The FAULT_INJECTION setting, read on every request so a drill can change without a restart
   * (./throttling: `cosmos-rest` or `cosmos-rest:<container>` → 429s); checked once at start.
   */
  faultInjection?: () => string | undefined;
}

/**
 * What Node's HTTP parser refuses before a handler runs — headers over its limit, bytes that are
 * not HTTP, a request that timed out — answered with Cosmos DB's error body, as every refusal is
 * (Node's own answer has none, and the SDKs read `message` from the body of any failure).
 */
function answerUnparsable(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || error.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const [status, reason, e] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', new CosmosError(431, 'The request headers are larger than the server accepts.')]
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', new CosmosError(408, 'The request was not received in full in time.')]
        : [400, 'Bad Request', new CosmosError(400, `The request is not valid HTTP (${error.code ?? 'unparsable'}).`)];
  const body = JSON.stringify(e.body());
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** Requests up to this size are read; a document over 2 MB is refused with 413 after reading. */
const MAX_REQUEST_BYTES = 4 * 1024 * 1024;
const PKRANGES_ETAG = '"1"';

const isQuery = (req: RestRequest) => flag(req, 'x-ms-documentdb-isquery') || (header(req, 'content-type') ?? '').toLowerCase().startsWith('application/query+json');

export class CosmosRestServer {
  readonly #server: Server;
  readonly #catalog: Catalog;
  readonly #keys: readonly string[];
  readonly #now: () => number;
  #port = 0;
  #requests = 0;

  constructor(private readonly options: CosmosRestOptions) {
    this.#now = options.now ?? Date.now;
    this.#catalog = new Catalog(options.db, options.documents, this.#now);
    this.#keys = options.keys ?? [EMULATOR_KEY];
    throttleRates(options.faultInjection?.());
    this.#server = createServer((req, res) => void this.#handle(req, res));
    this.#server.keepAliveTimeout = 30_000;
    // A client that sends its headers or body slowly, or never finishes, is cut off (408) rather
    // than holding a connection and its buffers for Node's default five minutes.
    this.#server.headersTimeout = 20_000;
    this.#server.requestTimeout = 60_000;
    this.#server.on('clientError', (error: NodeJS.ErrnoException, socket) => answerUnparsable(error, socket));
  }

  #ratesOf?: { setting: string | undefined; rates: ThrottleRates };

  /** The throttling plan now (parsed again only when the setting changed; a setting made malformed meanwhile throttles nothing). */
  #rates(): ThrottleRates {
    const setting = this.options.faultInjection?.();
    if (this.#ratesOf && this.#ratesOf.setting === setting) return this.#ratesOf.rates;
    let rates: ThrottleRates;
    try {
      rates = throttleRates(setting);
    } catch {
      rates = new Map();
    }
    this.#ratesOf = { setting, rates };
    return rates;
  }

  get port(): number {
    return this.#port;
  }

  /** How many requests it has answered (or is answering) since it started. */
  get requests(): number {
    return this.#requests;
  }

  /** Resolves with the port bound (0 picks a free one); on the loopback interface by default. */
  listen(port: number, host = '127.0.0.1'): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        this.#port = (this.#server.address() as AddressInfo).port;
        resolve(this.#port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  async #handle(incoming: IncomingMessage, res: ServerResponse): Promise<void> {
    this.#requests++;
    const activityId = (incoming.headers['x-ms-activity-id'] as string | undefined) ?? randomUUID();
    let reply: Reply;
    let context: ContainerContext | undefined;
    try {
      const body = await readBody(incoming);
      const req: RestRequest = { method: (incoming.method ?? 'GET').toUpperCase(), headers: incoming.headers, body, host: incoming.headers.host ?? `localhost:${this.#port}` };
      const path = new URL(incoming.url ?? '/', 'http://localhost').pathname;
      const r = route(path);
      authorize({ headers: req.headers, verb: req.method, resourceType: r.resourceType, resourceLink: r.resourceLink, keys: this.#keys, now: Date.now() });
      this.#catalog.sync();
      const s = r.segments;
      if (s.length >= 4 && s[2] === 'colls') context = this.#container(s[1]!, s[3]!);
      if (context && s[4] === 'docs') {
        maybeThrottle(this.#rates(), context.record.id);
      }
      reply = await this.#dispatch(req, s, context);
    } catch (error) {
      const e = toCosmosError(error);
      // A 500 is this server's fault, worth an error; 501 names a part of the API it does not serve.
      if (e.status === 500) this.options.logger?.log('error', 'Cosmos.Rest', `${incoming.method} ${incoming.url}: ${(error as Error).stack ?? e.message}`);
      reply = { status: e.status, body: e.body(), headers: { ...e.headers, ...(e.substatus !== undefined ? { 'x-ms-substatus': String(e.substatus) } : {}) } };
    }
    const headers: Record<string, string> = {
      'x-ms-activity-id': activityId,
      'x-ms-request-charge': '0',
      'x-ms-schemaversion': '1.18',
      'x-ms-gatewayversion': 'version=2.14.0',
      ...(context
        ? {
            'x-ms-session-token': `0:-1#${context.store.latestLsn()}`,
            'x-ms-content-path': context.record.rid,
            'x-ms-alt-content-path': `dbs/${context.record.db.id}/colls/${context.record.id}`,
            'x-ms-documentdb-partitionkeyrangeid': '0',
          }
        : {}),
      ...reply.headers,
    };
    if (Buffer.isBuffer(reply.body)) {
      headers['content-type'] = 'application/octet-stream';
      headers['content-length'] = String(reply.body.length);
      res.writeHead(reply.status, headers).end(reply.body);
    } else if (reply.body !== undefined && reply.status !== 204 && reply.status !== 304) {
      const text = JSON.stringify(reply.body);
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(text));
      res.writeHead(reply.status, headers).end(text);
    } else res.writeHead(reply.status, headers).end();
  }

  #container(db: string, coll: string): ContainerContext {
    const record = this.#catalog.container(this.#catalog.database(db), coll);
    return { record, store: this.#catalog.storeContainer(record) };
  }

  async #dispatch(req: RestRequest, s: string[], c: ContainerContext | undefined): Promise<Reply> {
    const m = req.method;
    const catalog = this.#catalog;
    if (s.length === 0 && m === 'GET') return { status: 200, body: this.#account(req) };
    if (s[0] === 'offers') {
      if (m === 'GET' || m === 'POST') return { status: 200, body: { _rid: '', Offers: [], _count: 0 }, headers: { 'x-ms-item-count': '0' } };
      throw notAllowed(m, s);
    }
    if (s.length === 1) {
      if (m === 'GET') return feedPage(req, catalog.databases().map(databaseResource), 'Databases', '', 'dbs');
      if (m === 'POST' && isQuery(req)) return queryPage({ req, spec: querySpec(req), items: catalog.databases().map(databaseResource), key: 'Databases', rid: '', scope: 'dbs', now: this.#now });
      if (m === 'POST') {
        const id = jsonObject(req, 'The database definition').id;
        return { status: 201, body: databaseResource(await catalog.createDatabase(String(id ?? ''))) };
      }
    }
    if (s.length === 2) {
      const d = catalog.database(s[1]!);
      if (m === 'GET') return { status: 200, body: databaseResource(d), headers: { etag: d.etag } };
      if (m === 'DELETE') {
        await catalog.deleteDatabase(d.id);
        return { status: 204 };
      }
    }
    if (s.length >= 3 && s[2] !== 'colls') throw new CosmosError(501, `${s[2]} (users and permissions) are not supported by this server: it takes the account key only.`);
    if (s.length === 3) {
      const d = catalog.database(s[1]!);
      const list = () => catalog.containers(d).map(containerResource);
      if (m === 'GET') return feedPage(req, list(), 'DocumentCollections', d.rid, `colls:${d.rid}`);
      if (m === 'POST' && isQuery(req)) return queryPage({ req, spec: querySpec(req), items: list(), key: 'DocumentCollections', rid: d.rid, scope: `colls:${d.rid}`, now: this.#now });
      if (m === 'POST') {
        const created = await catalog.createContainer(d, jsonObject(req, 'The container definition') as Json);
        return { status: 201, body: containerResource(created), headers: { etag: created.etag } };
      }
    }
    if (s.length === 4 && c) {
      if (m === 'GET') return { status: 200, body: containerResource(c.record), headers: { etag: c.record.etag } };
      if (m === 'DELETE') {
        await catalog.deleteContainer(c.record);
        return { status: 204 };
      }
      if (m === 'PUT') {
        if (header(req, 'if-match') !== undefined && header(req, 'if-match') !== c.record.etag) throw new CosmosError(412);
        const replaced = catalog.replaceContainer(c.record, jsonObject(req, 'The container definition') as Json);
        return { status: 200, body: containerResource(replaced), headers: { etag: replaced.etag } };
      }
    }
    if (s.length === 5 && c && s[4] === 'pkranges' && m === 'GET') return this.#partitionKeyRanges(req, c.record);
    if (s.length === 5 && c && s[4] === 'docs') {
      if (m === 'POST') {
        // The plan request also says application/query+json: it is told apart first.
        if (flag(req, 'x-ms-cosmos-is-query-plan-request')) return queryPlan(req);
        if (flag(req, 'x-ms-cosmos-is-batch-request')) return transactionalBatch(c, req);
        if (isQuery(req)) return this.#queryDocuments(req, c);
        if (flag(req, 'x-ms-documentdb-is-upsert')) return upsertDocument(c, req);
        return createDocument(c, req);
      }
      if (m === 'GET') {
        if (isChangeFeed(req)) return changeFeed(c, req);
        return this.#queryDocuments(req, c, { query: 'SELECT * FROM c', parameters: [] });
      }
    }
    if (s.length === 6 && c && s[4] === 'docs') {
      const id = s[5]!;
      if (m === 'GET') return readDocument(c, req, id);
      if (m === 'PUT') return replaceDocument(c, req, id);
      if (m === 'PATCH') return patchDocument(c, req, id);
      if (m === 'DELETE') return deleteDocument(c, req, id);
    }
    if (s.length >= 5 && s[4] !== 'docs' && s[4] !== 'pkranges')
      throw new CosmosError(501, `${s[4]} (stored procedures, triggers, user-defined functions, conflicts) are not supported by this server.`);
    throw notAllowed(m, s);
  }

  async #queryDocuments(req: RestRequest, c: ContainerContext, spec = querySpec(req)): Promise<Reply> {
    const pk = partitionKeyHeader(req);
    const { items } = await c.store.query({ partitionKey: pk ? storeKey(c, pk.value) : undefined, limit: Number.MAX_SAFE_INTEGER - 1 });
    const docs = (pk ? items.filter(inPartition(c, pk.value)) : items).map((d) => shapeDocument(c, d));
    return queryPage({ req, spec, items: docs, key: 'Documents', rid: c.record.rid, scope: `docs:${c.record.rid}:${pk ? JSON.stringify(pk.value) : ''}`, now: this.#now });
  }

  #partitionKeyRanges(req: RestRequest, record: ContainerRecord): Reply {
    // .NET reads the ranges as a change feed and stops only on a 304: the second read with the ETag gets one.
    if (header(req, 'if-none-match') === PKRANGES_ETAG) return { status: 304, headers: { etag: PKRANGES_ETAG, 'x-ms-item-count': '0' } };
    const rid = partitionKeyRangeRid(record.rid);
    const range = {
      _rid: rid,
      id: '0',
      _etag: PKRANGES_ETAG,
      minInclusive: '',
      maxExclusive: 'FF',
      ridPrefix: 0,
      _self: `dbs/${record.db.rid}/colls/${record.rid}/pkranges/${rid}/`,
      throughputFraction: 1,
      status: 'online',
      parents: [],
      _ts: record.ts,
      _lsn: 1,
    };
    return { status: 200, body: { _rid: record.rid, PartitionKeyRanges: [range], _count: 1 }, headers: { etag: PKRANGES_ETAG, 'x-ms-item-count': '1' } };
  }

  #account(req: RestRequest): Json {
    // The endpoint the client reached, so it keeps talking to it; an id other than "localhost",
    // which makes @azure/cosmos throw the locations away and re-read the account before each request.
    const endpoint = `http://${req.host}/`;
    const location = [{ name: 'South Central US', databaseAccountEndpoint: endpoint }];
    return {
      _self: '',
      id: 'local-azure',
      _rid: 'local-azure.documents.azure.com',
      media: '//media/',
      addresses: '//addresses/',
      _dbs: '//dbs/',
      writableLocations: location,
      readableLocations: location,
      enableMultipleWriteLocations: false,
      userReplicationPolicy: { asyncReplication: false, minReplicaSetSize: 1, maxReplicasetSize: 4 },
      userConsistencyPolicy: { defaultConsistencyLevel: 'Session' },
      systemReplicationPolicy: { minReplicaSetSize: 1, maxReplicasetSize: 4 },
      readPolicy: { primaryReadCoefficient: 1, secondaryReadCoefficient: 1 },
      queryEngineConfiguration: JSON.stringify({
        maxSqlQueryInputLength: 262144,
        maxJoinsPerSqlQuery: 5,
        maxLogicalAndPerSqlQuery: 500,
        maxLogicalOrPerSqlQuery: 500,
        maxUdfRefPerSqlQuery: 10,
        maxInExpressionItemsCount: 16000,
        queryMaxInMemorySortDocumentCount: 500,
        maxQueryRequestTimeoutFraction: 0.9,
        sqlAllowNonFiniteNumbers: false,
        sqlAllowAggregateFunctions: true,
        sqlAllowSubQuery: true,
        sqlAllowScalarSubQuery: true,
        allowNewKeywords: true,
        sqlAllowLike: true,
        sqlAllowGroupByClause: true,
        maxSpatialQueryCells: 12,
        spatialMaxGeometryPointCount: 256,
        sqlAllowTop: true,
        enableSpatialIndexing: true,
      }),
    };
  }
}

function notAllowed(method: string, segments: string[]): CosmosError {
  return new CosmosError(405, `${method} is not supported on /${segments.join('/')}.`);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // An oversized body is read to its end (and dropped) so the 413 can still be answered.
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_REQUEST_BYTES) chunks.push(chunk);
    });
    req.on('end', () => (size > MAX_REQUEST_BYTES ? reject(new CosmosError(413, `Request size is too large: ${size} bytes.`)) : resolve(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}
