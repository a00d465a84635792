// Partition assignment for a partition key as Event Hubs does it: Bob Jenkins' lookup3
// (hashlittle2, both seeds 0) over the key's UTF-8 bytes, the two 32-bit results XORed and
// truncated to a signed 16-bit value, then |h % partitionCount|. The Azure SDKs use the same
// algorithm for their buffered producers and document it as matching the service's gateway.

const rot = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;

/** lookup3 hashlittle2: [c, b] for the bytes with both seeds 0. */
export function lookup3(data: Uint8Array): [number, number] {
  let a = (0xdeadbeef + data.length) >>> 0;
  let b = a;
  let c = a;
  const word = (i: number) => (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) >>> 0;
  let i = 0;
  let length = data.length;
  while (length > 12) {
    a = (a + word(i)) >>> 0;
    b = (b + word(i + 4)) >>> 0;
    c = (c + word(i + 8)) >>> 0;
    // mix(a, b, c)
    a = (a - c) >>> 0;
    a = (a ^ rot(c, 4)) >>> 0;
    c = (c + b) >>> 0;
    b = (b - a) >>> 0;
    b = (b ^ rot(a, 6)) >>> 0;
    a = (a + c) >>> 0;
    c = (c - b) >>> 0;
    c = (c ^ rot(b, 8)) >>> 0;
    b = (b + a) >>> 0;
    a = (a - c) >>> 0;
    a = (a ^ rot(c, 16)) >>> 0;
    c = (c + b) >>> 0;
    b = (b - a) >>> 0;
    b = (b ^ rot(a, 19)) >>> 0;
    a = (a + c) >>> 0;
    c = (c - b) >>> 0;
    c = (c ^ rot(b, 4)) >>> 0;
    b = (b + a) >>> 0;
    i += 12;
    length -= 12;
  }
  if (length === 0) return [c, b];
  // The last 1–12 bytes, little-endian, zero-padded.
  const tail = new Uint8Array(12);
  tail.set(data.subarray(i));
  const t = (k: number) => (tail[k]! | (tail[k + 1]! << 8) | (tail[k + 2]! << 16) | (tail[k + 3]! << 24)) >>> 0;
  a = (a + t(0)) >>> 0;
  b = (b + t(4)) >>> 0;
  c = (c + t(8)) >>> 0;
  // final(a, b, c)
  c = (c ^ b) >>> 0;
  c = (c - rot(b, 14)) >>> 0;
  a = (a ^ c) >>> 0;
  a = (a - rot(c, 11)) >>> 0;
  b = (b ^ a) >>> 0;
  b = (b - rot(a, 25)) >>> 0;
  c = (c ^ b) >>> 0;
  c = (c - rot(b, 16)) >>> 0;
  a = (a ^ c) >>> 0;
  a = (a - rot(c, 4)) >>> 0;
  b = (b ^ a) >>> 0;
  b = (b - rot(a, 14)) >>> 0;
  c = (c ^ b) >>> 0;
  c = (c - rot(b, 24)) >>> 0;
  return [c, b];
}

/** The partition (index into the sorted partition ids) a key lands on. */
export function partitionForKey(partitionKey: string, partitionCount: number): number {
  const [c, b] = lookup3(Buffer.from(partitionKey, 'utf8'));
  const h = ((c ^ b) << 16) >> 16; // (short)(hash1 ^ hash2)
  return Math.abs(h % partitionCount);
}
