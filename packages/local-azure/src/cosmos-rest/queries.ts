// Queries, evaluated here in full: @azure/cosmos sends the user's query unchanged and pages on
// x-ms-continuation, doing nothing client-side unless a query fails with the specific 400s that
// make it fetch a query plan (never sent here). The query-plan request it fires alongside is
// answered with the "trivial" plan (no ORDER BY, aggregates, DISTINCT, TOP, OFFSET), which also
// makes .NET (when it asks the gateway for plans) pass the original query through unchanged.
// Continuation tokens hold the offset into the results and a fingerprint of the query: a page is
// the query run again and sliced, so pages are consistent with each other only as far as the
// data did not change between them (the service gives no more).
import { createHash } from 'node:crypto';
import { CosmosError } from './errors';
import { byteSize, charge, header, jsonBody, maxItemCount, type Reply, type RestRequest } from './http';
import type { Query } from './sql/ast';
import { execute, SqlEvaluationError } from './sql/evaluate';
import { parseQuery, SqlSyntaxError } from './sql/parser';

export const DEFAULT_PAGE_SIZE = 100;

export interface QuerySpecBody {
  query: string;
  parameters: { name: string; value: unknown }[];
}

export function querySpec(req: RestRequest): QuerySpecBody {
  const body = jsonBody(req);
  const spec = typeof body === 'string' ? { query: body } : (body as { query?: unknown; parameters?: unknown });
  if (typeof spec?.query !== 'string') throw new CosmosError(400, 'The query body must hold a "query" string.');
  const parameters = spec.parameters ?? [];
  if (!Array.isArray(parameters) || parameters.some((p) => typeof (p as { name?: unknown })?.name !== 'string')) throw new CosmosError(400, 'Query parameters must be a list of { name, value }.');
  return { query: spec.query, parameters: parameters as { name: string; value: unknown }[] };
}

/** The service's syntax-error body: a message holding the errors as JSON, with their location. */
export function parse(text: string): Query {
  try {
    return parseQuery(text);
  } catch (error) {
    if (!(error instanceof SqlSyntaxError)) throw error;
    const detail = { errors: [{ severity: 'Error', location: { start: error.position, end: error.position + 1 }, code: 'SC1001', message: error.message }] };
    throw new CosmosError(400, `Message: ${JSON.stringify(detail)}`);
  }
}

function fingerprint(spec: QuerySpecBody, scope: string): string {
  return createHash('sha256')
    .update(JSON.stringify([spec.query, spec.parameters, scope]))
    .digest('base64url')
    .slice(0, 12);
}

function startOffset(token: string | undefined, print: string): number {
  if (token === undefined) return 0;
  let parsed: { o?: unknown; h?: unknown } | undefined;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as typeof parsed;
  } catch {
    parsed = undefined;
  }
  if (!parsed || parsed.h !== print || typeof parsed.o !== 'number' || !Number.isSafeInteger(parsed.o) || parsed.o < 0) {
    throw new CosmosError(400, 'Invalid continuation token: it does not belong to this query.');
  }
  return parsed.o;
}

/**
 * One page of a query over these items (documents, databases or containers), in the feed
 * envelope the SDKs read: { _rid, <key>: [...], _count }.
 */
export function queryPage(o: { req: RestRequest; spec: QuerySpecBody; items: readonly unknown[]; key: string; rid: string; scope: string; now: () => number }): Reply {
  const query = parse(o.spec.query);
  let results: unknown[];
  try {
    results = execute(query, o.items, { parameters: o.spec.parameters, now: o.now });
  } catch (error) {
    if (error instanceof SqlEvaluationError) throw new CosmosError(400, error.message);
    throw error;
  }
  return page(o.req, results, o.key, o.rid, fingerprint(o.spec, o.scope));
}

/** A read feed (GET on a collection of resources): everything, paged the same way. */
export function feedPage(req: RestRequest, items: readonly unknown[], key: string, rid: string, scope: string): Reply {
  return page(req, items, key, rid, fingerprint({ query: 'feed', parameters: [] }, scope));
}

function page(req: RestRequest, results: readonly unknown[], key: string, rid: string, print: string): Reply {
  const size = maxItemCount(req, DEFAULT_PAGE_SIZE);
  const offset = startOffset(header(req, 'x-ms-continuation'), print);
  const slice = results.slice(offset, offset + size);
  const headers: Record<string, string> = {
    'x-ms-item-count': String(slice.length),
    'x-ms-request-charge': String(charge.query(slice.map(byteSize))),
    // .NET's optimistic direct execution restarts a paged query through its own planner unless told the results need no merging.
    'x-ms-cosmos-query-requiresdistribution': 'False',
  };
  if (offset + size < results.length) headers['x-ms-continuation'] = Buffer.from(JSON.stringify({ o: offset + size, h: print })).toString('base64url');
  return { status: 200, body: { _rid: rid, [key]: slice, _count: slice.length }, headers };
}

/** The plan for any query: nothing for the client to do but pass the query through. */
export function queryPlan(req: RestRequest): Reply {
  parse(querySpec(req).query);
  return {
    status: 200,
    body: {
      partitionedQueryExecutionInfoVersion: 2,
      queryInfo: {
        distinctType: 'None',
        top: null,
        offset: null,
        limit: null,
        orderBy: [],
        orderByExpressions: [],
        groupByExpressions: [],
        groupByAliases: [],
        aggregates: [],
        groupByAliasToAggregateType: {},
        rewrittenQuery: '',
        hasSelectValue: false,
        dCountInfo: null,
        hasNonStreamingOrderBy: false,
      },
      queryRanges: [{ min: '', max: 'FF', isMinInclusive: true, isMaxInclusive: false }],
    },
    headers: { 'x-ms-request-charge': '0' },
  };
}
