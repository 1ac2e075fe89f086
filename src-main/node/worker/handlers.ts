import type { Handlers } from '../../common/contract';
import { UserFacingError } from '../../common/result';
import type { HordeClient } from '../../core/horde/client';
import type { Scheduler, WorkerControlPort } from '../../core/schedule/scheduler';
import { scheduleView } from '../../core/statusRelay';
import { checkWorkerName } from '../../core/worker/workerName';
import type { SimulatedIdleSource } from '../system/idleSource';
import type { JobLog } from './jobLog';
import type { WorkerService } from './workerService';

/** What the worker, schedule and job history commands need. */
export interface WorkerHandlerDeps {
  worker: WorkerService;
  scheduler: Scheduler;
  horde: Pick<HordeClient, 'getWorkerByName' | 'findUser'>;
  jobLog: JobLog;
  /** The demo's simulated idle source; null where idle time comes from the system. */
  simulated: SimulatedIdleSource | null;
}

type WorkerCommand =
  | 'worker.status'
  | 'worker.checkName'
  | 'worker.start'
  | 'worker.pause'
  | 'worker.stopNow'
  | 'worker.leaveMaintenance'
  | 'schedule.status'
  | 'schedule.snooze'
  | 'schedule.clearSnooze'
  | 'schedule.simulate'
  | 'jobs.history';

/** The worker service as the scheduler drives it. */
export function workerControl(worker: WorkerService): WorkerControlPort {
  return {
    state: () => worker.status().state,
    start: async () => void (await worker.start()),
    pause: () => worker.pause(),
    stopNow: () => worker.stopNow(),
  };
}

/** The Dashboard's worker and schedule commands, and the job history. */
export function workerHandlers(deps: WorkerHandlerDeps): Pick<Handlers, WorkerCommand> {
  const { worker, scheduler, simulated } = deps;
  const schedule = () => scheduleView(scheduler.status(), simulated !== null);
  return {
    'worker.status': async () => worker.status(),
    'worker.checkName': async ({ name }) => checkWorkerName(name, deps.horde),
    // The user's own Start/Pause/Stop go through the scheduler, so it does not undo them.
    'worker.start': async () => {
      const status = await worker.start();
      await scheduler.userStarted();
      return status;
    },
    'worker.pause': async () => {
      await scheduler.finishThenPause();
      return worker.pause();
    },
    'worker.stopNow': async () => {
      await scheduler.finishThenPause();
      return worker.stopNow();
    },
    'worker.leaveMaintenance': async () => worker.leaveMaintenance(),
    'schedule.status': async () => schedule(),
    'schedule.snooze': async ({ minutes }) => {
      await scheduler.snooze(minutes * 60_000);
      return schedule();
    },
    'schedule.clearSnooze': async () => {
      await scheduler.clearSnooze();
      return schedule();
    },
    'schedule.simulate': async ({ presence }) => {
      if (!simulated)
        throw new UserFacingError('not-simulated', 'Idle is only simulated in the demo; here HordeDesk reads it from the system.');
      if (presence === 'away') simulated.set(24 * 3600);
      else simulated.reportActivity();
      await scheduler.tick();
      return schedule();
    },
    'jobs.history': async ({ limit, offset }) => ({ total: deps.jobLog.count(), jobs: deps.jobLog.list(limit, offset) }),
  };
}
