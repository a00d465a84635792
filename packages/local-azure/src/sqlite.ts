// One SQLite file holds every embedded service's state (broker, store, durable engine).
// WAL + synchronous=FULL: a commit is on disk (fsynced) when it returns, so anything the host
// acknowledges survives SIGKILL and power loss alike; GroupCommit amortises the fsync.
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

export type Db = Database.Database;

export function openDatabase(file: string): Db {
  if (file !== ':memory:') keepPrivate(file);
  const db = new Database(file);
  if (file !== ':memory:') db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    component TEXT NOT NULL, version INTEGER NOT NULL, applied_at TEXT NOT NULL,
    PRIMARY KEY (component, version)) WITHOUT ROWID`);
  return db;
}

/**
 * The data holds orders, messages and sagas: only its owner may read it. A new data folder is made
 * 0700; the database file is made (or set) 0600 before SQLite opens it, and SQLite gives its -wal
 * and -shm files the database file's permissions. An existing folder is left as it is (it may be
 * one the user shares on purpose, e.g. DATA_DIR=/tmp).
 */
function keepPrivate(file: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
}

/** Applies each not-yet-applied step of a component's schema, in order, once. */
export function migrate(db: Db, component: string, steps: string[]): void {
  const applied = new Set(db.prepare('SELECT version FROM schema_migrations WHERE component = ?').pluck().all(component) as number[]);
  db.transaction(() => {
    steps.forEach((sql, i) => {
      const version = i + 1;
      if (applied.has(version)) return;
      db.exec(sql);
      db.prepare('INSERT INTO schema_migrations (component, version, applied_at) VALUES (?, ?, ?)').run(component, version, new Date().toISOString());
    });
  })();
}

interface PendingOp {
  op: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: operations queued in the same event-loop turn run in one transaction (each in
 * its own savepoint, so one failing operation does not undo the others) and their promises
 * settle only after that transaction has committed — i.e. after the fsync.
 */
export class GroupCommit {
  #queue: PendingOp[] = [];
  #scheduled = false;
  #afterCommit: (() => void)[] = [];
  readonly #outer: (ops: PendingOp[]) => { ok: boolean; value: unknown }[];
  #closed = false;
  /** Transactions committed so far; a benchmark reads it to report ops per commit. */
  commits = 0;

  constructor(db: Db) {
    const savepoint = db.transaction((op: () => unknown) => op());
    this.#outer = db.transaction((ops: PendingOp[]) =>
      ops.map((p) => {
        try {
          return { ok: true, value: savepoint(p.op) };
        } catch (error) {
          return { ok: false, value: error };
        }
      }),
    );
  }

  run<T>(op: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('The embedded database is closed'));
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ op, resolve: resolve as (v: unknown) => void, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Runs fn after the current transaction commits (only valid inside an op). */
  afterCommit(fn: () => void): void {
    this.#afterCommit.push(fn);
  }

  flush(): void {
    this.#scheduled = false;
    const batch = this.#queue;
    if (batch.length === 0) return;
    this.#queue = [];
    let results: { ok: boolean; value: unknown }[];
    try {
      results = this.#outer(batch);
      this.commits++;
    } catch (error) {
      this.#afterCommit = [];
      for (const p of batch) p.reject(error);
      return;
    }
    const effects = this.#afterCommit;
    this.#afterCommit = [];
    batch.forEach((p, i) => {
      const r = results[i]!;
      if (r.ok) p.resolve(r.value);
      else p.reject(r.value);
    });
    for (const fn of effects) fn();
  }

  close(): void {
    this.flush();
    this.#closed = true;
  }
}
