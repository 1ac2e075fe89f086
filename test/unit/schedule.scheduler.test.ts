import { describe, expect, test } from 'vitest';
import { DEFAULT_SCHEDULE_RULES, type ScheduleRules } from '../../src-main/core/schedule/idlePolicy';
import { createScheduler, type ScheduleStatus, type WorkerControlPort } from '../../src-main/core/schedule/scheduler';
import type { WorkerState } from '../../src-main/core/worker/hordeWorker';
import type { Clock } from '../../src-main/core/worker/ports';
import { createSimulatedIdleSource } from '../../src-main/node/system/idleSource';
import { parseGpuTemperature, readGpuTemperature } from '../../src-main/node/system/gpuTemperature';

/** A clock that moves only when told; timers fire in order as it passes them. */
function fakeClock(start = new Date(2025, 0, 6, 14, 0).getTime()) {
  let now = start;
  let timers: { at: number; fn: () => void }[] = [];
  const clock: Clock = {
    now: () => now,
    sleep: (ms) => new Promise((resolve) => clock.setTimer(ms, resolve)),
    setTimer(ms, fn) {
      const timer = { at: now + ms, fn };
      timers.push(timer);
      return () => {
        timers = timers.filter((t) => t !== timer);
      };
    },
  };
  async function advance(ms: number): Promise<void> {
    const end = now + ms;
    for (;;) {
      const next = timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      timers = timers.filter((t) => t !== next);
      now = next.at;
      next.fn();
      for (let i = 0; i < 10; i += 1) await Promise.resolve();
    }
    now = end;
  }
  return { clock, advance, pending: () => timers.length };
}

function fakeWorker(startError?: string) {
  const calls: string[] = [];
  let state: WorkerState = 'stopped';
  const worker: WorkerControlPort = {
    state: () => state,
    start() {
      calls.push('start');
      if (startError) throw new Error(startError);
      state = 'running';
    },
    pause() {
      calls.push('pause');
      state = 'paused';
    },
    stopNow() {
      calls.push('stopNow');
      state = 'stopped';
    },
  };
  return { worker, calls, setState: (s: WorkerState) => void (state = s) };
}

function setup(rules: Partial<ScheduleRules> = {}, startError?: string) {
  const time = fakeClock();
  const idle = createSimulatedIdleSource(time.clock.now);
  const w = fakeWorker(startError);
  const statuses: ScheduleStatus[] = [];
  let temp: number | null = 60;
  const scheduler = createScheduler({
    clock: time.clock,
    idle,
    temperature: { gpuTempC: async () => temp },
    worker: w.worker,
    rules: { ...DEFAULT_SCHEDULE_RULES, ...rules },
    onStatus: (s) => statuses.push(s),
  });
  return { ...time, idle, ...w, statuses, scheduler, setTemp: (t: number | null) => void (temp = t) };
}

describe('scheduler', () => {
  test('starts after 10 idle minutes and pauses the moment the user comes back', async () => {
    const s = setup();
    await s.advance(0);
    expect(s.calls).toEqual([]);
    expect(s.scheduler.status()).toMatchObject({ waiting: true, reason: 'Waiting for 10 minutes without keyboard or mouse input' });
    await s.advance(10 * 60_000);
    expect(s.calls).toEqual(['start']);
    expect(s.scheduler.status()).toMatchObject({ waiting: false, reason: 'Working while you are away' });
    s.idle.reportActivity();
    await s.advance(5_000);
    expect(s.calls).toEqual(['start', 'pause']);
    expect(s.scheduler.status().cause).toBe('userActive');
  });

  test('onReturn stopNow stops at once', async () => {
    const s = setup({ onReturn: 'stopNow' });
    s.idle.set(3600);
    await s.advance(0);
    s.idle.reportActivity();
    await s.advance(5_000);
    expect(s.calls).toEqual(['start', 'stopNow']);
  });

  test('a snooze holds the worker and expiry starts it again', async () => {
    const s = setup({ mode: 'always' });
    await s.advance(0);
    await s.scheduler.snooze(60 * 60_000);
    expect(s.calls).toEqual(['start', 'pause']);
    expect(s.scheduler.status()).toMatchObject({ reason: 'Snoozed until 15:00', waiting: true });
    await s.advance(59 * 60_000);
    expect(s.calls).toEqual(['start', 'pause']);
    await s.advance(60_000);
    expect(s.calls).toEqual(['start', 'pause', 'start']);
    expect(s.scheduler.status().snoozedUntil).toBeNull();
  });

  test('a failing start is reported in the reason and retried on the next check', async () => {
    const s = setup({ mode: 'always' }, 'No API key: add one in Settings.');
    await s.advance(0);
    expect(s.scheduler.status()).toMatchObject({ cause: 'startFailed', reason: 'Could not start: No API key: add one in Settings.' });
    await s.advance(5_000);
    expect(s.calls).toEqual(['start', 'start']);
    expect(s.statuses.filter((st) => st.cause === 'startFailed')).toHaveLength(1);
  });

  test('finish then pause holds until the user starts again, and a manual start survives activity', async () => {
    const s = setup();
    s.idle.set(3600);
    await s.advance(0);
    await s.scheduler.finishThenPause();
    s.idle.set(7200);
    await s.advance(60_000);
    expect(s.calls).toEqual(['start', 'pause']);
    s.idle.reportActivity();
    await s.scheduler.userStarted();
    await s.advance(60_000);
    expect(s.calls).toEqual(['start', 'pause', 'start']);
    expect(s.scheduler.status()).toMatchObject({ cause: 'manual', finishThenPause: false, manualStart: true });
  });

  test('heat pauses and resumes only 5 °C under the limit', async () => {
    const s = setup({ mode: 'always', maxGpuTempC: 83 });
    await s.advance(0);
    s.setTemp(86);
    await s.advance(5_000);
    s.setTemp(80);
    await s.advance(5_000);
    expect(s.calls).toEqual(['start', 'pause']);
    s.setTemp(78);
    await s.advance(5_000);
    expect(s.calls).toEqual(['start', 'pause', 'start']);
  });

  test('maintenance is left alone, and stop() ends the ticking', async () => {
    const s = setup({ mode: 'always' });
    s.setState('maintenance');
    await s.advance(30_000);
    expect(s.calls).toEqual([]);
    s.scheduler.stop();
    expect(s.pending()).toBe(0);
  });
});

describe('simulated idle source and nvidia-smi parsing', () => {
  test('idle seconds grow with time since the last activity', () => {
    let now = 1_000_000;
    const idle = createSimulatedIdleSource(() => now);
    now += 42_500;
    expect(idle.idleSeconds()).toBe(42);
    idle.set(300);
    expect(idle.idleSeconds()).toBe(300);
    idle.reportActivity();
    expect(idle.idleSeconds()).toBe(0);
  });

  test('parseGpuTemperature takes the hottest GPU and ignores junk', () => {
    expect(parseGpuTemperature('61\r\n74\n')).toBe(74);
    expect(parseGpuTemperature('[N/A]\n')).toBeNull();
    expect(parseGpuTemperature("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.")).toBeNull();
    expect(parseGpuTemperature('')).toBeNull();
  });

  test('readGpuTemperature resolves a number or null, never rejects', async () => {
    const t = await readGpuTemperature();
    expect(t === null || Number.isFinite(t)).toBe(true);
  });
});
