import type { CSSProperties } from 'react';
import type { KudosDay, KudosHour } from '../../../src-main/common/kudosViews';
import { formatKudos } from '../components/format';

type Activity = 'job' | 'rating' | 'uptime';
type Bucket = Record<Activity, number>;

/** Activities in stacking order (bottom first), with their colour and name. */
export const ACTIVITIES: readonly { key: Activity; label: string; color: string }[] = [
  { key: 'job', label: 'Jobs', color: 'var(--accent)' },
  { key: 'rating', label: 'Ratings', color: 'var(--ok)' },
  { key: 'uptime', label: 'Uptime', color: 'var(--warn)' },
];

export const bucketSum = (b: Bucket): number => Math.round((b.job + b.rating + b.uptime) * 100) / 100;

/** 'YYYY-MM-DD' (a local date) as a Date at local midnight. */
export function parseLocalDate(date: string): Date {
  const [y = 1970, m = 1, d = 1] = date.split('-').map(Number);
  return new Date(y, m - 1, d);
}

const describe = (b: Bucket): string => ACTIVITIES.map((a) => `${a.label.toLowerCase()} ${formatKudos(b[a.key])}`).join(', ');
const bars: CSSProperties = { gap: 2, height: 150 };
const stack: CSSProperties = { width: '100%', display: 'flex', flexDirection: 'column-reverse', minHeight: 1 };
const tick: CSSProperties = { minHeight: '1em', whiteSpace: 'nowrap' };

interface Column {
  key: string;
  label: string;
  tick: string;
  bucket: Bucket;
  testId: string;
}

function StackedBars({ columns, testId, caption }: { columns: Column[]; testId: string; caption: string }) {
  const top = Math.max(1, ...columns.map((c) => bucketSum(c.bucket)));
  return (
    <figure className="histogram" data-testid={testId} aria-label={caption}>
      <div className="histogram-bars" style={bars}>
        {columns.map((c) => {
          const total = bucketSum(c.bucket);
          const text = `${c.label}: ${formatKudos(total)} kudos (${describe(c.bucket)})`;
          return (
            <div key={c.key} className="histogram-col" data-testid={c.testId} data-total={total} role="img" aria-label={text} title={text}>
              <div className="histogram-track">
                <div style={{ ...stack, height: `${(100 * total) / top}%` }}>
                  {ACTIVITIES.map((a) =>
                    c.bucket[a.key] > 0 ? (
                      <div key={a.key} style={{ flexGrow: c.bucket[a.key], flexBasis: 0, background: a.color }} />
                    ) : null,
                  )}
                </div>
              </div>
              <span className="histogram-score" style={tick} aria-hidden="true">
                {c.tick}
              </span>
            </div>
          );
        })}
      </div>
      <figcaption className="muted">
        {caption} ·{' '}
        {ACTIVITIES.map((a) => (
          <span key={a.key} style={{ marginRight: 10, whiteSpace: 'nowrap' }}>
            <span
              aria-hidden="true"
              style={{ display: 'inline-block', width: 10, height: 10, borderRadius: 2, background: a.color, marginRight: 4 }}
            />
            {a.label}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}

/** The last 30 days, one stacked bar per local day. */
export function KudosDaysChart({ days }: { days: readonly KudosDay[] }) {
  const columns = days.map((d, i): Column => {
    const date = parseLocalDate(d.date);
    return {
      key: d.date,
      label: date.toLocaleDateString(undefined, { weekday: 'short', month: 'short', day: 'numeric' }),
      tick: i % 5 === 4 || i === days.length - 1 ? String(date.getDate()) : '',
      bucket: d,
      testId: 'kudos-day',
    };
  });
  return <StackedBars columns={columns} testId="kudos-days" caption="Kudos per day, last 30 days" />;
}

/** The last 24 hours, one stacked bar per clock hour. */
export function KudosHoursChart({ hours }: { hours: readonly KudosHour[] }) {
  const columns = hours.map((h, i): Column => {
    const start = new Date(h.hourStart);
    return {
      key: String(h.hourStart),
      label: `${start.toLocaleDateString(undefined, { weekday: 'short' })} ${start.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })}`,
      tick: i % 3 === 2 ? String(start.getHours()) : '',
      bucket: h,
      testId: 'kudos-hour',
    };
  });
  return <StackedBars columns={columns} testId="kudos-hours" caption="Kudos per hour, last 24 hours" />;
}
