import type { UserDetails, WorkerDetails } from '../../common/horde';
import type { KudosReconcile } from '../../common/kudosViews';
import type { HordeClient } from '../horde/client';
import { checkCredit, readingOf, type CreditCheck, type CreditWatchPort } from './creditWatch';
import { HORDEDESK_BRIDGE_MULTIPLIER } from './jobCredit';
import type { KudosLedgerPort } from './ledger';
import { summarizeJobCredits, type KudosQueryPort } from './queries';
import { reconcile } from './reconcile';
import { bookUptime } from './uptime';

export { HORDEDESK_BRIDGE_MULTIPLIER } from './jobCredit';

/** What the reconciliation reads: the horde, the ledger and the settings' worker name. */
export interface HordeReconcileDeps {
  horde: Pick<HordeClient, 'findUser' | 'getWorkerByName'>;
  ledger: KudosLedgerPort;
  queries: KudosQueryPort;
  /** The check that the horde credits this worker's jobs (core/kudos/creditWatch.ts). */
  credit: CreditWatchPort;
  hasApiKey: () => boolean;
  workerName: () => string;
  now: () => Date;
  /** Reading the worker record changed the ledger (uptime booked, jobs booked anew, a pause found or over): the totals changed. */
  onLedgerChanged: () => void;
}

/** What one reading of the worker record did to the ledger. */
export interface RecordSync {
  uptimeBooked: number;
  credit: CreditCheck | null;
}

/** Books what a worker record shows: the uptime kudos since the last look, and the credit check. */
function bookRecord(
  deps: Pick<HordeReconcileDeps, 'ledger' | 'credit'>,
  details: WorkerDetails,
  workerName: string,
  now: number,
): RecordSync {
  const uptimeBooked = bookUptime(deps.ledger, details.kudos_details?.uptime, now);
  const reading = readingOf(details, workerName, now);
  return { uptimeBooked, credit: reading ? checkCredit(deps.credit, reading) : null };
}

/** Whether a reading changed what the totals show. */
export function ledgerChanged(sync: RecordSync): boolean {
  return sync.uptimeBooked > 0 || (sync.credit !== null && (sync.credit.rebooked > 0 || sync.credit.holdChanged));
}

/**
 * Reads the worker record, books the uptime kudos the horde credited since the ledger last looked
 * (core/kudos/uptime.ts) and checks that the horde credits the jobs it rewarded
 * (core/kudos/creditWatch.ts). Throws when the horde cannot be read.
 */
export async function syncWorkerRecord(
  deps: Pick<HordeReconcileDeps, 'ledger' | 'credit' | 'now'> & { horde: Pick<HordeClient, 'getWorkerByName'> },
  workerName: string,
): Promise<RecordSync> {
  const details = await deps.horde.getWorkerByName(workerName);
  return bookRecord(deps, details, workerName, deps.now().getTime());
}

/**
 * The Kudos page's "Check with the horde": the user and worker records (uptime booked from the
 * latter first), set beside the ledger's totals. Without a key, or when the horde cannot be read,
 * the answer says why instead of failing.
 */
export async function reconcileWithHorde(deps: HordeReconcileDeps): Promise<KudosReconcile> {
  let user: UserDetails | null = null;
  let worker: WorkerDetails | null = null;
  let problem: string | null = null;
  if (!deps.hasApiKey()) problem = 'No API key is set, so the horde cannot be asked.';
  else {
    try {
      user = await deps.horde.findUser();
      const name = deps.workerName();
      if (name) worker = await deps.horde.getWorkerByName(name).catch(() => null);
      if (worker && ledgerChanged(bookRecord(deps, worker, name, deps.now().getTime()))) deps.onLedgerChanged();
    } catch (error) {
      problem = error instanceof Error ? error.message : String(error);
    }
  }
  return reconcile({
    ledgerTotals: deps.queries.totalsBySource(),
    jobs: summarizeJobCredits(deps.queries.jobCredits()),
    creditHold: deps.ledger.creditHold(),
    user,
    worker,
    bridgeMultiplier: HORDEDESK_BRIDGE_MULTIPLIER,
    trusted: null,
    now: deps.now(),
    problem,
  });
}
