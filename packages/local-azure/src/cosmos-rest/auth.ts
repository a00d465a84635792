// Master-key authorization, as the SDKs sign every request: HMAC-SHA256 with the base64-decoded
// account key over "verb\nresourceType\nresourceLink\nx-ms-date\n\n" (verb, type and date
// lower-cased), sent URL-encoded as `type=master&ver=1.0&sig=<base64>`. .NET lower-cases
// rid-based resource links before signing, so both spellings are tried. A request whose date is
// far from ours is refused as the service does, so a captured header cannot be replayed later.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { CosmosError } from './errors';

/** The Cosmos DB emulator's published key: what every emulator connection string carries. */
export const EMULATOR_KEY = 'C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==';

const MAX_SKEW_MS = 15 * 60 * 1000;

export function signature(key: string, verb: string, resourceType: string, resourceLink: string, date: string): string {
  const text = `${verb.toLowerCase()}\n${resourceType.toLowerCase()}\n${resourceLink}\n${date.toLowerCase()}\n\n`;
  return createHmac('sha256', Buffer.from(key, 'base64')).update(text, 'utf8').digest('base64');
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Throws 401 unless the request is signed with one of the keys over this resource. */
export function authorize(o: { headers: IncomingHttpHeaders; verb: string; resourceType: string; resourceLink: string; keys: readonly string[]; now: number }): void {
  const raw = header(o.headers, 'authorization');
  if (!raw) throw new CosmosError(401, 'Required Header authorization is missing. Ensure a valid Authorization token is passed.');
  let token: string;
  try {
    token = decodeURIComponent(raw);
  } catch {
    throw new CosmosError(401, 'The authorization token is not URL-encoded.');
  }
  const fields = new URLSearchParams(token.replaceAll('+', '%2B'));
  if (fields.get('type') !== 'master') throw new CosmosError(401, `Authorization of type "${fields.get('type') ?? ''}" is not accepted here: sign with the account key (type=master).`);
  const sig = fields.get('sig') ?? '';
  const date = header(o.headers, 'x-ms-date') ?? header(o.headers, 'date');
  // The service's answers (seen in the SDKs' issue trackers, e.g. Azure/azure-cosmos-dotnet-v2#305
  // and #506): no date is 401, a date outside the token's 15 minutes is 403.
  if (!date) throw new CosmosError(401, 'Authorization token mandates Date header. Please pass in RFC 1123 style date format.');
  const at = Date.parse(date);
  if (Number.isNaN(at)) throw new CosmosError(401, `The date header (${date}) is not an RFC 1123 date. Please pass in RFC 1123 style date format.`);
  if (Math.abs(at - o.now) > MAX_SKEW_MS) {
    throw new CosmosError(
      403,
      `The authorization token is not valid at the current time. Please create another token and retry (token start time: ${new Date(at).toUTCString()}, token expiry time: ${new Date(at + MAX_SKEW_MS).toUTCString()}, current server time: ${new Date(o.now).toUTCString()}).`,
    );
  }
  // .NET signs a rid-based request with the resource's own rid, lower-cased.
  const links = new Set([o.resourceLink, o.resourceLink.toLowerCase(), o.resourceLink.split('/').pop()!.toLowerCase()]);
  const given = Buffer.from(sig, 'base64');
  for (const key of o.keys) {
    for (const link of links) {
      const expected = Buffer.from(signature(key, o.verb, o.resourceType, link, date), 'base64');
      if (expected.length === given.length && timingSafeEqual(expected, given)) return;
    }
  }
  throw new CosmosError(
    401,
    `The input authorization token can't serve the request. The wrong key is being used or the expected payload is not built as per the protocol. Server used the following payload to sign: '${o.verb.toLowerCase()}\\n${o.resourceType.toLowerCase()}\\n${o.resourceLink}\\n${date.toLowerCase()}\\n\\n'`,
  );
}
