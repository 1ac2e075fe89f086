import type { KudosTotals } from '../../../src-main/common/contract';

/**
 * Says that the horde does not credit this worker's jobs (a moderator's pause, which the horde
 * never tells the worker): shown on the Dashboard's kudos card and on the Kudos page.
 */
export function CreditHoldNote({ hold }: { hold: KudosTotals['creditHold'] }) {
  if (!hold) return null;
  return (
    <p className="notice warning" role="alert" data-testid="kudos-credit-hold">
      <span>
        <strong>Paused by the horde?</strong> {hold.text}{' '}
        <span className="muted">
          (since {new Date(hold.since).toLocaleString()}; {hold.how === 'record' ? 'the worker record says so' : 'seen from its job count'})
        </span>
      </span>
    </p>
  );
}
