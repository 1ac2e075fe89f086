import { afterAll, describe, expect, test } from 'vitest';
import { kudosChartsSchema } from '../../src-main/common/kudosViews';
import { buildKudosCharts, bucketTotal, chartsSince, localDateKey, type LedgerRow } from '../../src-main/core/kudos/charts';
import { periodStarts, type KudosSource } from '../../src-main/core/kudos/ledger';

// Day buckets follow the local calendar, so pin a zone with daylight saving time.
// Set at load time: some cases are built while the file is collected.
const previousTz = process.env.TZ;
process.env.TZ = 'Europe/Berlin';
afterAll(() => {
  if (previousTz === undefined) delete process.env.TZ;
  else process.env.TZ = previousTz;
});

/** A local wall-clock time in the pinned zone. */
const local = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0): number => new Date(y, mo - 1, d, h, mi, s).getTime();
const row = (source: KudosSource, amount: number, at: number): LedgerRow => ({ source, amount, at });
const zero = { job: 0, rating: 0, uptime: 0 };

describe('buildKudosCharts: days', () => {
  test('the zone is pinned (Berlin: +01:00 in winter, +02:00 in summer)', () => {
    expect(new Date(local(2026, 1, 15)).getTimezoneOffset()).toBe(-60);
    expect(new Date(local(2026, 7, 15)).getTimezoneOffset()).toBe(-120);
  });

  const cases: {
    name: string;
    now: number;
    rows: LedgerRow[];
    first: string;
    last: string;
    expect: Record<string, Partial<typeof zero>>;
  }[] = [
    { name: 'empty ledger', now: local(2026, 5, 20, 9), rows: [], first: '2026-04-21', last: '2026-05-20', expect: {} },
    {
      name: 'month boundary (February into March)',
      now: local(2026, 3, 2, 10, 30),
      rows: [
        row('job', 5, local(2026, 1, 31, 23, 59, 59)), // before the window
        row('job', 1, local(2026, 2, 1, 0, 0, 0)), // first instant of the window
        row('job', 2, local(2026, 2, 28, 23, 59, 59)),
        row('rating', 3, local(2026, 3, 1, 0, 0, 0)),
        row('uptime', 70, local(2026, 3, 2, 10, 0)),
      ],
      first: '2026-02-01',
      last: '2026-03-02',
      expect: { '2026-02-01': { job: 1 }, '2026-02-28': { job: 2 }, '2026-03-01': { rating: 3 }, '2026-03-02': { uptime: 70 } },
    },
    {
      name: 'spring forward: the 23-hour day keeps its late rows',
      now: local(2026, 3, 30, 12),
      rows: [
        row('job', 4, local(2026, 3, 29, 23, 30)),
        row('job', 6, local(2026, 3, 30, 0, 30)),
        row('rating', 1, local(2026, 3, 29, 1, 0)),
      ],
      first: '2026-03-01',
      last: '2026-03-30',
      expect: { '2026-03-29': { job: 4, rating: 1 }, '2026-03-30': { job: 6 } },
    },
    {
      name: 'fall back: the 25-hour day keeps its late rows',
      now: local(2026, 10, 26, 8),
      rows: [
        row('uptime', 50, local(2026, 10, 25, 23, 45)),
        row('job', 0.1, local(2026, 10, 26, 0, 15)),
        row('job', 0.2, local(2026, 10, 26, 7, 0)),
      ],
      first: '2026-09-27',
      last: '2026-10-26',
      expect: { '2026-10-25': { uptime: 50 }, '2026-10-26': { job: 0.3 } },
    },
    {
      name: 'year boundary',
      now: local(2027, 1, 1, 0, 5),
      rows: [row('job', 7, local(2026, 12, 31, 23, 59)), row('job', 8, local(2027, 1, 1, 0, 1))],
      first: '2026-12-03',
      last: '2027-01-01',
      expect: { '2026-12-31': { job: 7 }, '2027-01-01': { job: 8 } },
    },
  ];

  test.each(cases)('$name', ({ now, rows, first, last, expect: want }) => {
    const charts = buildKudosCharts({ rows, allTime: { job: 0, rating: 0, uptime: 0 }, now: new Date(now) });
    expect(() => kudosChartsSchema.parse(charts)).not.toThrow();
    expect(charts.days).toHaveLength(30);
    expect(charts.days[0]?.date).toBe(first);
    expect(charts.days[29]?.date).toBe(last);
    // Consecutive calendar dates, no gaps or repeats across DST.
    charts.days.forEach((d, i) => {
      if (i === 0) return;
      const prev = charts.days[i - 1]!.date.split('-').map(Number) as [number, number, number];
      expect(localDateKey(new Date(prev[0], prev[1] - 1, prev[2] + 1).getTime())).toBe(d.date);
    });
    for (const d of charts.days) expect({ job: d.job, rating: d.rating, uptime: d.uptime }).toEqual({ ...zero, ...want[d.date] });
  });
});

describe('buildKudosCharts: hours and the last 60 minutes', () => {
  const now = local(2026, 6, 10, 10, 30);
  const rows = [
    row('job', 1, local(2026, 6, 9, 10, 59)), // before the first hour
    row('job', 2, local(2026, 6, 9, 11, 0)), // first hour
    row('rating', 3, local(2026, 6, 10, 9, 29)), // previous hour, more than 60 min ago
    row('rating', 4, local(2026, 6, 10, 9, 31)), // previous hour, inside the last 60 min
    row('uptime', 70, local(2026, 6, 10, 10, 5)), // current hour
  ];
  const charts = buildKudosCharts({ rows, allTime: { job: 3.005, rating: 7, uptime: 70 }, now: new Date(now) });

  test('24 clock hours, oldest first, ending with the current hour', () => {
    expect(charts.hours).toHaveLength(24);
    expect(charts.hours[23]?.hourStart).toBe(local(2026, 6, 10, 10));
    expect(charts.hours[0]?.hourStart).toBe(local(2026, 6, 9, 11));
    charts.hours.forEach((h, i) => i > 0 && expect(h.hourStart - charts.hours[i - 1]!.hourStart).toBe(3_600_000));
  });

  test.each([
    { index: 0, want: { job: 2 } },
    { index: 22, want: { rating: 7 } },
    { index: 23, want: { uptime: 70 } },
    { index: 5, want: {} },
  ])('hour $index', ({ index, want }) => {
    const h = charts.hours[index]!;
    expect({ job: h.job, rating: h.rating, uptime: h.uptime }).toEqual({ ...zero, ...want });
  });

  test('perHourNow counts only the last 60 minutes', () => {
    expect(charts.perHourNow).toBe(74);
  });

  test('all-time totals pass through, rounded to cents', () => {
    expect(charts.allTime).toEqual({ job: 3.01, rating: 7, uptime: 70 });
  });

  test('empty ledger: everything zero', () => {
    const empty = buildKudosCharts({ rows: [], allTime: zero, now: new Date(now) });
    expect(empty.perHourNow).toBe(0);
    expect(empty.hours.every((h) => bucketTotal(h) === 0)).toBe(true);
    expect(empty.days.every((d) => bucketTotal(d) === 0)).toBe(true);
  });
});

describe('buildKudosCharts agrees with the dashboard totals', () => {
  test('today and the last 7 days match periodStarts', () => {
    const now = new Date(local(2026, 3, 31, 18, 45)); // just after the spring DST change
    const since = chartsSince(now);
    const rows: LedgerRow[] = [];
    let seed = 7;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let i = 0; i < 500; i++) {
      const source = (['job', 'rating', 'uptime'] as const)[i % 3]!;
      rows.push(row(source, Math.round(next() * 1000) / 100, Math.floor(since + next() * (now.getTime() - since))));
    }
    const charts = buildKudosCharts({ rows, allTime: zero, now });
    const { today, week } = periodStarts(now);
    const sum = (from: number): number => Math.round(rows.filter((r) => r.at >= from).reduce((a, r) => a + r.amount, 0) * 100) / 100;
    const days = charts.days.map(bucketTotal);
    const round = (n: number): number => Math.round(n * 100) / 100;
    expect(days[29]).toBeCloseTo(sum(today), 6);
    expect(round(days.slice(-7).reduce((a, b) => a + b, 0))).toBeCloseTo(sum(week), 6);
    expect(round(days.reduce((a, b) => a + b, 0))).toBeCloseTo(sum(since), 6);
  });
});
