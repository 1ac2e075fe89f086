import type { AppState, WorkerStatusDto } from '../common/contract';
import type { Settings } from '../common/settings';

/** A local time of day as 24-hour "HH:MM", as the Dashboard and the tray say when something began. */
export function clockTime(ms: number): string {
  const at = new Date(ms);
  return `${String(at.getHours()).padStart(2, '0')}:${String(at.getMinutes()).padStart(2, '0')}`;
}

/** How the tray shows each reason the safety check is not ready: an install to do, a wait, a failure. */
const SAFETY_KIND = { missing: 'not-set-up', loading: 'idle', failed: 'error' } as const;

/** The one-line state for the tray and the dashboard, from the settings and the worker. */
export function deriveAppState(
  settings: Settings,
  worker: Pick<WorkerStatusDto, 'state' | 'message' | 'stats' | 'outage'> & Partial<Pick<WorkerStatusDto, 'safety'>>,
  schedule?: { waiting: boolean; reason: string },
): AppState {
  if (settings.workerName === '') return { worker: 'not-set-up', line: 'Worker not set up yet' };
  // No check, no work: while the safety model is missing or broken (or loading while the worker
  // would work), that is the news, not "idle" or "N jobs done": it pops nothing until it is ready.
  // A model still loading is news only to a worker that wants to work.
  const safety = worker.safety;
  if (safety && (safety.state !== 'loading' || worker.state === 'running'))
    return { worker: SAFETY_KIND[safety.state], line: safety.message };
  const done = worker.stats.jobsDone;
  switch (worker.state) {
    case 'running':
      // Still working (it retries), but the jobs-done count would hide that nothing comes in.
      if (worker.outage) return { worker: 'working', line: `Cannot reach the horde since ${clockTime(worker.outage.since)}, retrying` };
      return { worker: 'working', line: `Working · ${done} job${done === 1 ? '' : 's'} done` };
    case 'pausing':
      return { worker: 'working', line: 'Finishing the current job, then pausing' };
    case 'stopping':
      return { worker: 'working', line: 'Stopping' };
    case 'paused':
      return schedule?.waiting ? { worker: 'idle', line: schedule.reason } : { worker: 'paused', line: 'Paused' };
    case 'maintenance':
      return { worker: 'error', line: 'In maintenance: see the dashboard' };
    case 'error':
      return { worker: 'error', line: `Stopped: ${worker.message ?? 'error'}` };
    default:
      // Stopped: waiting for the schedule (idle time, hours, battery…) says why; otherwise idle.
      return schedule?.waiting
        ? { worker: 'idle', line: schedule.reason }
        : { worker: 'idle', line: `Worker "${settings.workerName}" is idle` };
  }
}
