import { useCallback } from 'react';
import type { KudosCharts, KudosReconcile } from '../../../src-main/common/kudosViews';
import { useCommand, useEvent, type CommandState } from '../bridge/BridgeContext';
import { KudosView } from './KudosView';

/** The Kudos page: charts from the local ledger and the side-by-side check with the horde. */
export function Kudos() {
  const charts = useCommand('kudos.charts', {});
  const reconcile = useCommand('kudos.reconcile', {});
  return <KudosPage charts={charts} reconcile={reconcile} />;
}

/** Loading, errors and refreshes around KudosView. */
export function KudosPage({ charts, reconcile }: { charts: CommandState<KudosCharts>; reconcile: CommandState<KudosReconcile> }) {
  // New ledger rows: redraw the charts (the horde check only on request: its answers are cached 30 s anyway).
  useEvent(
    'kudos.changed',
    useCallback(() => charts.reload(), [charts.reload]),
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
      reconcile={reconcile.data ?? null}
      reconcileProblem={reconcile.data ? null : (reconcile.error ?? null)}
      onCheckAgain={reconcile.reload}
      checking={reconcile.loading}
    />
  );
}
