import type { WorkerStatusDto } from '../../common/contract';
import { syncUptimeKudos, type HordeReconcileDeps } from '../../core/kudos/hordeReconcile';
import type { Logger } from '../../core/log';

/** What the uptime watch reads and where it reports. */
export interface UptimeWatchDeps extends Pick<HordeReconcileDeps, 'horde' | 'ledger' | 'now' | 'workerName' | 'onUptimeBooked'> {
  workerState: () => WorkerStatusDto['state'];
  log: Pick<Logger, 'warn'>;
}

/** How often the watch reads the worker record. */
export const UPTIME_READ_MS = 10 * 60_000;

/**
 * Uptime kudos only show in the horde's worker record: read it every 10 minutes while the worker
 * runs and book what is new. Returns the function that stops the watch; the timer never keeps the
 * process alive.
 */
export function watchUptimeKudos(deps: UptimeWatchDeps): () => void {
  const timer = setInterval(() => {
    const name = deps.workerName();
    if (!name || deps.workerState() !== 'running') return;
    void syncUptimeKudos(deps, name)
      .then((booked) => {
        if (booked > 0) deps.onUptimeBooked();
      })
      .catch((error: unknown) => deps.log.warn(`could not read uptime kudos: ${error instanceof Error ? error.message : String(error)}`));
  }, UPTIME_READ_MS);
  timer.unref();
  return () => clearInterval(timer);
}
