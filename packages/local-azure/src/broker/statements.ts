// The broker's tables (migrations, in order; applied steps are never edited) and the statements it runs on them.
import type { Statement } from 'better-sqlite3';
import { type Db } from '../sqlite';

export const SCHEMA = [
  `CREATE TABLE sb_messages (
     id INTEGER PRIMARY KEY,
     entity TEXT NOT NULL,
     dlq INTEGER NOT NULL DEFAULT 0,
     seq INTEGER NOT NULL,
     state INTEGER NOT NULL,
     message_id TEXT NOT NULL,
     session_id TEXT, partition_key TEXT, correlation_id TEXT, content_type TEXT, subject TEXT,
     to_addr TEXT, reply_to TEXT, reply_to_session_id TEXT,
     app_props TEXT,
     body BLOB NOT NULL,
     size INTEGER NOT NULL,
     ttl_ms INTEGER,
     enqueued_at INTEGER NOT NULL,
     scheduled_at INTEGER,
     expires_at INTEGER,
     delivery_count INTEGER NOT NULL DEFAULT 0,
     lock_token TEXT, locked_until INTEGER, session_lock TEXT,
     dl_reason TEXT, dl_description TEXT, dl_source TEXT
   );
   CREATE INDEX sb_messages_order ON sb_messages(entity, dlq, seq);
   CREATE INDEX sb_messages_session ON sb_messages(entity, session_id, seq) WHERE session_id IS NOT NULL;
   CREATE INDEX sb_messages_scheduled ON sb_messages(scheduled_at) WHERE state = 2;
   CREATE INDEX sb_messages_locked ON sb_messages(entity, locked_until) WHERE lock_token IS NOT NULL;
   CREATE UNIQUE INDEX sb_messages_lock ON sb_messages(lock_token) WHERE lock_token IS NOT NULL;
   CREATE TABLE sb_duplicates (entity TEXT NOT NULL, message_id TEXT NOT NULL, expires_at INTEGER NOT NULL,
     PRIMARY KEY (entity, message_id)) WITHOUT ROWID;
   CREATE TABLE sb_sessions (entity TEXT NOT NULL, session_id TEXT NOT NULL, lock_token TEXT, locked_until INTEGER,
     state BLOB, PRIMARY KEY (entity, session_id)) WITHOUT ROWID;
   CREATE TABLE sb_sequences (entity TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;`,
  // Entities created, changed or deleted through the administration API, in order (an EntityChange as JSON), replayed over the declared topology at start.
  `CREATE TABLE sb_entity_changes (id INTEGER PRIMARY KEY, change TEXT NOT NULL, at INTEGER NOT NULL);`,
];

export interface BrokerStatements {
  nextSeq: Statement;
  insert: Statement;
  dupGet: Statement;
  dupPut: Statement;
  dupSweep: Statement;
  candidates: Statement;
  sessionCandidates: Statement;
  lock: Statement;
  byLock: Statement;
  byId: Statement;
  delete: Statement;
  release: Statement;
  toDlq: Statement;
  expiredRows: Statement;
  dueScheduled: Statement;
  nextScheduled: Statement;
  nextLockExpiry: Statement;
  nextSessionExpiry: Statement;
  scheduledBySeq: Statement;
  peek: Statement;
  deferredBySeq: Statement;
  session: Statement;
  sessionUpsert: Statement;
  sessionState: Statement;
  nextSession: Statement;
  sessionMessagesLocked: Statement;
  extendSessionMessages: Statement;
  counts: Statement;
  allLocked: Statement;
  clearSessionLocks: Statement;
  entityChanges: Statement;
  recordEntityChange: Statement;
  purgeMessages: Statement;
  purgeSessions: Statement;
  purgeDuplicates: Statement;
  purgeSequence: Statement;
}

export function prepareStatements(db: Db): BrokerStatements {
  return {
    nextSeq: db
      .prepare(
        `INSERT INTO sb_sequences (entity, value) VALUES (?, 1)
       ON CONFLICT(entity) DO UPDATE SET value = value + 1 RETURNING value`,
      )
      .pluck(),
    insert: db.prepare(
      `INSERT INTO sb_messages (entity, dlq, seq, state, message_id, session_id, partition_key, correlation_id,
         content_type, subject, to_addr, reply_to, reply_to_session_id, app_props, body, size, ttl_ms, enqueued_at,
         scheduled_at, expires_at, delivery_count, dl_reason, dl_description, dl_source)
       VALUES (@entity, @dlq, @seq, @state, @message_id, @session_id, @partition_key, @correlation_id,
         @content_type, @subject, @to_addr, @reply_to, @reply_to_session_id, @app_props, @body, @size, @ttl_ms,
         @enqueued_at, @scheduled_at, @expires_at, @delivery_count, @dl_reason, @dl_description, @dl_source)`,
    ),
    dupGet: db.prepare('SELECT expires_at FROM sb_duplicates WHERE entity = ? AND message_id = ?').pluck(),
    dupPut: db.prepare(
      `INSERT INTO sb_duplicates (entity, message_id, expires_at) VALUES (?, ?, ?)
       ON CONFLICT(entity, message_id) DO UPDATE SET expires_at = excluded.expires_at`,
    ),
    dupSweep: db.prepare('DELETE FROM sb_duplicates WHERE expires_at <= ?'),
    candidates: db.prepare(
      `SELECT * FROM sb_messages
       WHERE entity = ? AND dlq = ? AND state = 0 AND (lock_token IS NULL OR locked_until <= ?) AND seq > ?
       ORDER BY seq LIMIT ?`,
    ),
    sessionCandidates: db.prepare(
      `SELECT * FROM sb_messages
       WHERE entity = ? AND session_id = ? AND dlq = 0 AND state = 0 AND lock_token IS NULL AND seq > ?
       ORDER BY seq LIMIT ?`,
    ),
    lock: db.prepare('UPDATE sb_messages SET lock_token = ?, locked_until = ?, session_lock = ? WHERE id = ?'),
    byLock: db.prepare('SELECT * FROM sb_messages WHERE lock_token = ?'),
    byId: db.prepare('SELECT * FROM sb_messages WHERE id = ?'),
    delete: db.prepare('DELETE FROM sb_messages WHERE id = ?'),
    release: db.prepare(
      `UPDATE sb_messages SET lock_token = NULL, locked_until = NULL, session_lock = NULL,
         delivery_count = ?, app_props = ?, state = ? WHERE id = ?`,
    ),
    toDlq: db.prepare(
      `UPDATE sb_messages SET dlq = 1, state = 0, lock_token = NULL, locked_until = NULL, session_lock = NULL,
         delivery_count = ?, app_props = ?, dl_reason = ?, dl_description = ? WHERE id = ?`,
    ),
    expiredRows: db.prepare(
      `SELECT * FROM sb_messages WHERE entity = ? AND dlq = 0 AND state = 0 AND expires_at <= ?
         AND (lock_token IS NULL OR locked_until <= ?) LIMIT 500`,
    ),
    dueScheduled: db.prepare('SELECT * FROM sb_messages WHERE state = 2 AND scheduled_at <= ? ORDER BY seq LIMIT 1000'),
    nextScheduled: db.prepare('SELECT MIN(scheduled_at) FROM sb_messages WHERE state = 2').pluck(),
    nextLockExpiry: db.prepare('SELECT MIN(locked_until) FROM sb_messages WHERE entity = ? AND lock_token IS NOT NULL AND locked_until > ?').pluck(),
    nextSessionExpiry: db.prepare('SELECT MIN(locked_until) FROM sb_sessions WHERE entity = ? AND lock_token IS NOT NULL AND locked_until > ?').pluck(),
    scheduledBySeq: db.prepare('SELECT id FROM sb_messages WHERE entity = ? AND seq = ? AND state = 2').pluck(),
    peek: db.prepare('SELECT * FROM sb_messages WHERE entity = ? AND dlq = ? AND seq >= ? ORDER BY seq LIMIT ?'),
    deferredBySeq: db.prepare('SELECT * FROM sb_messages WHERE entity = ? AND dlq = ? AND seq = ? AND state = 1'),
    session: db.prepare('SELECT * FROM sb_sessions WHERE entity = ? AND session_id = ?'),
    sessionUpsert: db.prepare(
      `INSERT INTO sb_sessions (entity, session_id, lock_token, locked_until) VALUES (?, ?, ?, ?)
       ON CONFLICT(entity, session_id) DO UPDATE SET lock_token = excluded.lock_token, locked_until = excluded.locked_until`,
    ),
    sessionState: db.prepare('UPDATE sb_sessions SET state = ? WHERE entity = ? AND session_id = ?'),
    nextSession: db.prepare(
      `SELECT m.session_id FROM sb_messages m
         LEFT JOIN sb_sessions s ON s.entity = m.entity AND s.session_id = m.session_id
       WHERE m.entity = ? AND m.dlq = 0 AND m.state = 0 AND m.session_id IS NOT NULL
         AND (m.lock_token IS NULL OR m.locked_until <= ?)
         AND (s.lock_token IS NULL OR s.locked_until <= ?)
       ORDER BY m.seq LIMIT 1`,
    ),
    sessionMessagesLocked: db.prepare('SELECT * FROM sb_messages WHERE session_lock = ?'),
    extendSessionMessages: db.prepare('UPDATE sb_messages SET locked_until = ? WHERE session_lock = ?'),
    counts: db.prepare(
      `SELECT
         COALESCE(SUM(CASE WHEN dlq = 0 AND state IN (0, 1) THEN 1 ELSE 0 END), 0) AS active,
         COALESCE(SUM(CASE WHEN dlq = 0 AND state = 2 THEN 1 ELSE 0 END), 0) AS scheduled,
         COALESCE(SUM(CASE WHEN dlq = 1 THEN 1 ELSE 0 END), 0) AS dead,
         COUNT(*) AS total, COALESCE(SUM(size), 0) AS bytes
       FROM sb_messages WHERE entity = ?`,
    ),
    allLocked: db.prepare('SELECT * FROM sb_messages WHERE lock_token IS NOT NULL'),
    clearSessionLocks: db.prepare('UPDATE sb_sessions SET lock_token = NULL, locked_until = NULL'),
    entityChanges: db.prepare('SELECT change, at FROM sb_entity_changes ORDER BY id'),
    recordEntityChange: db.prepare('INSERT INTO sb_entity_changes (change, at) VALUES (?, ?)'),
    purgeMessages: db.prepare('DELETE FROM sb_messages WHERE entity = ?'),
    purgeSessions: db.prepare('DELETE FROM sb_sessions WHERE entity = ?'),
    purgeDuplicates: db.prepare('DELETE FROM sb_duplicates WHERE entity = ?'),
    purgeSequence: db.prepare('DELETE FROM sb_sequences WHERE entity = ?'),
  };
}
