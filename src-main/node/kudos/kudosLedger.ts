import type { DatabaseSync } from 'node:sqlite';
import type { CreditHold } from '../../core/kudos/jobCredit';
import { validateKudosEvent, type KudosEvent, type KudosLedgerPort, type KudosSource, type LedgerSum } from '../../core/kudos/ledger';

/** The pause the credit check last found (table from migration 4), or null. */
export function readCreditHold(db: DatabaseSync): CreditHold | null {
  const row = db.prepare('SELECT paused_since, paused_how FROM horde_credit WHERE id = 1').get() as
    { paused_since: number | null; paused_how: CreditHold['how'] | null } | undefined;
  return row?.paused_since != null && row.paused_how ? { since: Number(row.paused_since), how: row.paused_how } : null;
}

/** The kudos ledger on SQLite (table from migration 1, `announced` and `not_credited` from migration 4). */
export function createSqliteKudosLedger(db: DatabaseSync, now: () => number = Date.now): KudosLedgerPort {
  const insert = db.prepare(
    `INSERT INTO kudos_ledger (source, amount, at, horde_ref, detail, recorded_at, announced, not_credited)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source, horde_ref) DO NOTHING`,
  );
  const sums = db.prepare('SELECT source, SUM(amount) AS total, COUNT(*) AS count FROM kudos_ledger WHERE at >= ? GROUP BY source');
  return {
    record(event: KudosEvent) {
      const problem = validateKudosEvent(event);
      if (problem) throw new Error(`Refusing a kudos event: ${problem}`);
      const { source, amount, at, hordeRef, detail, announced, notCredited } = event;
      const result = insert.run(source, amount, at, hordeRef, detail ?? null, now(), announced ?? null, notCredited ?? null);
      return { inserted: Number(result.changes) === 1 };
    },
    sumSince(sinceMs: number): LedgerSum[] {
      return (sums.all(sinceMs) as { source: KudosSource; total: number; count: number }[]).map((r) => ({
        source: r.source,
        total: Number(r.total),
        count: Number(r.count),
      }));
    },
    creditHold: () => readCreditHold(db),
  };
}
