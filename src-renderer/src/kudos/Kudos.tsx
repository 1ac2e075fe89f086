import { useCallback } from 'react';
import type { KudosTotals } from '../../../src-main/common/contract';
import type { KudosCharts, KudosReconcile } from '../../../src-main/common/kudosViews';
import { useCommand, useEvent, type CommandState } from '../bridge/BridgeContext';
import { KudosView } from './KudosView';

/** The Kudos page: charts from the local ledger and the side-by-side check with the horde. */
export function Kudos() {
  const charts = useCommand('kudos.charts', {});
  const reconcile = useCommand('kudos.reconcile', {});
  const totals = useCommand('kudos.totals', {});
  return <KudosPage charts={charts} reconcile={reconcile} totals={totals} />;
}

/** Loading, errors and refreshes around KudosView. */
export function KudosPage({
  charts,
  reconcile,
  totals,
}: {
  charts: CommandState<KudosCharts>;
  reconcile: CommandState<KudosReconcile>;
  totals: CommandState<KudosTotals>;
}) {
  // New ledger rows: redraw the charts (the horde check only on request: its answers are cached 30 s anyway).
  useEvent(
    'kudos.changed',
    useCallback(
      (t: KudosTotals) => {
        totals.set(t);
        charts.reload();
      },
      [charts.reload, totals.set],
    ),
  );
  if (!charts.data) {
    return (
      <section className="card" data-testid="kudos-page">
        <h2>Kudos</h2>
        {charts.error ? <p className="error">{charts.error}</p> : <p className="muted">Loading…</p>}
      </section>
    );
  }
  return (
    <KudosView
      charts={charts.data}
      creditHold={totals.data?.creditHold ?? null}
      reconcile={reconcile.data ?? null}
      reconcileProblem={reconcile.data ? null : (reconcile.error ?? null)}
      onCheckAgain={reconcile.reload}
      checking={reconcile.loading}
    />
  );
}
