// The route table (config/routes.yaml). Routes are tried in priority order — lower numbers
// first, file order among equals. A matching route sends the message to each of its
// destinations; unless it says `stopOnMatch: false`, no further route is tried (set it to false
// on several routes for a recipient list). A `default: true` route takes messages no other route
// matched; without one they are dead-lettered as NoRouteMatched. Everything a route names is
// checked at load: destinations against the topology, transforms and models against the
// catalog, templates and conditions — with the route and field at fault in the message.
import { readFileSync, statSync } from 'node:fs';
import { builtInSchemaCompiler } from '@backbone/azure-model/built-in-schema';
import { parse as parseYaml } from 'yaml';
import type { TopologyDefinition } from '@backbone/azure-model/topology';
import { parseFieldPath, readPath, type PathSegment } from '../field-path';
import type { SchemaRegistry } from '../schemas';
import { FORMATS, type Format } from '../transforms/document';
import type { TransformGraph, TransformTarget } from '../transforms/graph';
import { parseIsoDuration } from '@backbone/azure-model/durations';
import { DEFAULT_BACKOFF, type BackoffPolicy } from '../retry';
import { compileCondition, ConditionError, type Condition, type Predicate } from './conditions';

export interface DestinationConfig {
  queue?: string;
  topic?: string;
  transform?: string;
  model?: string;
  format?: Format;
  sessionId?: string;
  properties?: Record<string, string>;
}

export interface RouteConfig {
  name: string;
  description?: string;
  priority?: number;
  default?: boolean;
  stopOnMatch?: boolean;
  conditions?: Condition;
  destinations: DestinationConfig[];
  deadLetterAfterRetries?: number;
  retryBackoff?: { initialInterval?: string; maxInterval?: string };
}

export type Template = (message: unknown) => string;

export interface Destination {
  entity: string;
  kind: 'queue' | 'topic';
  target: TransformTarget;
  sessionId?: Template;
  properties: [string, Template][];
  /** index within its route, part of the deterministic outgoing messageId */
  index: number;
}

export interface Route {
  name: string;
  priority: number;
  isDefault: boolean;
  stopOnMatch: boolean;
  matches: Predicate;
  destinations: Destination[];
  deadLetterAfterRetries: number;
  retryBackoff: BackoffPolicy;
}

export const DEFAULT_RETRIES = 5;

export class RoutesFileError extends Error {
  override name = 'RoutesFileError';
}

const fileSchema = {
  type: 'object',
  required: ['routes'],
  additionalProperties: false,
  properties: {
    routes: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'destinations'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_-]{0,63}$' },
          description: { type: 'string' },
          priority: { type: 'integer', minimum: 0, maximum: 100000 },
          default: { type: 'boolean' },
          stopOnMatch: { type: 'boolean' },
          conditions: { type: 'object' },
          deadLetterAfterRetries: { type: 'integer', minimum: 0, maximum: 50 },
          retryBackoff: {
            type: 'object',
            additionalProperties: false,
            properties: { initialInterval: { type: 'string', pattern: '^P' }, maxInterval: { type: 'string', pattern: '^P' } },
          },
          destinations: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              additionalProperties: false,
              properties: {
                queue: { type: 'string', minLength: 1 },
                topic: { type: 'string', minLength: 1 },
                transform: { type: 'string', minLength: 1 },
                model: { type: 'string', minLength: 1 },
                format: { enum: [...FORMATS] },
                sessionId: { type: 'string', minLength: 1 },
                properties: { type: 'object', additionalProperties: { type: 'string' } },
              },
              oneOf: [{ required: ['queue'] }, { required: ['topic'] }],
            },
          },
        },
      },
    },
  },
};

const validateFile = builtInSchemaCompiler({ allErrors: false }).compile<{ routes: RouteConfig[] }>(fileSchema);

/** "order-{payload.orderId}" → a function of the message; a missing field is an error at send time. */
export function compileTemplate(text: string, at: string): Template {
  const parts: (string | { path: PathSegment[]; raw: string })[] = [];
  let last = 0;
  for (const m of text.matchAll(/\{([^{}]+)\}/g)) {
    parts.push(text.slice(last, m.index));
    try {
      parts.push({ path: parseFieldPath(m[1]!), raw: m[1]! });
    } catch (error) {
      throw new ConditionError((error as Error).message, at);
    }
    last = m.index + m[0].length;
  }
  parts.push(text.slice(last));
  if (/[{}]/.test(parts.filter((p) => typeof p === 'string').join(''))) throw new ConditionError(`unbalanced braces in "${text}"`, at);
  return (message) =>
    parts
      .map((p) => {
        if (typeof p === 'string') return p;
        const v = readPath(message, p.path)[0];
        if (v === undefined || v === null || typeof v === 'object') throw new Error(`${at}: {${p.raw}} has no value in this message`);
        return String(v);
      })
      .join('');
}

export interface RouteTableDeps {
  topology: TopologyDefinition;
  registry: SchemaRegistry;
  graph: TransformGraph;
}

/** The messageType a route's conditions pin (messageType equals X, alone or within all), if any. */
function pinnedMessageType(condition: Condition | undefined): string | undefined {
  if (!condition) return undefined;
  if ('field' in condition) return condition.field === 'messageType' && condition.operator === 'equals' && typeof condition.value === 'string' ? condition.value : undefined;
  if ('all' in condition) return condition.all.map(pinnedMessageType).find((t) => t !== undefined);
  return undefined;
}

function backoff(config: RouteConfig, fail: (field: string, message: string) => never): BackoffPolicy {
  const read = (field: 'initialInterval' | 'maxInterval', fallback: number) => {
    const text = config.retryBackoff?.[field];
    if (text === undefined) return fallback;
    try {
      return parseIsoDuration(text);
    } catch (error) {
      return fail(`retryBackoff.${field}`, (error as Error).message);
    }
  };
  const policy = { initialIntervalMs: read('initialInterval', DEFAULT_BACKOFF.initialIntervalMs), maxIntervalMs: read('maxInterval', DEFAULT_BACKOFF.maxIntervalMs) };
  if (policy.initialIntervalMs <= 0 || policy.maxIntervalMs < policy.initialIntervalMs) fail('retryBackoff', 'needs 0 < initialInterval <= maxInterval');
  return policy;
}

export class RouteTable {
  private constructor(
    readonly routes: Route[],
    readonly defaultRoute: Route | undefined,
  ) {}

  static parse(text: string, source: string, deps: RouteTableDeps): RouteTable {
    let doc: unknown;
    try {
      doc = parseYaml(text);
    } catch (error) {
      throw new RoutesFileError(`${source}: not valid YAML: ${(error as Error).message}`);
    }
    if (!validateFile(doc)) {
      const e = validateFile.errors![0]!;
      const m = /^\/routes\/(\d+)(.*)$/.exec(e.instancePath);
      const name = m ? (doc as { routes: { name?: string }[] }).routes[Number(m[1])]?.name : undefined;
      const where = m ? `route ${name ? `'${name}'` : `#${Number(m[1]) + 1}`}: ${(m[2] ?? '').slice(1).replaceAll('/', '.') || '(route)'}` : e.instancePath || '(root)';
      throw new RoutesFileError(`${source}: ${where}: ${e.message}${e.keyword === 'additionalProperties' ? ` "${String(e.params.additionalProperty)}"` : ''}`);
    }
    const names = new Set<string>();
    const routes: Route[] = [];
    let defaultRoute: Route | undefined;
    const queues = new Map(deps.topology.serviceBus.queues.map((q) => [q.name, q]));
    const topics = new Set(deps.topology.serviceBus.topics.map((t) => t.name));
    doc.routes.forEach((config, order) => {
      const fail = (field: string, message: string): never => {
        throw new RoutesFileError(`${source}: route '${config.name}': ${field}: ${message}`);
      };
      if (names.has(config.name)) fail('name', 'another route has this name');
      names.add(config.name);
      let matches: Predicate = () => true;
      if (config.default) {
        if (config.conditions) fail('conditions', 'the default route takes no conditions');
        if (defaultRoute) fail('default', `route '${defaultRoute.name}' is the default already`);
      } else {
        if (!config.conditions) fail('conditions', 'a route needs conditions (or default: true)');
        try {
          matches = compileCondition(config.conditions!);
        } catch (error) {
          if (error instanceof ConditionError) fail(error.at, error.message);
          throw error;
        }
      }
      const pinned = pinnedMessageType(config.conditions);
      const destinations = config.destinations.map((d, i): Destination => {
        const at = `destinations[${i}]`;
        const kind = d.queue ? 'queue' : 'topic';
        const entity = (d.queue ?? d.topic)!;
        if (kind === 'queue' && !queues.has(entity)) fail(`${at}.queue`, `queue '${entity}' is not in the topology (config/topology.yaml)`);
        if (kind === 'topic' && !topics.has(entity)) fail(`${at}.topic`, `topic '${entity}' is not in the topology (config/topology.yaml)`);
        if (d.transform && !deps.graph.get(d.transform)) fail(`${at}.transform`, `no transform named '${d.transform}'`);
        if (d.model && !deps.registry.find(d.model)) fail(`${at}.model`, `'${d.model}' is not in the message catalog`);
        const sessionQueue = kind === 'queue' && queues.get(entity)!.requiresSession === true;
        if (sessionQueue && !d.sessionId) fail(`${at}.sessionId`, `queue '${entity}' requires sessions: give a sessionId template`);
        if (kind === 'queue' && !sessionQueue && d.sessionId) fail(`${at}.sessionId`, `queue '${entity}' is not session-enabled`);
        const target: TransformTarget = { transform: d.transform, model: d.model, format: d.format };
        // Where the source model is known, the chain must exist now, not at the first message.
        for (const model of deps.registry.models.filter((m) => m.messageType === pinned)) {
          try {
            deps.graph.plan({ model: model.name, format: 'json' }, target);
          } catch (error) {
            fail(at, (error as Error).message);
          }
        }
        const template = (text: string, field: string) => {
          try {
            return compileTemplate(text, field);
          } catch (error) {
            return fail(field, (error as Error).message);
          }
        };
        return {
          entity,
          kind,
          target,
          sessionId: d.sessionId ? template(d.sessionId, `${at}.sessionId`) : undefined,
          properties: Object.entries(d.properties ?? {}).map(([k, v]) => [k, template(v, `${at}.properties.${k}`)] as [string, Template]),
          index: i,
        };
      });
      const route: Route = {
        name: config.name,
        priority: config.priority ?? 1000,
        isDefault: config.default === true,
        stopOnMatch: config.stopOnMatch !== false,
        matches,
        destinations,
        deadLetterAfterRetries: config.deadLetterAfterRetries ?? DEFAULT_RETRIES,
        retryBackoff: backoff(config, fail),
      };
      if (route.isDefault) defaultRoute = route;
      else routes.push(Object.assign(route, { order }));
    });
    routes.sort((a, b) => a.priority - b.priority || (a as Route & { order: number }).order - (b as Route & { order: number }).order);
    return new RouteTable(routes, defaultRoute);
  }

  static load(file: string, deps: RouteTableDeps): RouteTable {
    return RouteTable.parse(readFileSync(file, 'utf8'), file, deps);
  }

  /** The routes a message takes: in priority order until one stops matching; else the default. */
  match(message: unknown): Route[] {
    const matched: Route[] = [];
    for (const route of this.routes) {
      if (!route.matches(message)) continue;
      matched.push(route);
      if (route.stopOnMatch) break;
    }
    if (matched.length === 0 && this.defaultRoute) matched.push(this.defaultRoute);
    return matched;
  }
}

/**
 * The routes file, reloaded when it changes (checked at most once per interval). A changed file
 * that does not load leaves the previous table in force and is reported; a bad file at startup
 * fails startup.
 */
export class RouteTableSource {
  #table: RouteTable;
  #mtimeMs: number;
  #checkedAt = 0;

  constructor(
    private readonly file: string,
    private readonly deps: RouteTableDeps,
    private readonly onReloadError: (error: Error) => void,
    private readonly intervalMs = 1000,
    private readonly now: () => number = Date.now,
  ) {
    this.#mtimeMs = statSync(file).mtimeMs;
    this.#table = RouteTable.load(file, deps);
  }

  current(): RouteTable {
    const now = this.now();
    if (now - this.#checkedAt < this.intervalMs) return this.#table;
    this.#checkedAt = now;
    let mtimeMs: number;
    try {
      mtimeMs = statSync(this.file).mtimeMs;
    } catch (error) {
      this.onReloadError(error as Error);
      return this.#table;
    }
    if (mtimeMs !== this.#mtimeMs) {
      this.#mtimeMs = mtimeMs;
      try {
        this.#table = RouteTable.load(this.file, this.deps);
      } catch (error) {
        this.onReloadError(error as Error);
      }
    }
    return this.#table;
  }
}
