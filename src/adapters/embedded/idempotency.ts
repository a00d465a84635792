// The idempotency store in the embedded host's SQLite file.
import { getEmbeddedRuntime, type EmbeddedRuntime } from '../../embedded/runtime';
import { migrate } from '../../embedded/sqlite';
import type { IdempotencyStore } from '../../esb/idempotency';

const prepared = new WeakMap<EmbeddedRuntime, { has: (key: string, now: number) => unknown; put: (key: string, expires: number) => unknown; sweep: (now: number) => unknown }>();

function statements(runtime: EmbeddedRuntime) {
  let s = prepared.get(runtime);
  if (!s) {
    migrate(runtime.db, 'idempotency', [
      'CREATE TABLE idempotency_keys (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID; CREATE INDEX idempotency_expiry ON idempotency_keys(expires_at);',
    ]);
    const has = runtime.db.prepare('SELECT 1 FROM idempotency_keys WHERE key = ? AND expires_at > ?').pluck();
    const put = runtime.db.prepare(
      'INSERT INTO idempotency_keys (key, expires_at) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET expires_at = excluded.expires_at',
    );
    const sweep = runtime.db.prepare('DELETE FROM idempotency_keys WHERE expires_at <= ?');
    s = { has: (key, now) => has.get(key, now), put: (key, expires) => put.run(key, expires), sweep: (now) => sweep.run(now) };
    prepared.set(runtime, s);
  }
  return s;
}

export class EmbeddedIdempotencyStore implements IdempotencyStore {
  #records = 0;

  async has(key: string): Promise<boolean> {
    const runtime = getEmbeddedRuntime();
    return statements(runtime).has(key, runtime.clock.now()) !== undefined;
  }

  async record(key: string, ttlSeconds: number): Promise<void> {
    const runtime = getEmbeddedRuntime();
    const s = statements(runtime);
    const sweep = ++this.#records % 1000 === 0;
    await runtime.commit.run(() => {
      const now = runtime.clock.now();
      s.put(key, now + ttlSeconds * 1000);
      if (sweep) s.sweep(now);
    });
  }
}
