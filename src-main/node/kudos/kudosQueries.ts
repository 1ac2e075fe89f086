import type { DatabaseSync } from 'node:sqlite';
import type { LedgerRow } from '../../core/kudos/charts';
import type { KudosSource } from '../../core/kudos/ledger';
import type { JobCreditRow, KudosQueryPort } from '../../core/kudos/queries';

// Read-only queries on kudos_ledger (migrations 1 and 4) for the Kudos page.

/** Ledger rows granted at or after `sinceMs`, oldest first. */
export function ledgerRowsSince(db: DatabaseSync, sinceMs: number): LedgerRow[] {
  const rows = db.prepare('SELECT source, amount, at FROM kudos_ledger WHERE at >= ? ORDER BY at, id').all(sinceMs) as {
    source: KudosSource;
    amount: number;
    at: number;
  }[];
  return rows.map((r) => ({ source: r.source, amount: Number(r.amount), at: Number(r.at) }));
}

/** All-time ledger totals by source; a source without rows is 0. */
export function ledgerTotalsBySource(db: DatabaseSync): Record<KudosSource, number> {
  const totals: Record<KudosSource, number> = { job: 0, rating: 0, uptime: 0 };
  const rows = db.prepare('SELECT source, SUM(amount) AS total FROM kudos_ledger GROUP BY source').all() as {
    source: KudosSource;
    total: number | null;
  }[];
  for (const r of rows) if (r.source in totals) totals[r.source] = Number(r.total ?? 0);
  return totals;
}

/** Every job row's credited and announced reward, oldest first (columns from migration 4). */
export function ledgerJobCredits(db: DatabaseSync): JobCreditRow[] {
  const rows = db.prepare("SELECT amount, announced, not_credited FROM kudos_ledger WHERE source = 'job' ORDER BY at, id").all() as {
    amount: number;
    announced: number | null;
    not_credited: string | null;
  }[];
  // Every job row has `announced` since migration 4; a null would be a row written around it.
  return rows.map((r) => ({ amount: Number(r.amount), announced: Number(r.announced ?? r.amount), notCredited: r.not_credited }));
}

/** The Kudos page's ledger queries as a port. */
export function createSqliteKudosQueries(db: DatabaseSync): KudosQueryPort {
  return {
    rowsSince: (sinceMs) => ledgerRowsSince(db, sinceMs),
    totalsBySource: () => ledgerTotalsBySource(db),
    jobCredits: () => ledgerJobCredits(db),
  };
}
