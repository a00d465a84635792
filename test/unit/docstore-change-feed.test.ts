// The embedded store's change feed, as Cosmos DB's latest-version change feed: every write gets
// the container's next LSN; an item appears once, in its latest version, at the position of its
// latest write; deletes and expired items leave nothing behind.
import { embeddedDocumentHarness } from '../support/document-harness';

describe('embedded change feed', () => {
  const h = embeddedDocumentHarness();
  const items = h.store.container('items');
  const ids = (after: number) => items.readChangeFeed(after, 100).map((c) => c.document.id);
  afterAll(() => h.close());

  test('changes come in write order with increasing LSNs; an updated item moves to its latest write', async () => {
    await items.create({ id: 'a', pk: 'x', v: 1 });
    await items.create({ id: 'b', pk: 'x', v: 1 });
    await items.create({ id: 'c', pk: 'y', v: 1 });
    await items.upsert({ id: 'a', pk: 'x', v: 2 });
    const feed = items.readChangeFeed(0, 100);
    expect(feed.map((c) => c.document.id)).toEqual(['b', 'c', 'a']);
    expect(feed.map((c) => c.lsn)).toEqual([...feed.map((c) => c.lsn)].sort((x, y) => x - y));
    expect(feed.at(-1)!.document).toMatchObject({ id: 'a', v: 2, _lsn: feed.at(-1)!.lsn });
    expect(items.latestLsn()).toBe(feed.at(-1)!.lsn);
  });

  test('reading after a position returns only later changes, at most maxItems of them', async () => {
    const [first] = items.readChangeFeed(0, 1);
    expect(items.readChangeFeed(first!.lsn, 100).map((c) => c.document.id)).toEqual(['c', 'a']);
    expect(items.readChangeFeed(0, 2)).toHaveLength(2);
  });

  test('a deleted item leaves no change behind; an expired one neither', async () => {
    const before = items.latestLsn();
    await items.create({ id: 'gone', pk: 'x' });
    await items.delete('gone', 'x');
    expect(ids(before)).toEqual([]);
    const expiring = h.store.container('expiring');
    await expiring.create({ id: 'short', pk: 'x', ttl: 1 });
    expect(expiring.readChangeFeed(0, 10)).toHaveLength(1);
    await h.advance(1500);
    expect(expiring.readChangeFeed(0, 10)).toHaveLength(0);
  });

  test('a position by time: the change feed from a start time', async () => {
    const t = h.clock.now() + 10_000;
    await h.advance(10_000);
    await items.create({ id: 'later', pk: 'x' });
    expect(ids(items.lsnBefore(t))).toEqual(['later']);
    expect(ids(items.lsnBefore(t + 3_600_000))).toEqual([]);
  });

  test('writes wake change listeners only after they commit', async () => {
    let woken = 0;
    const off = h.store.onChange('items', () => woken++);
    await items.create({ id: 'wake', pk: 'x' });
    expect(woken).toBe(1);
    off();
  });
});
