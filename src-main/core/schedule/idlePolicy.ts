import type { WorkerState } from '../worker/hordeWorker';
import { describeHours, formatClock, withinHours, type HoursWindow } from './hours';

export type { HoursWindow } from './hours';

/** When the worker runs by itself: at any time, only while the user is away, or only when started by hand. */
export type ScheduleMode = 'always' | 'idle' | 'never';

/** The user's schedule settings. */
export interface ScheduleRules {
  mode: ScheduleMode;
  /** Minutes without keyboard or mouse input before the machine counts as idle (clamped to 1..120). */
  idleMinutes: number;
  /** What to do when the user comes back: finish the jobs in hand, or drop them at once. */
  onReturn: 'finish' | 'stopNow';
  pauseOnBattery: boolean;
  /** When the worker may run; empty means any time. */
  windows: HoursWindow[];
  /** Pause above this GPU temperature; null means no limit. */
  maxGpuTempC: number | null;
}

/** Defaults for a fresh install: work when idle for 10 minutes, finish jobs on return, not on battery, 85 °C limit. */
export const DEFAULT_SCHEDULE_RULES: Readonly<ScheduleRules> = Object.freeze({
  mode: 'idle',
  idleMinutes: 10,
  onReturn: 'finish',
  pauseOnBattery: true,
  windows: [],
  maxGpuTempC: 85,
});

/** After a heat pause the worker resumes only this many degrees below the limit. */
export const HEAT_RESUME_MARGIN_C = 5;

/** What the machine says right now. null always means "this source cannot tell", and never blocks work. */
export interface ScheduleFacts {
  /** Epoch ms; hours are read with Date's local-time methods. */
  now: number;
  idleSeconds: number | null;
  onBattery: boolean | null;
  fullScreen: boolean | null;
  gpuTempC: number | null;
}

/** Everything `decide` looks at. The last two fields are state carried from the previous Decision. */
export interface ScheduleInput {
  rules: ScheduleRules;
  facts: ScheduleFacts;
  snoozedUntil: number | null;
  /** The user asked "finish the current job, then pause": nothing starts until they press Start. */
  finishThenPause: boolean;
  workerState: WorkerState;
  /** Carried from the previous decision: a heat pause holds until the GPU is HEAT_RESUME_MARGIN_C below the limit. */
  pausedByHeat: boolean;
  /**
   * Carried from the previous decision: the user pressed Start although the schedule would not have run.
   * Until the schedule agrees on its own (the machine goes idle, the hours open), the idle and hours
   * rules do not pause the worker; battery, heat, full-screen and snooze still do.
   */
  manualStart: boolean;
}

/** Why the schedule does what it does, for icons and tests; `reason` carries the words. */
export type ScheduleCause =
  'working' | 'manual' | 'never' | 'userPaused' | 'workerState' | 'snoozed' | 'battery' | 'hours' | 'fullScreen' | 'heat' | 'userActive';

/** What to do with the worker, and why in plain words. */
export interface Decision {
  action: 'start' | 'pause' | 'stopNow' | 'none';
  /** True while the schedule holds the worker back and will start it by itself once conditions allow. */
  waiting: boolean;
  reason: string;
  cause: ScheduleCause;
  /** Feed into the next ScheduleInput. */
  pausedByHeat: boolean;
  /** Feed into the next ScheduleInput. */
  manualStart: boolean;
}

interface Blocker {
  cause: ScheduleCause;
  reason: string;
  /** A manual start overrides this one. */
  overridable: boolean;
}

const RUNNING: readonly WorkerState[] = ['running'];
const STARTABLE: readonly WorkerState[] = ['stopped', 'paused', 'pausing'];

/** Idle minutes as the rules mean them: a whole number of minutes in 1..120. */
export function clampIdleMinutes(minutes: number): number {
  if (!Number.isFinite(minutes)) return DEFAULT_SCHEDULE_RULES.idleMinutes;
  return Math.min(120, Math.max(1, Math.round(minutes)));
}

function minutesText(n: number): string {
  return n === 1 ? '1 minute' : `${n} minutes`;
}

function heat(limit: number | null, temp: number | null, latched: boolean): { blocker: Blocker | null; latched: boolean } {
  if (limit === null || temp === null) return { blocker: null, latched: false };
  const shown = Math.round(temp);
  if (temp > limit) {
    return { blocker: { cause: 'heat', reason: `GPU at ${shown} °C (limit ${limit} °C)`, overridable: false }, latched: true };
  }
  const resumeAt = limit - HEAT_RESUME_MARGIN_C;
  if (latched && temp > resumeAt) {
    return {
      blocker: {
        cause: 'heat',
        reason: `GPU cooling down: ${shown} °C, resumes at ${resumeAt} °C (limit ${limit} °C)`,
        overridable: false,
      },
      latched: true,
    };
  }
  return { blocker: null, latched: false };
}

function blockers(input: ScheduleInput, heatBlocker: Blocker | null): Blocker[] {
  const { rules, facts } = input;
  const found: Blocker[] = [];
  if (input.snoozedUntil !== null && facts.now < input.snoozedUntil) {
    found.push({ cause: 'snoozed', reason: `Snoozed until ${formatClock(input.snoozedUntil)}`, overridable: false });
  }
  if (rules.pauseOnBattery && facts.onBattery === true) found.push({ cause: 'battery', reason: 'On battery', overridable: false });
  if (!withinHours(rules.windows, facts.now)) {
    found.push({ cause: 'hours', reason: `Outside your hours (${describeHours(rules.windows)})`, overridable: true });
  }
  if (facts.fullScreen === true) found.push({ cause: 'fullScreen', reason: 'A full-screen app is running', overridable: false });
  if (heatBlocker) found.push(heatBlocker);
  const idleMinutes = clampIdleMinutes(rules.idleMinutes);
  if (rules.mode === 'idle' && facts.idleSeconds !== null && facts.idleSeconds < idleMinutes * 60) {
    found.push({
      cause: 'userActive',
      reason: `Waiting for ${minutesText(idleMinutes)} without keyboard or mouse input`,
      overridable: true,
    });
  }
  return found;
}

function workingReason(input: ScheduleInput, manual: boolean): string {
  if (manual) return 'Working because you pressed Start';
  if (input.rules.mode === 'always') return 'Working: set to work at any time';
  if (input.facts.idleSeconds === null) return 'Cannot detect idle here; working always';
  return 'Working while you are away';
}

/**
 * The schedule's whole judgement, pure: given the rules, what the machine says and what the worker
 * is doing, returns what to do with the worker and a sentence for the tray. Order of precedence:
 * maintenance/error (never overridden) → mode 'never' (never acts) → "finish then pause" → snooze,
 * battery, hours, full-screen, heat, user activity. Only user activity uses `onReturn`; every other
 * hold asks the worker to finish what it has ('pause'). Unknown facts (null) never hold work back.
 */
export function decide(input: ScheduleInput): Decision {
  const { rules, workerState } = input;
  const hot = heat(rules.maxGpuTempC, input.facts.gpuTempC, input.pausedByHeat);
  const carry = { pausedByHeat: hot.latched, manualStart: input.manualStart };
  if (workerState === 'maintenance' || workerState === 'error') {
    const reason = workerState === 'maintenance' ? 'The AI Horde put this worker in maintenance' : 'The worker stopped with an error';
    return { action: 'none', waiting: false, reason, cause: 'workerState', ...carry };
  }
  if (rules.mode === 'never') {
    return { action: 'none', waiting: false, reason: 'Works only when you press Start', cause: 'never', ...carry, manualStart: false };
  }
  if (input.finishThenPause) {
    const busy = workerState === 'running' || workerState === 'pausing';
    return {
      action: workerState === 'running' ? 'pause' : 'none',
      waiting: false,
      reason: busy ? 'Finishing the current job, then pausing' : 'Paused until you press Start',
      cause: 'userPaused',
      ...carry,
      manualStart: false,
    };
  }
  const all = blockers(input, hot.blocker);
  const manual = input.manualStart && all.length > 0;
  const holding = manual ? all.filter((b) => !b.overridable) : all;
  const first = holding[0];
  if (!first) {
    const action = STARTABLE.includes(workerState) ? 'start' : 'none';
    return {
      action,
      waiting: false,
      reason: workingReason(input, manual),
      cause: manual ? 'manual' : 'working',
      ...carry,
      manualStart: manual,
    };
  }
  const wantsStopNow = rules.onReturn === 'stopNow' && holding.some((b) => b.cause === 'userActive');
  let action: Decision['action'] = 'none';
  if (RUNNING.includes(workerState)) action = wantsStopNow ? 'stopNow' : 'pause';
  else if (workerState === 'pausing' && wantsStopNow) action = 'stopNow';
  return { action, waiting: true, reason: first.reason, cause: first.cause, ...carry, manualStart: manual };
}
