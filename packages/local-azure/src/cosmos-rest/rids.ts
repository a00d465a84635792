// Resource ids (_rid) in the service's layout, which .NET decodes: a database is 4 bytes, a
// container its database's 4 plus 4 more with the top bit of the fifth set, a document its
// container's 8 plus 8 (the top nibble of the last byte, 0, says "document"; 5 "partition key
// range"). Rids go into URLs and signatures, so only ids whose base64 has no '+' or '/' are used.
import { createHash, randomBytes } from 'node:crypto';

const urlSafe = (b: Buffer) => {
  const s = b.toString('base64');
  return s.includes('+') || s.includes('/') ? undefined : s;
};

export function newDatabaseRid(): string {
  for (;;) {
    const rid = urlSafe(randomBytes(4));
    if (rid) return rid;
  }
}

export function newCollectionRid(databaseRid: string): string {
  const db = Buffer.from(databaseRid, 'base64');
  for (;;) {
    const own = randomBytes(4);
    own[0]! |= 0x80;
    const rid = urlSafe(Buffer.concat([db, own]));
    if (rid) return rid;
  }
}

/** A document's rid: derived from its partition and id, so it is the same on every read and across restarts. */
export function documentRid(collectionRid: string, partitionKey: string, id: string): string {
  const coll = Buffer.from(collectionRid, 'base64');
  for (let salt = 0; ; salt++) {
    const own = createHash('sha256').update(`${salt}\u0000${partitionKey}\u0000${id}`).digest().subarray(0, 8);
    own[7]! &= 0x0f;
    const rid = urlSafe(Buffer.concat([coll, own]));
    if (rid) return rid;
  }
}

export function partitionKeyRangeRid(collectionRid: string): string {
  const own = Buffer.alloc(8);
  own[0] = 2;
  own[7] = 0x50;
  return Buffer.concat([Buffer.from(collectionRid, 'base64'), own]).toString('base64');
}

/** Whether a path segment can be a rid of that many bytes (name-based paths are tried first). */
export function looksLikeRid(segment: string, bytes: number): boolean {
  return /^[A-Za-z0-9+=-]+$/.test(segment) && Buffer.from(segment.replaceAll('-', '/'), 'base64').length === bytes && segment.length === Math.ceil(bytes / 3) * 4;
}
