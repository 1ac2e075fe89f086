import type { DatabaseSync } from 'node:sqlite';
import type { CreditChange, CreditWatchPort, CreditWatchState, WatchedJob } from '../../core/kudos/creditWatch';
import type { CreditHold } from '../../core/kudos/jobCredit';

// The credit check's storage (core/kudos/creditWatch.ts): its one-row state in `horde_credit` and
// the job rows of `kudos_ledger` it books anew (both from migration 4).

interface StateRow {
  worker_name: string;
  read_at: number;
  fulfilled: number;
  paused_since: number | null;
  paused_how: CreditHold['how'] | null;
}

/** The credit check's port on SQLite. */
export function createSqliteCreditWatch(db: DatabaseSync): CreditWatchPort {
  const read = db.prepare('SELECT worker_name, read_at, fulfilled, paused_since, paused_how FROM horde_credit WHERE id = 1');
  const jobs = db.prepare(
    "SELECT horde_ref, at, announced, amount, not_credited FROM kudos_ledger WHERE source = 'job' AND at > ? ORDER BY at, id",
  );
  const rebook = db.prepare("UPDATE kudos_ledger SET amount = ?, not_credited = ? WHERE source = 'job' AND horde_ref = ?");
  const save = db.prepare(
    `INSERT INTO horde_credit (id, worker_name, read_at, fulfilled, paused_since, paused_how) VALUES (1, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET worker_name = excluded.worker_name, read_at = excluded.read_at, fulfilled = excluded.fulfilled,
       paused_since = excluded.paused_since, paused_how = excluded.paused_how`,
  );
  return {
    state(): CreditWatchState | null {
      const row = read.get() as StateRow | undefined;
      if (!row) return null;
      const hold = row.paused_since !== null && row.paused_how ? { since: Number(row.paused_since), how: row.paused_how } : null;
      return { workerName: row.worker_name, readAt: Number(row.read_at), fulfilled: Number(row.fulfilled), hold };
    },
    jobsAfter(afterMs: number): WatchedJob[] {
      const rows = jobs.all(afterMs) as {
        horde_ref: string;
        at: number;
        announced: number | null;
        amount: number;
        not_credited: string | null;
      }[];
      return rows.map((r) => ({
        hordeRef: r.horde_ref,
        at: Number(r.at),
        announced: Number(r.announced ?? r.amount),
        notCredited: r.not_credited,
      }));
    },
    commit(changes: readonly CreditChange[], state: CreditWatchState): void {
      db.exec('BEGIN IMMEDIATE');
      try {
        for (const change of changes) rebook.run(change.amount, change.notCredited, change.hordeRef);
        save.run(state.workerName, state.readAt, state.fulfilled, state.hold?.since ?? null, state.hold?.how ?? null);
        db.exec('COMMIT');
      } catch (error) {
        db.exec('ROLLBACK');
        throw error;
      }
    },
  };
}
