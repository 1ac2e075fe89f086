import type { UserDetails, WorkerDetails } from '../../common/horde';
import type { KudosReconcile } from '../../common/kudosViews';
import type { HordeClient } from '../horde/client';
import type { KudosLedgerPort } from './ledger';
import type { KudosQueryPort } from './queries';
import { reconcile } from './reconcile';
import { bookUptime } from './uptime';

/**
 * Share of a job's announced reward the horde credits to a worker program that is not its own
 * reGen worker, HordeDesk included (HORDE-PROTOCOL §2.8).
 */
export const HORDEDESK_BRIDGE_MULTIPLIER = 0.75;

/** What the reconciliation reads: the horde, the ledger and the settings' worker name. */
export interface HordeReconcileDeps {
  horde: Pick<HordeClient, 'findUser' | 'getWorkerByName'>;
  ledger: KudosLedgerPort;
  queries: KudosQueryPort;
  hasApiKey: () => boolean;
  workerName: () => string;
  now: () => Date;
  /** Uptime kudos were booked while reading the worker record: the totals changed. */
  onUptimeBooked: () => void;
}

/**
 * Reads the worker record and books the uptime kudos the horde credited since the ledger last
 * looked (core/kudos/uptime.ts). Returns the amount booked; throws when the horde cannot be read.
 */
export async function syncUptimeKudos(deps: Pick<HordeReconcileDeps, 'horde' | 'ledger' | 'now'>, workerName: string): Promise<number> {
  const details = await deps.horde.getWorkerByName(workerName);
  return bookUptime(deps.ledger, details.kudos_details?.uptime, deps.now().getTime());
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
      if (bookUptime(deps.ledger, worker?.kudos_details?.uptime, deps.now().getTime()) > 0) deps.onUptimeBooked();
    } catch (error) {
      problem = error instanceof Error ? error.message : String(error);
    }
  }
  return reconcile({
    ledgerTotals: deps.queries.totalsBySource(),
    user,
    worker,
    bridgeMultiplier: HORDEDESK_BRIDGE_MULTIPLIER,
    trusted: null,
    now: deps.now(),
    problem,
  });
}
