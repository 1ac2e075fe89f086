import type { Handlers } from '../../common/contract';
import { reconcileWithHorde, type HordeReconcileDeps } from '../../core/kudos/hordeReconcile';
import { computeTotals } from '../../core/kudos/ledger';
import { kudosChartsAt } from '../../core/kudos/queries';

/** What the Kudos page's commands need: the ledger and its queries, and the horde to compare with. */
export type KudosHandlerDeps = HordeReconcileDeps;

/** The Kudos page's commands: totals, charts, and the reconciliation with the horde. */
export function kudosHandlers(deps: KudosHandlerDeps): Pick<Handlers, 'kudos.totals' | 'kudos.charts' | 'kudos.reconcile'> {
  return {
    'kudos.totals': async () => computeTotals(deps.ledger, deps.now()),
    'kudos.charts': async () => kudosChartsAt(deps.queries, deps.now()),
    'kudos.reconcile': async () => reconcileWithHorde(deps),
  };
}
