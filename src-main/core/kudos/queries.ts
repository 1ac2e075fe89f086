import type { KudosCharts } from '../../common/kudosViews';
import { buildKudosCharts, chartsSince, type LedgerRow } from './charts';
import { hordeWorkerTotal } from './jobCredit';
import type { KudosSource } from './ledger';

/** One job row of the ledger, as the reconciliation reads it. */
export interface JobCreditRow {
  /** What the horde credited (0 when it credited nothing). */
  amount: number;
  /** The reward the submit answer announced. */
  announced: number;
  /** Why the horde credited nothing, if so. */
  notCredited: string | null;
}

/** The job rows of the ledger in figures the reconciliation compares with the horde's. */
export interface JobLedgerSummary {
  /** Jobs the horde credited, and what it credited and had announced for them. */
  count: number;
  credited: number;
  announced: number;
  /** What the horde's own total of these credits is after its per-job rounding to whole kudos. */
  hordeRounded: number;
  /** Jobs it announced a reward for but credited nothing (a paused worker's fake jobs). */
  notCredited: { count: number; announced: number };
}

/**
 * What the Kudos page reads from the ledger besides the totals of `KudosLedgerPort`
 * (SQLite in node/kudos/kudosQueries.ts).
 */
export interface KudosQueryPort {
  /** Rows granted at or after `sinceMs`, oldest first. */
  rowsSince(sinceMs: number): LedgerRow[];
  /** All-time totals by source; a source without rows is 0. */
  totalsBySource(): Record<KudosSource, number>;
  /** Every job row, in the order they were granted. */
  jobCredits(): JobCreditRow[];
}

const round2 = (n: number): number => Math.round(n * 100) / 100;

/** Adds up the job rows: credited, announced, the horde's rounded figure, and the uncredited ones. */
export function summarizeJobCredits(rows: readonly JobCreditRow[]): JobLedgerSummary {
  const credited = rows.filter((r) => r.notCredited === null);
  const uncredited = rows.filter((r) => r.notCredited !== null);
  const sum = (list: readonly JobCreditRow[], pick: (r: JobCreditRow) => number) => round2(list.reduce((a, r) => a + pick(r), 0));
  return {
    count: credited.length,
    credited: sum(credited, (r) => r.amount),
    announced: sum(credited, (r) => r.announced),
    hordeRounded: hordeWorkerTotal(credited.map((r) => r.amount)),
    notCredited: { count: uncredited.length, announced: sum(uncredited, (r) => r.announced) },
  };
}

/** The Kudos page's charts at `now`, from the rows the charts can show. */
export function kudosChartsAt(queries: KudosQueryPort, now: Date): KudosCharts {
  return buildKudosCharts({ rows: queries.rowsSince(chartsSince(now)), allTime: queries.totalsBySource(), now });
}
