// Scans everything the embedded host stores — every row of every table of its SQLite database:
// the event store and the views (documents), broker messages with their properties, Durable
// history, Event Hubs events, checkpoints — for card numbers (src/security/card-numbers.ts).
// Text as it is; blobs (message bodies, Avro included) byte for byte; numbers as their digits.
import type { Db } from '@backbone/local-azure/sqlite';
import { findCardNumbers } from '../../src/security/card-numbers';

export interface StoredCardNumber {
  table: string;
  column: string;
  digits: string;
  /** The text around it, with the digits, so a failure says where and what. */
  context: string;
}

export interface StoreScan {
  tables: string[];
  cells: number;
  found: StoredCardNumber[];
}

export function scanStoredCardNumbers(db: Db): StoreScan {
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((t) => t.name);
  const found: StoredCardNumber[] = [];
  let cells = 0;
  for (const table of tables) {
    const statement = db.prepare(`SELECT * FROM "${table.replaceAll('"', '""')}"`).raw(true);
    const columns = statement.columns().map((c) => c.name);
    for (const row of statement.iterate() as Iterable<unknown[]>) {
      row.forEach((value, i) => {
        if (value === null || value === undefined) return;
        cells++;
        const text = Buffer.isBuffer(value) ? value.toString('latin1') : String(value);
        for (const f of findCardNumbers(text)) {
          found.push({ table, column: columns[i]!, digits: f.digits, context: text.slice(Math.max(0, f.index - 60), f.index + f.match.length + 20) });
        }
      });
    }
  }
  return { tables, cells, found };
}
