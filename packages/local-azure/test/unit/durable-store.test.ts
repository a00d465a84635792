// The Durable engine's task hub in SQLite: a database written by an earlier build (history and
// instances in WITHOUT ROWID tables, work items carrying their inputs) is migrated with everything
// in it; work items point at the history event that holds their input; running instances are kept
// in memory between episodes, and a write that is rolled back leaves nothing of itself there.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventType, event, type HistoryEvent } from '../../src/durable/history';
import { CACHED_HISTORY_CHARS, CACHED_INSTANCES, DURABLE_SCHEMA, DurableStore, newEngineState, type InstanceRow } from '../../src/durable/store';
import { GroupCommit, migrate, openDatabase, type Db } from '../../src/sqlite';

const at = new Date(Date.UTC(2026, 0, 1));
const row = (instanceId: string, fields: Partial<InstanceRow> = {}): InstanceRow => ({
  instanceId,
  name: 'saga',
  executionId: `exec-${instanceId}`,
  status: 'Running',
  input: '{"orderId":"o-1"}',
  output: null,
  customStatus: null,
  createdAt: at.getTime(),
  updatedAt: at.getTime(),
  state: newEngineState(),
  ...fields,
});
const events = (n: number, from = 0): HistoryEvent[] =>
  Array.from({ length: n }, (_, i) => event(EventType.TaskScheduled, at, { EventId: from + i, Name: `step${from + i}`, Input: JSON.stringify({ data: 'x'.repeat(1500) }) }));

let dir: string;
let db: Db;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'durable-store-'));
  db = openDatabase(join(dir, 'hub.sqlite'));
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a task hub of an earlier build is migrated: instances, their versions, every history event in order, work items', () => {
  // The layout the first two schema steps wrote.
  migrate(db, 'durable', DURABLE_SCHEMA.slice(0, 2));
  const insert = db.prepare(
    `INSERT INTO df_instances (instance_id, name, execution_id, status, input, output, custom_status, created_at, updated_at, parent, state, version)
     VALUES (?, 'saga', ?, ?, '{}', ?, ?, ?, ?, ?, ?, ?)`,
  );
  insert.run('b', 'eb', 'Running', null, '{"step":2}', 2, 3, JSON.stringify({ instanceId: 'a', executionId: 'ea', taskId: 4 }), JSON.stringify({ ...newEngineState(), nextEventId: 5 }), '1.0');
  insert.run('a', 'ea', 'Completed', '"done"', null, 1, 9, null, JSON.stringify(newEngineState()), null);
  const history = db.prepare('INSERT INTO df_history (instance_id, seq, event) VALUES (?, ?, ?)');
  // Written out of order: the migrated history keeps each instance's sequence.
  for (const [id, seq] of [
    ['b', 1],
    ['a', 0],
    ['b', 0],
    ['b', 2],
  ] as const)
    history.run(id, seq, JSON.stringify(event(EventType.TaskScheduled, at, { EventId: seq, Name: `${id}${seq}` })));
  const work = db.prepare("INSERT INTO df_work (instance_id, execution_id, task_id, name, input, created_at) VALUES ('b', 'eb', ?, ?, ?, 3)");
  work.run(2, 'b2', '{"n":2}');
  // A work item done before the upgrade: its id is never given again.
  db.prepare('DELETE FROM df_work WHERE id = ?').run(work.run(3, 'done', '{}').lastInsertRowid);

  const store = new DurableStore(db);
  expect(store.getInstance('b')).toMatchObject({ status: 'Running', customStatus: '{"step":2}', version: '1.0', parent: { instanceId: 'a', taskId: 4 }, state: { nextEventId: 5 } });
  expect(store.getInstance('a')).toMatchObject({ status: 'Completed', output: '"done"', createdAt: 1, updatedAt: 9 });
  expect(store.getInstance('a')!.version).toBeUndefined();
  expect(store.history('b').map((e) => e.Name)).toEqual(['b0', 'b1', 'b2']);
  expect(store.historyLength('b')).toBe(3);
  expect(store.query({ runtimeStatus: ['Running'] }).map((i) => i.instanceId)).toEqual(['b']);
  // The migrated tables take new rows as before: an upsert of an existing id, a history append.
  store.putInstance({ ...store.getInstance('b')!, status: 'Completed', output: '1' });
  store.appendHistory('b', 3, events(1, 3));
  expect(store.getInstance('b')).toMatchObject({ status: 'Completed', output: '1' });
  expect(store.historyLength('b')).toBe(4);
  expect(() => store.appendHistory('b', 3, events(1, 3))).toThrow(/UNIQUE/);
  // Work items keep their inputs; new ones point at their TaskScheduled event and get fresh ids.
  const [old] = store.work(10);
  expect(old).toMatchObject({ id: 1, instanceId: 'b', taskId: 2, input: '{"n":2}', historySeq: null });
  expect(store.workInput(old!)).toBe('{"n":2}');
  store.addWork('b', 'eb', 3, 'step3', events(1, 3)[0]!.Input!, 4, 3);
  const added = store.work(10)[1]!;
  expect(added).toMatchObject({ id: 3, input: null, historySeq: 3 });
  expect(JSON.parse(store.workInput(added))).toEqual({ data: 'x'.repeat(1500) });
  expect(() => store.workInput({ ...added, instanceId: 'a' })).toThrow(/no longer in its history/);
  // Continue-as-new clears the history: items pointing into it take their inputs along.
  store.clearHistory('b');
  expect(store.work(10)[1]).toMatchObject({ id: 3, historySeq: null });
  expect(JSON.parse(store.workInput(store.work(10)[1]!))).toEqual({ data: 'x'.repeat(1500) });
});

describe('instances kept in memory', () => {
  let store: DurableStore;
  let commit: GroupCommit;
  beforeEach(() => {
    store = new DurableStore(db);
    commit = new GroupCommit(db);
  });
  afterEach(() => commit.close());

  /** Writes a row and history as an episode does, remembering them once committed. */
  const episode = (instance: InstanceRow, previous: InstanceRow | undefined, added: HistoryEvent[]) =>
    commit.run(() => {
      const cached = store.loadInstance(instance.instanceId);
      // The events' JSON as recorded, reused for the played copies.
      const texts = added.map((e) => JSON.stringify(e));
      store.appendHistory(instance.instanceId, cached?.history.length ?? 0, added, texts);
      store.putInstance(instance, previous);
      const next = DurableStore.extend(cached, added, texts);
      commit.afterCommit(() => store.remember(instance, next.history, next.historyJson));
    });

  test('an episode reads back the very row and played history it committed (as JSON too); the rows on disk agree', async () => {
    const first = row('i-1');
    await commit.run(() => store.putInstance(first));
    await episode(first, first, events(2));
    const second = { ...first, customStatus: '"two"', state: { ...first.state, nextEventId: 2 } };
    // More events than one statement inserts.
    await episode(second, first, events(10, 2));
    const cached = store.loadInstance('i-1')!;
    expect(cached.instance).toBe(second);
    const ids = Array.from({ length: 12 }, (_, i) => i);
    expect(cached.history.map((e) => [e.EventId, e.IsPlayed])).toEqual(ids.map((id) => [id, true]));
    expect(JSON.parse(`[${cached.historyJson}]`)).toEqual(cached.history);
    // The rows on disk say the same (events stored as they happened, not played).
    const sql = new DurableStore(db);
    expect(sql.getInstance('i-1')).toEqual(second);
    expect(sql.history('i-1').map((e) => [e.EventId, e.IsPlayed])).toEqual(ids.map((id) => [id, false]));
    // Progress (same status) and a status change are both written.
    const done = { ...second, status: 'Completed' as const, output: '"ok"' };
    await episode(done, second, events(1, 12));
    expect(new DurableStore(db).getInstance('i-1')).toMatchObject({ status: 'Completed', output: '"ok"', customStatus: '"two"' });
    expect(store.query({ runtimeStatus: ['Completed'] }).map((i) => i.instanceId)).toEqual(['i-1']);
    expect(store.query({ runtimeStatus: ['Running'] })).toEqual([]);
  });

  test('a write that is rolled back leaves the committed copy, not its own, to be read', async () => {
    const committed = row('i-2');
    await commit.run(() => store.putInstance(committed));
    await episode(committed, committed, events(2));
    expect(store.loadInstance('i-2')!.instance).toBe(committed);
    await expect(
      commit.run(() => {
        store.putInstance({ ...committed, status: 'Failed' }, committed);
        store.appendHistory('i-2', 2, events(1, 2));
        // Inside the transaction the uncommitted write is what reads see.
        expect(store.getInstance('i-2')!.status).toBe('Failed');
        expect(store.loadInstance('i-2')!.history).toHaveLength(3);
        throw new Error('the episode failed halfway');
      }),
    ).rejects.toThrow('halfway');
    expect(store.getInstance('i-2')).toEqual(committed);
    expect(store.loadInstance('i-2')!.history).toHaveLength(2);
    expect(store.historyLength('i-2')).toBe(2);
  });

  test('deleting or clearing an instance drops its copy; finished instances are not kept; the oldest leave first', async () => {
    const a = row('a');
    await episode(a, undefined, events(1));
    await commit.run(() => store.clearHistory('a'));
    expect(store.loadInstance('a')!.history).toEqual([]);
    await commit.run(() => store.deleteInstance('a'));
    expect(store.getInstance('a')).toBeUndefined();
    expect(store.loadInstance('a')).toBeUndefined();

    const done = row('done', { status: 'Completed' });
    await episode(done, undefined, events(1));
    await commit.run(() => db.prepare("UPDATE df_instances SET output = '\"changed on disk\"' WHERE instance_id = 'done'").run());
    expect(store.getInstance('done')!.output).toBe('"changed on disk"');

    // Rows remembered without being written: one more than the cache holds. The first one left the
    // cache (and is looked for on disk, where it is not); the second is still there.
    for (let i = 0; i <= CACHED_INSTANCES; i++) store.remember(row(`r-${i}`), [], '');
    expect(store.getInstance('r-0')).toBeUndefined();
    expect(store.getInstance('r-1')).toMatchObject({ instanceId: 'r-1', status: 'Running' });
    // And within a size: two histories of over half the budget each push out what was used before.
    const sized = new DurableStore(db);
    const half = 'x'.repeat(CACHED_HISTORY_CHARS / 2 + 1);
    sized.remember(row('small'), [], '');
    sized.remember(row('big-1'), [], half);
    sized.loadInstance('small'); // used since
    sized.remember(row('big-2'), [], half);
    expect(sized.getInstance('big-1')).toBeUndefined();
    expect(sized.getInstance('big-2')).toBeDefined();
    expect(sized.getInstance('small')).toBeDefined();
  });
});
