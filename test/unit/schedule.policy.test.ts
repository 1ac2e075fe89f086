import { describe, expect, test } from 'vitest';
import {
  decide,
  DEFAULT_SCHEDULE_RULES,
  type Decision,
  type ScheduleInput,
  type ScheduleRules,
} from '../../src-main/core/schedule/idlePolicy';
import { describeHours, withinHours } from '../../src-main/core/schedule/hours';
import type { WorkerState } from '../../src-main/core/worker/hordeWorker';

// Local times, so the table holds in any time zone. 2025-01-06 is a Monday (day 1).
const at = (day: number, hh: number, mm = 0): number => new Date(2025, 0, 5 + day, hh, mm).getTime();
const MON_14 = at(1, 14);

interface Row {
  name: string;
  state?: WorkerState;
  rules?: Partial<ScheduleRules>;
  facts?: Partial<ScheduleInput['facts']>;
  input?: Partial<Omit<ScheduleInput, 'rules' | 'facts'>>;
  expect: Partial<Decision>;
}

function run(row: Row): Decision {
  return decide({
    rules: { ...DEFAULT_SCHEDULE_RULES, windows: [], ...row.rules },
    facts: { now: MON_14, idleSeconds: 3600, onBattery: false, fullScreen: false, gpuTempC: 60, ...row.facts },
    snoozedUntil: null,
    finishThenPause: false,
    workerState: row.state ?? 'stopped',
    pausedByHeat: false,
    manualStart: false,
    ...row.input,
  });
}

const nightShift = [{ days: [1], start: '18:00', end: '08:00' }];
const active = { idleSeconds: 5 };

const rows: Row[] = [
  // modes × idle/active
  {
    name: 'idle mode, idle long enough, stopped → start',
    expect: { action: 'start', waiting: false, cause: 'working', reason: 'Working while you are away' },
  },
  { name: 'idle mode, idle, paused → start', state: 'paused', expect: { action: 'start' } },
  { name: 'idle mode, idle, pausing → start (resumes)', state: 'pausing', expect: { action: 'start' } },
  { name: 'idle mode, idle, running → none', state: 'running', expect: { action: 'none', waiting: false } },
  {
    name: 'idle mode, active, stopped → wait',
    facts: active,
    expect: { action: 'none', waiting: true, cause: 'userActive', reason: 'Waiting for 10 minutes without keyboard or mouse input' },
  },
  { name: 'idle mode, one second short → wait', facts: { idleSeconds: 599 }, expect: { action: 'none', waiting: true } },
  { name: 'idle mode, exactly the threshold → start', facts: { idleSeconds: 600 }, expect: { action: 'start' } },
  {
    name: 'user returns, onReturn finish → pause',
    state: 'running',
    facts: active,
    expect: { action: 'pause', waiting: true, cause: 'userActive' },
  },
  {
    name: 'user returns, onReturn stopNow → stopNow',
    state: 'running',
    rules: { onReturn: 'stopNow' },
    facts: active,
    expect: { action: 'stopNow' },
  },
  {
    name: 'user returns while pausing, stopNow → stopNow',
    state: 'pausing',
    rules: { onReturn: 'stopNow' },
    facts: active,
    expect: { action: 'stopNow' },
  },
  { name: 'user returns while pausing, finish → none', state: 'pausing', facts: active, expect: { action: 'none', waiting: true } },
  {
    name: 'idle unknown in idle mode → works always',
    facts: { idleSeconds: null },
    expect: { action: 'start', reason: 'Cannot detect idle here; working always' },
  },
  {
    name: 'idle minutes clamp to 1',
    rules: { idleMinutes: 0 },
    facts: { idleSeconds: 30 },
    expect: { waiting: true, reason: 'Waiting for 1 minute without keyboard or mouse input' },
  },
  {
    name: 'always mode, active user → start',
    rules: { mode: 'always' },
    facts: active,
    expect: { action: 'start', reason: 'Working: set to work at any time' },
  },
  { name: 'never mode, idle, stopped → none', rules: { mode: 'never' }, expect: { action: 'none', waiting: false, cause: 'never' } },
  {
    name: 'never mode, running on battery → none (manual only)',
    rules: { mode: 'never' },
    state: 'running',
    facts: { onBattery: true },
    expect: { action: 'none' },
  },
  // battery
  { name: 'on battery, stopped → wait', facts: { onBattery: true }, expect: { action: 'none', waiting: true, reason: 'On battery' } },
  {
    name: 'on battery, running, onReturn stopNow → still pause',
    state: 'running',
    rules: { onReturn: 'stopNow' },
    facts: { onBattery: true },
    expect: { action: 'pause' },
  },
  {
    name: 'on battery allowed by rules → start',
    rules: { pauseOnBattery: false },
    facts: { onBattery: true },
    expect: { action: 'start' },
  },
  { name: 'battery unknown → start', facts: { onBattery: null }, expect: { action: 'start' } },
  // hours
  {
    name: 'inside a daytime window → start',
    rules: { windows: [{ days: [1], start: '09:00', end: '17:00' }] },
    expect: { action: 'start' },
  },
  {
    name: 'outside crossing-midnight window → pause',
    state: 'running',
    rules: { windows: nightShift },
    expect: { action: 'pause', reason: 'Outside your hours (18:00-08:00)', cause: 'hours' },
  },
  {
    name: 'crossing midnight, evening part → start',
    rules: { windows: nightShift },
    facts: { now: at(1, 23, 30) },
    expect: { action: 'start' },
  },
  {
    name: 'crossing midnight, next morning belongs to Monday → start',
    rules: { windows: nightShift },
    facts: { now: at(2, 7, 59) },
    expect: { action: 'start' },
  },
  {
    name: 'crossing midnight, end is exclusive → wait',
    rules: { windows: nightShift },
    facts: { now: at(2, 8, 0) },
    expect: { action: 'none', waiting: true },
  },
  {
    name: 'crossing midnight, Monday morning belongs to Sunday → wait',
    rules: { windows: nightShift },
    facts: { now: at(1, 7) },
    expect: { waiting: true },
  },
  {
    name: 'window on another day → wait',
    rules: { windows: [{ days: [0, 6], start: '00:00', end: '00:00' }] },
    expect: { waiting: true, cause: 'hours' },
  },
  // full screen
  {
    name: 'full-screen app, running → pause',
    state: 'running',
    facts: { fullScreen: true },
    expect: { action: 'pause', reason: 'A full-screen app is running' },
  },
  // snooze
  {
    name: 'snoozed, running → pause',
    state: 'running',
    input: { snoozedUntil: at(1, 15, 5) },
    expect: { action: 'pause', reason: 'Snoozed until 15:05', cause: 'snoozed' },
  },
  { name: 'snooze over → start', input: { snoozedUntil: MON_14 }, expect: { action: 'start' } },
  // temperature with hysteresis
  {
    name: 'over the limit, running → pause and latch',
    state: 'running',
    facts: { gpuTempC: 86 },
    rules: { maxGpuTempC: 83 },
    expect: { action: 'pause', reason: 'GPU at 86 °C (limit 83 °C)', pausedByHeat: true },
  },
  {
    name: 'at the limit exactly → start',
    facts: { gpuTempC: 83 },
    rules: { maxGpuTempC: 83 },
    expect: { action: 'start', pausedByHeat: false },
  },
  {
    name: 'latched, 79 °C → still cooling',
    state: 'paused',
    facts: { gpuTempC: 79 },
    rules: { maxGpuTempC: 83 },
    input: { pausedByHeat: true },
    expect: { action: 'none', waiting: true, cause: 'heat', pausedByHeat: true },
  },
  {
    name: 'latched, 78 °C → resume and unlatch',
    state: 'paused',
    facts: { gpuTempC: 78 },
    rules: { maxGpuTempC: 83 },
    input: { pausedByHeat: true },
    expect: { action: 'start', pausedByHeat: false },
  },
  {
    name: 'latched, temperature unknown → unlatch, start',
    state: 'paused',
    facts: { gpuTempC: null },
    input: { pausedByHeat: true },
    expect: { action: 'start', pausedByHeat: false },
  },
  { name: 'no limit → hot GPU ignored', facts: { gpuTempC: 99 }, rules: { maxGpuTempC: null }, expect: { action: 'start' } },
  // worker states the schedule never overrides
  { name: 'maintenance is not overridden', state: 'maintenance', expect: { action: 'none', cause: 'workerState', waiting: false } },
  {
    name: 'error is not overridden even when blocked',
    state: 'error',
    facts: { onBattery: true },
    expect: { action: 'none', cause: 'workerState' },
  },
  { name: 'stopping, conditions hold → none (let it stop)', state: 'stopping', expect: { action: 'none' } },
  // finish then pause
  {
    name: 'finishThenPause, running → pause',
    state: 'running',
    input: { finishThenPause: true },
    expect: { action: 'pause', waiting: false, reason: 'Finishing the current job, then pausing' },
  },
  {
    name: 'finishThenPause, paused, idle → stays paused',
    state: 'paused',
    input: { finishThenPause: true },
    expect: { action: 'none', cause: 'userPaused', reason: 'Paused until you press Start' },
  },
  // manual start
  {
    name: 'manual start, user active, running → keeps running',
    state: 'running',
    facts: active,
    input: { manualStart: true },
    expect: { action: 'none', cause: 'manual', manualStart: true },
  },
  {
    name: 'manual start, outside hours, stopped → start',
    rules: { windows: nightShift },
    input: { manualStart: true },
    expect: { action: 'start', manualStart: true },
  },
  {
    name: 'manual start does not beat battery',
    state: 'running',
    facts: { ...active, onBattery: true },
    input: { manualStart: true },
    expect: { action: 'pause', reason: 'On battery' },
  },
  {
    name: 'manual start ends once the schedule agrees',
    state: 'running',
    input: { manualStart: true },
    expect: { action: 'none', cause: 'working', manualStart: false },
  },
];

describe('decide', () => {
  test.each(rows)('$name', (row) => {
    expect(run(row)).toMatchObject(row.expect);
  });

  test('the table covers at least 25 transitions', () => {
    expect(rows.length).toBeGreaterThanOrEqual(25);
  });
});

describe('hours', () => {
  test('no windows, or only malformed ones, mean any time', () => {
    expect(withinHours([], MON_14)).toBe(true);
    expect(withinHours([{ days: [], start: '25:00', end: 'x' }], MON_14)).toBe(true);
  });

  test('empty days means every day; equal times mean the whole day', () => {
    expect(withinHours([{ days: [], start: '9:00', end: '17:00' }], at(0, 10))).toBe(true);
    expect(withinHours([{ days: [3], start: '06:00', end: '06:00' }], at(3, 3))).toBe(true);
  });

  test('describes several windows once each', () => {
    const w = { days: [1], start: '9:00', end: '17:00' };
    expect(describeHours([w, { ...w, days: [2] }, { days: [5], start: '20:00', end: '02:30' }])).toBe('09:00-17:00, 20:00-02:30');
  });
});
