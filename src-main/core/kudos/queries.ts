import type { KudosCharts } from '../../common/kudosViews';
import { buildKudosCharts, chartsSince, type LedgerRow } from './charts';
import type { KudosSource } from './ledger';

/**
 * What the Kudos page reads from the ledger besides the totals of `KudosLedgerPort`
 * (SQLite in node/kudos/kudosQueries.ts).
 */
export interface KudosQueryPort {
  /** Rows granted at or after `sinceMs`, oldest first. */
  rowsSince(sinceMs: number): LedgerRow[];
  /** All-time totals by source; a source without rows is 0. */
  totalsBySource(): Record<KudosSource, number>;
}

/** The Kudos page's charts at `now`, from the rows the charts can show. */
export function kudosChartsAt(queries: KudosQueryPort, now: Date): KudosCharts {
  return buildKudosCharts({ rows: queries.rowsSince(chartsSince(now)), allTime: queries.totalsBySource(), now });
}
