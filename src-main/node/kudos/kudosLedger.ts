import type { DatabaseSync } from 'node:sqlite';
import { validateKudosEvent, type KudosEvent, type KudosLedgerPort, type KudosSource, type LedgerSum } from '../../core/kudos/ledger';

/** The kudos ledger on SQLite (table from migration 1). */
export function createSqliteKudosLedger(db: DatabaseSync, now: () => number = Date.now): KudosLedgerPort {
  const insert = db.prepare(
    `INSERT INTO kudos_ledger (source, amount, at, horde_ref, detail, recorded_at)
     VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (source, horde_ref) DO NOTHING`,
  );
  const sums = db.prepare('SELECT source, SUM(amount) AS total, COUNT(*) AS count FROM kudos_ledger WHERE at >= ? GROUP BY source');
  return {
    record(event: KudosEvent) {
      const problem = validateKudosEvent(event);
      if (problem) throw new Error(`Refusing a kudos event: ${problem}`);
      const result = insert.run(event.source, event.amount, event.at, event.hordeRef, event.detail ?? null, now());
      return { inserted: Number(result.changes) === 1 };
    },
    sumSince(sinceMs: number): LedgerSum[] {
      return (sums.all(sinceMs) as { source: KudosSource; total: number; count: number }[]).map((r) => ({
        source: r.source,
        total: Number(r.total),
        count: Number(r.count),
      }));
    },
  };
}
