// Resource paths: /dbs/{db}/colls/{coll}/docs/{id} and the feeds between, by name or by rid.
// What the SDKs sign is derived from the same path: the resource type (the last type segment)
// and the resource link (the path up to the last id), with ids unencoded.
import { CosmosError } from './errors';

export interface Route {
  /** Decoded segments, e.g. ['dbs', 'db1', 'colls', 'c1', 'docs']. */
  segments: string[];
  resourceType: string;
  resourceLink: string;
}

const CHILD: Record<string, readonly string[]> = {
  '': ['dbs', 'offers'],
  dbs: ['colls', 'users'],
  colls: ['docs', 'pkranges', 'sprocs', 'udfs', 'triggers', 'conflicts'],
};

export function route(pathname: string): Route {
  let segments: string[];
  try {
    segments = pathname
      .split('/')
      .filter((s) => s !== '')
      .map((s) => decodeURIComponent(s));
  } catch {
    throw new CosmosError(400, `The path ${pathname} is not URL-encoded properly.`);
  }
  for (let i = 0; i < segments.length; i += 2) {
    const parent = i === 0 ? '' : segments[i - 2]!;
    if (!(CHILD[parent] ?? []).includes(segments[i]!)) throw new CosmosError(404, `Unknown resource path /${segments.join('/')}.`);
  }
  if (segments.length === 0) return { segments, resourceType: '', resourceLink: '' };
  const even = segments.length % 2 === 0;
  return {
    segments,
    resourceType: even ? segments[segments.length - 2]! : segments[segments.length - 1]!,
    resourceLink: (even ? segments : segments.slice(0, -1)).join('/'),
  };
}
