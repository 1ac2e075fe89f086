import type { AppState, EventPayload, ScheduleStatusDto, WorkerStatusDto } from '../common/contract';
import type { RatingStatus } from '../common/ratings';
import type { Settings } from '../common/settings';
import { deriveAppState } from './appState';
import type { EventHub } from './events';
import { computeTotals, type KudosLedgerPort } from './kudos/ledger';
import { ratingNote, workerNote, type Note, type NotifierPort } from './notify';
import type { Scheduler, ScheduleStatus } from './schedule/scheduler';

/** The schedule as the contract shows it: the scheduler's status without its rules. */
export function scheduleView(status: ScheduleStatus, simulated: boolean): ScheduleStatusDto {
  return {
    reason: status.reason,
    waiting: status.waiting,
    cause: status.cause,
    snoozedUntil: status.snoozedUntil,
    finishThenPause: status.finishThenPause,
    manualStart: status.manualStart,
    simulated,
  };
}

/** The parts the relay reports about; they exist only once the app has built them all. */
export interface StatusRelayParts {
  events: EventHub;
  notifier: NotifierPort;
  settings: { get(): Settings };
  ledger: KudosLedgerPort;
  now: () => Date;
  worker: { status(): WorkerStatusDto };
  scheduler: Pick<Scheduler, 'status' | 'setRules'>;
  rater: { wake(): void };
  /** The demo's idle source is simulated (the page can drive it). */
  simulated: boolean;
}

/**
 * Where the services' status changes become contract events and desktop notes. The settings,
 * worker, rater and scheduler report here while they depend on each other (the scheduler drives
 * the worker, a settings change wakes the rater and re-checks the schedule), so the relay is made
 * first and given the parts with `attach` once they all exist. Reporting before that throws.
 */
export interface StatusRelay {
  attach(parts: StatusRelayParts): void;
  settingsChanged(next: Settings): void;
  workerStatus(status: WorkerStatusDto): void;
  ratingStatus(status: RatingStatus): void;
  scheduleStatus(status: ScheduleStatus): void;
  modelProgress(progress: EventPayload<'models.progress'>): void;
  /** Tells every page the ledger changed, with fresh totals. */
  kudosChanged(): void;
  appState(): AppState;
  schedule(): ScheduleStatusDto;
}

/** A relay with nothing attached yet. */
export function createStatusRelay(): StatusRelay {
  let parts: StatusRelayParts | null = null;
  let lastWorkerState: WorkerStatusDto['state'] | null = null;
  let lastRatingStatus: RatingStatus | null = null;
  let lastKudos = 0;
  let lastRatingKudos = 0;

  const wired = (): StatusRelayParts => {
    if (!parts) throw new Error('a status was reported before the app attached its parts to the relay');
    return parts;
  };
  // Notes are opt-in (settings.notifications).
  const notify = (note: Note | null): void => {
    const p = wired();
    if (note && p.settings.get().notifications) p.notifier.show(note);
  };
  const kudosChanged = (): void => {
    const p = wired();
    p.events.emit('kudos.changed', computeTotals(p.ledger, p.now()));
  };

  return {
    attach(next) {
      parts = next;
    },
    settingsChanged(next) {
      const p = wired();
      p.events.emit('settings.changed', next);
      p.rater.wake();
      void p.scheduler.setRules(next.schedule);
      p.events.emit('app.state', deriveAppState(next, p.worker.status(), p.scheduler.status()));
    },
    workerStatus(status) {
      const p = wired();
      notify(workerNote(lastWorkerState, status));
      lastWorkerState = status.state;
      p.events.emit('worker.status', status);
      p.events.emit('app.state', deriveAppState(p.settings.get(), status, p.scheduler.status()));
      if (status.stats.kudosSession !== lastKudos) {
        lastKudos = status.stats.kudosSession;
        kudosChanged();
      }
    },
    ratingStatus(status) {
      const p = wired();
      notify(ratingNote(lastRatingStatus, status));
      lastRatingStatus = status;
      p.events.emit('rating.status', status);
      if (status.sessionKudos !== lastRatingKudos) {
        lastRatingKudos = status.sessionKudos;
        kudosChanged();
      }
    },
    scheduleStatus(status) {
      const p = wired();
      p.events.emit('schedule.status', scheduleView(status, p.simulated));
      p.events.emit('app.state', deriveAppState(p.settings.get(), p.worker.status(), status));
    },
    modelProgress(progress) {
      wired().events.emit('models.progress', progress);
      if (progress.phase === 'done')
        notify({ title: 'Model ready', body: `${progress.name} is downloaded and converted; the worker can serve it.` });
    },
    kudosChanged,
    appState() {
      const p = wired();
      return deriveAppState(p.settings.get(), p.worker.status(), p.scheduler.status());
    },
    schedule() {
      const p = wired();
      return scheduleView(p.scheduler.status(), p.simulated);
    },
  };
}
