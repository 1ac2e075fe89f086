import type { KudosCharts, KudosDay, KudosHour } from '../../common/kudosViews';
import type { KudosSource } from './ledger';

/** What the charts need of a ledger row. */
export interface LedgerRow {
  source: KudosSource;
  amount: number;
  /** ms since the epoch. */
  at: number;
}

export const CHART_DAYS = 30;
export const CHART_HOURS = 24;
const HOUR_MS = 3_600_000;

const round = (n: number): number => Math.round(n * 100) / 100;
const pad = (n: number): string => String(n).padStart(2, '0');

/** The local calendar date of a moment, YYYY-MM-DD. */
export function localDateKey(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** Local midnights of the last `count` days, oldest first, today last (calendar arithmetic, DST-safe). */
export function localDayStarts(now: Date, count: number): number[] {
  const starts: number[] = [];
  for (let back = count - 1; back >= 0; back--) {
    starts.push(new Date(now.getFullYear(), now.getMonth(), now.getDate() - back).getTime());
  }
  return starts;
}

/** The earliest ledger time the charts look at: the local midnight that starts the first day. */
export function chartsSince(now: Date): number {
  const first = localDayStarts(now, CHART_DAYS)[0] ?? now.getTime();
  // The 24-hour window always lies inside the 30 days, but stay safe for odd clocks.
  return Math.min(first, hourStart(now) - (CHART_HOURS - 1) * HOUR_MS);
}

function hourStart(now: Date): number {
  const d = new Date(now.getTime());
  d.setMinutes(0, 0, 0);
  return d.getTime();
}

/**
 * The Kudos page's charts from ledger rows (at least those since `chartsSince(now)`; older rows
 * are ignored): 30 local days and 24 clock hours by activity, both zero-filled, the kudos of the
 * last 60 minutes, and the all-time totals passed through (rounded like the dashboard).
 */
export function buildKudosCharts(input: { rows: readonly LedgerRow[]; allTime: Record<KudosSource, number>; now: Date }): KudosCharts {
  const { rows, now } = input;
  const nowMs = now.getTime();
  const days: KudosDay[] = localDayStarts(now, CHART_DAYS).map((start) => ({ date: localDateKey(start), job: 0, rating: 0, uptime: 0 }));
  const dayIndex = new Map(days.map((d, i) => [d.date, i]));
  const lastHour = hourStart(now);
  const firstHour = lastHour - (CHART_HOURS - 1) * HOUR_MS;
  const hours: KudosHour[] = Array.from({ length: CHART_HOURS }, (_, i) => ({
    hourStart: firstHour + i * HOUR_MS,
    job: 0,
    rating: 0,
    uptime: 0,
  }));
  let perHourNow = 0;

  for (const row of rows) {
    if (!Number.isFinite(row.amount) || !Number.isFinite(row.at)) continue;
    const day = dayIndex.get(localDateKey(row.at));
    if (day !== undefined) {
      const bucket = days[day];
      if (bucket) bucket[row.source] += row.amount;
    }
    if (row.at >= firstHour && row.at < lastHour + HOUR_MS) {
      const bucket = hours[Math.floor((row.at - firstHour) / HOUR_MS)];
      if (bucket) bucket[row.source] += row.amount;
    }
    if (row.at > nowMs - HOUR_MS && row.at <= nowMs) perHourNow += row.amount;
  }

  const tidy = <T extends Record<KudosSource, number>>(b: T): T => ({
    ...b,
    job: round(b.job),
    rating: round(b.rating),
    uptime: round(b.uptime),
  });
  return {
    days: days.map(tidy),
    hours: hours.map(tidy),
    perHourNow: round(perHourNow),
    allTime: { job: round(input.allTime.job), rating: round(input.allTime.rating), uptime: round(input.allTime.uptime) },
  };
}

/** Sum of one chart bucket. */
export function bucketTotal(b: Record<KudosSource, number>): number {
  return round(b.job + b.rating + b.uptime);
}
