// The Durable engine's task hub in SQLite: a database written by an earlier build (history and
// instances in WITHOUT ROWID tables) is migrated with everything in it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventType, event, type HistoryEvent } from '../../src/embedded/durable/history';
import { DurableStore, newEngineState } from '../../src/embedded/durable/store';
import { migrate, openDatabase, type Db } from '../../src/embedded/sqlite';

const at = new Date(Date.UTC(2026, 0, 1));
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

test('a task hub of an earlier build is migrated: instances, their versions and every history event in order', () => {
  // The layout the first two schema steps wrote.
  migrate(db, 'durable', [
    `CREATE TABLE df_instances (
       instance_id TEXT PRIMARY KEY, name TEXT NOT NULL, execution_id TEXT NOT NULL, status TEXT NOT NULL,
       input TEXT, output TEXT, custom_status TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
       parent TEXT, state TEXT NOT NULL) WITHOUT ROWID;
     CREATE INDEX df_instances_status ON df_instances(status, created_at);
     CREATE TABLE df_history (instance_id TEXT NOT NULL, seq INTEGER NOT NULL, event TEXT NOT NULL, PRIMARY KEY (instance_id, seq)) WITHOUT ROWID;
     CREATE TABLE df_messages (
       id INTEGER PRIMARY KEY AUTOINCREMENT, instance_id TEXT NOT NULL, execution_id TEXT, kind TEXT NOT NULL,
       payload TEXT NOT NULL, visible_at INTEGER NOT NULL);
     CREATE INDEX df_messages_instance ON df_messages(instance_id, id);
     CREATE INDEX df_messages_visible ON df_messages(visible_at);
     CREATE TABLE df_work (
       id INTEGER PRIMARY KEY AUTOINCREMENT, instance_id TEXT NOT NULL, execution_id TEXT NOT NULL, task_id INTEGER NOT NULL,
       name TEXT NOT NULL, input TEXT NOT NULL, created_at INTEGER NOT NULL);`,
    `ALTER TABLE df_instances ADD COLUMN version TEXT;`,
  ]);
  const insert = db.prepare(
    `INSERT INTO df_instances (instance_id, name, execution_id, status, input, output, custom_status, created_at, updated_at, parent, state, version)
     VALUES (?, 'saga', ?, ?, '{}', ?, ?, ?, ?, ?, ?, ?)`,
  );
  insert.run('b', 'eb', 'Running', null, '{"step":2}', 2, 3, JSON.stringify({ instanceId: 'a', executionId: 'ea', taskId: 4 }), JSON.stringify({ ...newEngineState(), nextEventId: 5 }), '1.0');
  insert.run('a', 'ea', 'Completed', '"done"', null, 1, 9, null, JSON.stringify(newEngineState()), null);
  const history = db.prepare('INSERT INTO df_history (instance_id, seq, event) VALUES (?, ?, ?)');
  // Written out of order: the migrated history keeps each instance's sequence.
  for (const [id, seq] of [['b', 1], ['a', 0], ['b', 0], ['b', 2]] as const) history.run(id, seq, JSON.stringify(event(EventType.TaskScheduled, at, { EventId: seq, Name: `${id}${seq}` })));

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
});
