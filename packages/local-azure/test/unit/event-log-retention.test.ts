// Retention takes old events, never the numbering: once every event of a partition is past
// retention and swept, the next event continues the partition's sequence numbers and offsets
// (Event Hubs' sequence numbers only grow), so a reader holding a position — or starting from the
// end — is not left waiting for numbers the log has already used.
import { ManualClock } from '../../src/clock';
import { EmbeddedEventHubs } from '../../src/eventhubs/event-log';
import { GroupCommit, openDatabase } from '../../src/sqlite';

const DAY = 86_400_000;

test('after retention empties a partition, the next event continues its sequence numbers and offsets', async () => {
  const db = openDatabase(':memory:');
  const commit = new GroupCommit(db);
  const clock = new ManualClock();
  const hubs = new EmbeddedEventHubs([{ name: 'h', partitionCount: 1, messageRetentionInDays: 1, consumerGroups: [] }], db, commit, clock);
  const first = await hubs.publish('h', [{ body: Buffer.from('aaaa') }, { body: Buffer.from('bb') }], { partitionId: '0' });
  expect(first.map((e) => [e.sequenceNumber, e.offset])).toEqual([
    [0, 0],
    [1, 4],
  ]);
  clock.advance(2 * DAY);
  hubs.sweep();
  expect(hubs.read('h', 0, -1, 10)).toEqual([]);
  // A reader starting at the end is after the last number used, not before 0.
  expect(hubs.startPosition('h', 0, { type: 'fromEnd' })).toBe(1);
  const [next] = await hubs.publish('h', [{ body: Buffer.from('c') }], { partitionId: '0' });
  expect([next!.sequenceNumber, next!.offset]).toEqual([2, 6]);
  expect(hubs.read('h', 0, 1, 10).map((e) => e.sequenceNumber)).toEqual([2]);
  // A second sweep with newer events left keeps counting from them.
  hubs.sweep();
  const [after] = await hubs.publish('h', [{ body: Buffer.from('d') }], { partitionId: '0' });
  expect(after!.sequenceNumber).toBe(3);
  commit.close();
  db.close();
});
