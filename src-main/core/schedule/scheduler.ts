import type { WorkerState } from '../worker/hordeWorker';
import type { Clock } from '../worker/ports';
import { decide, type Decision, type ScheduleCause, type ScheduleFacts, type ScheduleRules } from './idlePolicy';

/** What the operating system tells about the user. null means "cannot tell here". */
export interface IdleSourcePort {
  /** Seconds since the last keyboard or mouse input. */
  idleSeconds(): number | null;
  onBattery(): boolean | null;
  /** Whether another app (a game, a video) fills the screen. */
  fullScreen(): boolean | null;
}

/** The GPU's temperature, or null when it cannot be read. Must not reject (a rejection reads as null). */
export interface TemperaturePort {
  gpuTempC(): Promise<number | null>;
}

/** The worker as the schedule drives it (HordeWorker fits, via a small adapter for state()). */
export interface WorkerControlPort {
  state(): WorkerState;
  /** May throw (no model, no API key); the message is shown as the schedule's reason. */
  start(): Promise<void> | void;
  pause(): void;
  stopNow(): void;
}

/** The schedule as the tray and dashboard show it. */
export interface ScheduleStatus {
  reason: string;
  waiting: boolean;
  cause: ScheduleCause | 'startFailed' | 'checkFailed' | 'checking';
  snoozedUntil: number | null;
  finishThenPause: boolean;
  /** The user started the worker outside the schedule; see ScheduleInput.manualStart. */
  manualStart: boolean;
  rules: ScheduleRules;
}

/** What createScheduler needs. */
export interface SchedulerOptions {
  clock: Clock;
  idle: IdleSourcePort;
  temperature: TemperaturePort;
  worker: WorkerControlPort;
  rules: ScheduleRules;
  /** Called whenever status() changes. */
  onStatus?: (status: ScheduleStatus) => void;
  /** Milliseconds between checks (default 5000). The first check runs on the clock's next timer (0 ms). */
  tickMs?: number;
}

/** The running schedule. Every command re-checks at once; `tick()` resolves when that check is done. */
export interface Scheduler {
  status(): ScheduleStatus;
  /** Holds the worker (finishing jobs in hand) for `ms` from now. */
  snooze(ms: number): Promise<void>;
  clearSnooze(): Promise<void>;
  /** "Finish the current job, then pause": nothing starts by itself until userStarted(). */
  finishThenPause(): Promise<void>;
  /**
   * The user pressed Start: clears "finish then pause" and the snooze, and lets the worker run even
   * when the idle or hours rules would not (until they agree by themselves). Starts the worker unless
   * battery, heat or a full-screen app holds it.
   */
  userStarted(): Promise<void>;
  setRules(rules: ScheduleRules): Promise<void>;
  /** Runs one check now (or joins the one under way, and runs once more after it). */
  tick(): Promise<void>;
  /** Stops ticking; leaves the worker as it is. */
  stop(): void;
}

const DEFAULT_TICK_MS = 5_000;

function safe<T>(read: () => T | null): T | null {
  try {
    return read();
  } catch {
    return null;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Reads the facts the idle policy decides on; a port that throws reads as "cannot tell" (null). */
async function readFacts(options: SchedulerOptions, rules: ScheduleRules): Promise<ScheduleFacts> {
  const { clock, idle, temperature } = options;
  let gpuTempC: number | null = null;
  if (rules.maxGpuTempC !== null) {
    try {
      gpuTempC = await temperature.gpuTempC();
    } catch {
      gpuTempC = null;
    }
  }
  return {
    now: clock.now(),
    idleSeconds: safe(() => idle.idleSeconds()),
    onBattery: safe(() => idle.onBattery()),
    fullScreen: safe(() => idle.fullScreen()),
    gpuTempC,
  };
}

/** Applies the policy's decision to the worker; returns why it failed (a start that threw), or null. */
async function applyDecision(worker: WorkerControlPort, decision: Decision): Promise<string | null> {
  try {
    if (decision.action === 'start') await worker.start();
    else if (decision.action === 'pause') worker.pause();
    else if (decision.action === 'stopNow') worker.stopNow();
    return null;
  } catch (error) {
    return messageOf(error);
  }
}

/**
 * Runs `check` one at a time. A call during a check joins it and makes it run once more when it
 * ends, so a command given mid-check is always seen by a check that starts after it (until stopped).
 */
function oneCheckAtATime(check: () => Promise<void>, stopped: () => boolean): () => Promise<void> {
  let inFlight: Promise<void> | null = null;
  let again = false;
  return () => {
    if (inFlight) {
      again = true;
      return inFlight;
    }
    const run = async (): Promise<void> => {
      do {
        again = false;
        await check();
      } while (again && !stopped());
    };
    inFlight = run().finally(() => {
      inFlight = null;
    });
    return inFlight;
  };
}

/** What one scheduler's checks and commands share; each changes it only through these fields. */
interface SchedulerState {
  rules: ScheduleRules;
  snoozedUntil: number | null;
  finishThenPause: boolean;
  manualStart: boolean;
  pausedByHeat: boolean;
  stopped: boolean;
  cancelTimer: (() => void) | null;
  /** The last status published. */
  current: ScheduleStatus;
}

/** A fresh schedule: not snoozed, no "finish then pause", no manual start, checking. */
function initialState(rules: ScheduleRules): SchedulerState {
  return {
    rules,
    snoozedUntil: null,
    finishThenPause: false,
    manualStart: false,
    pausedByHeat: false,
    stopped: false,
    cancelTimer: null,
    current: {
      reason: 'Checking the schedule',
      waiting: false,
      cause: 'checking',
      snoozedUntil: null,
      finishThenPause: false,
      manualStart: false,
      rules,
    },
  };
}

/** Makes `next` (plus the state's own fields) the current status; tells onStatus only when something changed. */
function publish(
  state: SchedulerState,
  options: SchedulerOptions,
  next: Omit<ScheduleStatus, 'snoozedUntil' | 'finishThenPause' | 'manualStart' | 'rules'>,
): void {
  const { snoozedUntil, finishThenPause, manualStart, rules } = state;
  const status: ScheduleStatus = { ...next, snoozedUntil, finishThenPause, manualStart, rules };
  const changed = (Object.keys(status) as (keyof ScheduleStatus)[]).some((key) => status[key] !== state.current[key]);
  state.current = status;
  if (changed) options.onStatus?.(status);
}

/** One check: reads the facts, lets the policy decide, applies the decision and publishes why. */
async function evaluate(state: SchedulerState, options: SchedulerOptions): Promise<void> {
  const { worker } = options;
  const facts = await readFacts(options, state.rules);
  if (state.snoozedUntil !== null && facts.now >= state.snoozedUntil) state.snoozedUntil = null;
  const { rules, snoozedUntil, finishThenPause, pausedByHeat, manualStart } = state;
  const decision = decide({ rules, facts, snoozedUntil, finishThenPause, workerState: worker.state(), pausedByHeat, manualStart });
  state.pausedByHeat = decision.pausedByHeat;
  state.manualStart = decision.manualStart;
  const failure = await applyDecision(worker, decision);
  if (failure !== null) publish(state, options, { reason: `Could not start: ${failure}`, waiting: false, cause: 'startFailed' });
  else publish(state, options, { reason: decision.reason, waiting: decision.waiting, cause: decision.cause });
}

/** One check whose failure is published as the reason instead of thrown. */
async function checkOnce(state: SchedulerState, options: SchedulerOptions): Promise<void> {
  try {
    await evaluate(state, options);
  } catch (error) {
    publish(state, options, { reason: `Schedule check failed: ${messageOf(error)}`, waiting: false, cause: 'checkFailed' });
  }
}

/** Runs `tick` after `delay` on the clock, then again every `tickMs` after each check ends, until stopped. */
function arm(state: SchedulerState, clock: Clock, tick: () => Promise<void>, delay: number, tickMs: number): void {
  if (state.stopped) return;
  state.cancelTimer = clock.setTimer(delay, () => {
    state.cancelTimer = null;
    void tick().finally(() => arm(state, clock, tick, tickMs, tickMs));
  });
}

/**
 * Drives a worker from the idle policy: every `tickMs` on the Clock port it reads the idle source and
 * the GPU temperature, calls `decide`, and applies start / pause / stopNow. Start failures are caught
 * and reported in the reason ("Could not start: …"); the next check tries again.
 */
export function createScheduler(options: SchedulerOptions): Scheduler {
  const { clock } = options;
  const state = initialState(options.rules);
  const tick = oneCheckAtATime(
    () => checkOnce(state, options),
    () => state.stopped,
  );
  arm(state, clock, tick, 0, options.tickMs ?? DEFAULT_TICK_MS);

  return {
    status: () => state.current,
    snooze(ms) {
      state.snoozedUntil = clock.now() + Math.max(0, ms);
      state.manualStart = false;
      return tick();
    },
    clearSnooze() {
      state.snoozedUntil = null;
      return tick();
    },
    finishThenPause() {
      state.finishThenPause = true;
      state.manualStart = false;
      return tick();
    },
    userStarted() {
      state.finishThenPause = false;
      state.snoozedUntil = null;
      state.manualStart = true;
      return tick();
    },
    setRules(next) {
      state.rules = next;
      return tick();
    },
    tick,
    stop() {
      state.stopped = true;
      state.cancelTimer?.();
      state.cancelTimer = null;
    },
  };
}
