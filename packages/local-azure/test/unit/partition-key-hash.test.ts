// The partition a key lands on: lookup3 as Bob Jenkins published it (his test vectors), folded
// the way the Event Hubs SDKs document the service's gateway does it.
import { lookup3, partitionForKey } from '../../src/eventhubs/partition-key-hash';

test('lookup3 (hashlittle2, seeds 0) matches the published vectors', () => {
  expect(lookup3(Buffer.from(''))).toEqual([0xdeadbeef, 0xdeadbeef]);
  expect(lookup3(Buffer.from('Four score and seven years ago'))).toEqual([0x17770551, 0xce7226e6]);
});

test('a key always maps to the same partition, within range, spread over all partitions', () => {
  for (const count of [1, 2, 4, 32]) {
    const hits = new Set<number>();
    for (let i = 0; i < 500; i++) {
      const p = partitionForKey(`order-${i}`, count);
      expect(p).toBe(partitionForKey(`order-${i}`, count));
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(count);
      hits.add(p);
    }
    expect(hits.size).toBe(count);
  }
});

test('keys of every length and alphabet hash (tails of 0–12 bytes, multi-byte UTF-8)', () => {
  for (let n = 0; n <= 40; n++) expect(partitionForKey('x'.repeat(n), 4)).toBeLessThan(4);
  expect(partitionForKey('Bestellung-ä-日本-😀', 8)).toBeLessThan(8);
});
