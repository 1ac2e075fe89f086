import type { KudosTotals } from '../../../src-main/common/contract';
import type { KudosCharts, KudosReconcile } from '../../../src-main/common/kudosViews';
import { formatKudos } from '../components/format';
import { Totals } from '../components/Totals';
import { CreditHoldNote } from './CreditHoldNote';
import { KudosDaysChart, KudosHoursChart, bucketSum } from './KudosCharts';
import { KudosReconcileTable } from './KudosReconcileTable';

const cents = (n: number): number => Math.round(n * 100) / 100;

/** Today, the last 7 days (today included) and all time, the same periods as the dashboard. */
export function kudosPeriodTotals(charts: KudosCharts): { today: number; week: number; allTime: number; lastHour: number } {
  const days = charts.days.map(bucketSum);
  return {
    today: days.at(-1) ?? 0,
    week: cents(days.slice(-7).reduce((a, b) => a + b, 0)),
    allTime: bucketSum(charts.allTime),
    lastHour: charts.perHourNow,
  };
}

/**
 * The Kudos page, from its two views; no data fetching here. `reconcile` is null while the horde
 * is still being asked (or the check failed: `reconcileProblem` says why).
 */
export function KudosView({
  charts,
  creditHold = null,
  reconcile,
  reconcileProblem,
  onCheckAgain,
  checking,
}: {
  charts: KudosCharts;
  /** Set while the horde is seen not to credit this worker's jobs. */
  creditHold?: KudosTotals['creditHold'];
  reconcile: KudosReconcile | null;
  reconcileProblem?: string | null;
  onCheckAgain?: () => void;
  checking?: boolean;
}) {
  const t = kudosPeriodTotals(charts);
  return (
    <div className="column" data-testid="kudos-page">
      <section className="card">
        <header>
          <h2>Kudos earned with HordeDesk</h2>
        </header>
        <CreditHoldNote hold={creditHold} />
        <Totals
          items={[
            { value: formatKudos(t.today), label: 'today', testId: 'kudos-page-today' },
            { value: formatKudos(t.week), label: 'last 7 days', testId: 'kudos-page-week' },
            { value: formatKudos(t.allTime), label: 'all time', testId: 'kudos-page-all' },
            { value: formatKudos(t.lastHour), label: 'last 60 minutes', testId: 'kudos-page-hour' },
          ]}
        />
        <p className="muted">
          All time: jobs {formatKudos(charts.allTime.job)} · ratings {formatKudos(charts.allTime.rating)} · uptime{' '}
          {formatKudos(charts.allTime.uptime)}
        </p>
        <h3>Last 30 days</h3>
        <KudosDaysChart days={charts.days} />
        <h3>Last 24 hours</h3>
        <KudosHoursChart hours={charts.hours} />
      </section>
      <section className="card">
        <header>
          <h2>Do my kudos match the horde?</h2>
          {onCheckAgain && (
            <button onClick={onCheckAgain} disabled={checking}>
              Check again
            </button>
          )}
        </header>
        <p className="muted">
          HordeDesk keeps its own record of every reward: for a job, the share the horde credits (75% of the reward it announces), with the
          announced reward kept beside it. The horde keeps its own record too, in whole kudos rounded job by job; it pays uptime on its own
          schedule, and new accounts get about half their job kudos held back (in escrow) for about a week.
        </p>
        {reconcile ? (
          <KudosReconcileTable reconcile={reconcile} />
        ) : reconcileProblem ? (
          <p className="error" data-testid="kudos-reconcile-message">
            {reconcileProblem}
          </p>
        ) : (
          <p className="muted">Asking the horde…</p>
        )}
      </section>
    </div>
  );
}
