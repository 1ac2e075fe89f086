import type { WorkerStatusDto } from '../../common/contract';
import { ledgerChanged, syncWorkerRecord, type HordeReconcileDeps } from '../../core/kudos/hordeReconcile';
import type { Logger } from '../../core/log';

/** What the worker record watch reads and where it reports. */
export interface UptimeWatchDeps extends Pick<
  HordeReconcileDeps,
  'horde' | 'ledger' | 'credit' | 'now' | 'workerName' | 'onLedgerChanged'
> {
  workerState: () => WorkerStatusDto['state'];
  log: Pick<Logger, 'warn' | 'info'>;
}

/**
 * How often the watch reads the worker record while the worker runs: often enough that a
 * moderator's pause shows within minutes (core/kudos/creditWatch.ts), far below the horde's
 * 90 reads a minute.
 */
export const RECORD_READ_MS = 2 * 60_000;

/**
 * Uptime kudos and a moderator's pause only show in the horde's worker record: read it every
 * 2 minutes while the worker runs, book the uptime that is new and check that the horde credits
 * the jobs it rewarded. Returns the function that stops the watch; the timer never keeps the
 * process alive.
 */
export function watchUptimeKudos(deps: UptimeWatchDeps): () => void {
  const timer = setInterval(() => {
    const name = deps.workerName();
    if (!name || deps.workerState() !== 'running') return;
    void syncWorkerRecord(deps, name)
      .then((sync) => {
        if (sync.credit?.holdChanged)
          deps.log.info(
            sync.credit.hold
              ? `the horde is not crediting worker ${name}'s jobs (${sync.credit.hold.how === 'record' ? 'the record says paused' : 'its job count stands still'}): booking 0 for them`
              : `the horde credits worker ${name}'s jobs again`,
          );
        if (ledgerChanged(sync)) deps.onLedgerChanged();
      })
      .catch((error: unknown) =>
        deps.log.warn(`could not read the worker record: ${error instanceof Error ? error.message : String(error)}`),
      );
  }, RECORD_READ_MS);
  timer.unref();
  return () => clearInterval(timer);
}
