// The change feed (GET .../docs with A-IM: Incremental feed): the latest version of every item
// written since a position, in the order written, each with its _lsn. The position is the ETag:
// the quoted LSN of the last change returned, sent back in If-None-Match; `*` means "from now",
// If-Modified-Since "from that time", neither "from the beginning". Nothing new is 304 with the
// ETag to poll from — and x-ms-item-count: 0, which .NET parses on every answer. One partition
// key range covers the container, so a range-scoped request reads the whole container.
import type { Document } from '@backbone/azure-model/documents';
import { CosmosError } from './errors';
import { byteSize, charge, header, maxItemCount, type Reply, type RestRequest } from './http';
import { inPartition, partitionKeyHeader, shapeDocument, type ContainerContext } from './documents';

const DEFAULT_PAGE = 100;
const SCAN = 500;

export function isChangeFeed(req: RestRequest): boolean {
  const aim = header(req, 'a-im')?.toLowerCase();
  if (aim === undefined) return false;
  if (aim !== 'incremental feed') throw new CosmosError(400, `The change feed mode "${header(req, 'a-im')}" is not supported; only the latest-version feed (A-IM: Incremental feed) is.`);
  return true;
}

function startAfter(c: ContainerContext, req: RestRequest): number {
  const token = header(req, 'if-none-match');
  if (token === '*') return c.store.latestLsn();
  if (token !== undefined) {
    const m = /^"?(\d+)"?$/.exec(token.trim());
    if (!m) throw new CosmosError(400, `Invalid change feed continuation ${token}.`);
    return Number(m[1]);
  }
  const since = header(req, 'if-modified-since');
  if (since !== undefined) {
    const at = Date.parse(since);
    if (Number.isNaN(at)) throw new CosmosError(400, `Invalid If-Modified-Since: ${since}`);
    return c.store.lsnBefore(at);
  }
  return 0;
}

export function changeFeed(c: ContainerContext, req: RestRequest): Reply {
  const start = header(req, 'x-ms-start-epk');
  const end = header(req, 'x-ms-end-epk');
  if ((start !== undefined && start !== '') || (end !== undefined && end.toUpperCase() !== 'FF')) {
    throw new CosmosError(400, 'Change feed sub-ranges (x-ms-start-epk / x-ms-end-epk) are not supported: the container has one partition key range, "" to "FF".');
  }
  const max = maxItemCount(req, DEFAULT_PAGE);
  const pk = partitionKeyHeader(req);
  const keep = pk ? inPartition(c, pk.value) : () => true;
  let position = startAfter(c, req);
  const docs: Document[] = [];
  // A partition's changes are found among the container's: scan on until a page is full or the feed ends.
  for (;;) {
    const changes = c.store.readChangeFeed(position, pk ? SCAN : max - docs.length);
    for (const change of changes) {
      position = change.lsn;
      if (keep(change.document)) docs.push(shapeDocument(c, change.document, true));
      if (docs.length >= max) break;
    }
    if (docs.length >= max || changes.length === 0 || !pk) break;
  }
  const etag = `"${position}"`;
  const headers = { etag, 'x-ms-item-count': String(docs.length), 'x-ms-request-charge': String(docs.length ? charge.query(docs.map(byteSize)) : 1) };
  if (docs.length === 0) return { status: 304, headers };
  return { status: 200, body: { _rid: c.record.rid, Documents: docs, _count: docs.length }, headers };
}
