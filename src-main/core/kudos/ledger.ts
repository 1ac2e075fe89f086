import type { KudosTotals } from '../../common/contract';
import { creditHoldText, type CreditHold } from './jobCredit';

/** Where a kudo came from: a finished job, a rating, or the horde's uptime reward. */
export type KudosSource = 'job' | 'rating' | 'uptime';
export const KUDOS_SOURCES: readonly KudosSource[] = ['job', 'rating', 'uptime'];

/** One row of the ledger: one reward the horde (or the ratings service) granted. */
export interface KudosEvent {
  source: KudosSource;
  /** What the horde credited: for a job, the announced reward times the bridge's share (core/kudos/jobCredit.ts). */
  amount: number;
  /** Jobs only: the reward the submit answer announced, before the bridge's share. */
  announced?: number;
  /** Set when the horde announced a reward but credited nothing (a paused worker's fake job): why. */
  notCredited?: string;
  /** When the horde granted it, ms since the epoch. */
  at: number;
  /** The horde's id for it (job id, image id, uptime period); unique per source. */
  hordeRef: string;
  /** Optional extra, e.g. the model name of a job. */
  detail?: string;
}

export interface LedgerSum {
  source: KudosSource;
  total: number;
  count: number;
}

/**
 * The durable kudos ledger (SQLite in node/kudos/kudosLedger.ts). `record` returns only once the
 * row is on disk, so callers acknowledge a reward after it. Recording the same
 * (source, hordeRef) twice keeps the first row and reports `inserted: false`.
 */
export interface KudosLedgerPort {
  record(event: KudosEvent): { inserted: boolean };
  sumSince(sinceMs: number): LedgerSum[];
  /** Set while the horde is known not to credit this worker's jobs (core/kudos/creditWatch.ts). */
  creditHold(): CreditHold | null;
}

/** Start of the local day, and of the rolling 7-day window that ends today. */
export function periodStarts(now: Date): { today: number; week: number } {
  const midnight = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  const weekStart = new Date(midnight);
  weekStart.setDate(weekStart.getDate() - 6);
  return { today: midnight.getTime(), week: weekStart.getTime() };
}

/** Rejects rows that would corrupt the totals: the ledger only holds real rewards. */
export function validateKudosEvent(event: KudosEvent): string | null {
  if (!KUDOS_SOURCES.includes(event.source)) return `unknown kudos source ${String(event.source)}`;
  if (!Number.isFinite(event.amount) || event.amount < 0) return `kudos amount must be a finite number ≥ 0, got ${event.amount}`;
  if (event.announced !== undefined && (!Number.isFinite(event.announced) || event.announced < 0))
    return `announced reward must be a finite number ≥ 0, got ${event.announced}`;
  if (event.notCredited !== undefined && event.amount !== 0) return 'a reward the horde did not credit books 0';
  if (!Number.isInteger(event.at) || event.at <= 0) return 'kudos time must be a positive integer of ms';
  if (event.hordeRef.trim() === '' || event.hordeRef.length > 200) return 'kudos event needs the horde id it belongs to';
  return null;
}

const round = (n: number): number => Math.round(n * 100) / 100;

function creditHoldView(hold: CreditHold | null): KudosTotals['creditHold'] {
  return hold ? { since: hold.since, how: hold.how, text: creditHoldText(hold) } : null;
}

/** Totals for the dashboard and the tray tooltip, straight from the ledger. */
export function computeTotals(ledger: KudosLedgerPort, now: Date): KudosTotals {
  const { today, week } = periodStarts(now);
  const sum = (rows: LedgerSum[]): number => round(rows.reduce((acc, r) => acc + r.total, 0));
  const all = ledger.sumSince(0);
  const bySource = { job: 0, rating: 0, uptime: 0 };
  for (const row of all) bySource[row.source] = round(row.total);
  return {
    today: sum(ledger.sumSince(today)),
    week: sum(ledger.sumSince(week)),
    allTime: sum(all),
    bySource,
    events: all.reduce((acc, r) => acc + r.count, 0),
    creditHold: creditHoldView(ledger.creditHold()),
  };
}
