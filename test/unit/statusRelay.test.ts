import { describe, expect, test } from 'vitest';
import type { EventName, WorkerStatusDto } from '../../src-main/common/contract';
import type { RatingStatus } from '../../src-main/common/ratings';
import { defaultSettings, type Settings } from '../../src-main/common/settings';
import { createEventHub } from '../../src-main/core/events';
import type { KudosLedgerPort } from '../../src-main/core/kudos/ledger';
import type { Note } from '../../src-main/core/notify';
import type { ScheduleStatus } from '../../src-main/core/schedule/scheduler';
import { createStatusRelay, scheduleView } from '../../src-main/core/statusRelay';

const NOW = new Date(Date.UTC(2026, 4, 20, 12, 0, 0));

function workerStatus(state: WorkerStatusDto['state'], kudosSession = 0, message: string | null = null): WorkerStatusDto {
  return {
    state,
    message,
    current: null,
    inFlight: 0,
    noJobs: null,
    outage: null,
    safety: null,
    stats: {
      startedAt: null,
      jobsDone: 2,
      jobsFaulted: 0,
      jobsDropped: 0,
      imagesDone: 2,
      jobsCensored: 0,
      jobsCsam: 0,
      megapixelsteps: 1,
      generationMs: 1,
      kudosSession,
    },
    mpsPerSecond: 0,
    kudosPerHour: 0,
    kudos24h: 0,
  };
}

function ratingStatus(pendingSync: number, sessionKudos: number): RatingStatus {
  return { sessionRatings: 3, sessionKudos, cached: 8, pendingSync, online: true, message: null, download: null };
}

function scheduleStatusOf(): ScheduleStatus {
  return {
    reason: 'Waiting: 3 more minutes without input',
    waiting: false,
    cause: 'userActive',
    snoozedUntil: 5,
    finishThenPause: true,
    manualStart: false,
    rules: defaultSettings().schedule,
  };
}

/** A relay attached to fakes that record what it does. */
function setup(options: { notifications?: boolean; waiting?: boolean } = {}) {
  const settings: Settings = { ...defaultSettings(), workerName: 'Quiet Desk', notifications: options.notifications ?? true };
  const events = createEventHub((error) => {
    throw error;
  });
  const seen: { name: EventName; payload: unknown }[] = [];
  events.subscribe((name, payload) => void seen.push({ name, payload }));
  const notes: Note[] = [];
  const calls: string[] = [];
  const schedule: ScheduleStatus = { ...scheduleStatusOf(), waiting: options.waiting ?? false };
  const worker = workerStatus('stopped');
  const ledger: KudosLedgerPort = {
    record: () => ({ inserted: true }),
    sumSince: () => [{ source: 'job', total: 7, count: 1 }],
    creditHold: () => null,
  };
  const relay = createStatusRelay();
  relay.attach({
    events,
    notifier: { show: (note) => void notes.push(note) },
    settings: { get: () => settings },
    ledger,
    now: () => NOW,
    worker: { status: () => worker },
    scheduler: { status: () => schedule, setRules: async (rules) => void calls.push(`setRules ${rules.mode}`) },
    rater: { wake: () => void calls.push('wake') },
    simulated: false,
  });
  return {
    relay,
    seen,
    names: () => seen.map((e) => e.name),
    notes,
    calls,
  };
}

describe('the status relay', () => {
  test('a report before the parts are attached fails loudly', () => {
    const relay = createStatusRelay();
    expect(() => relay.workerStatus(workerStatus('running'))).toThrow(/before the app attached its parts/);
  });

  test('a settings change goes out, wakes the rater, re-checks the schedule, then the app state follows', () => {
    const s = setup();
    const next = { ...defaultSettings(), workerName: '' };
    s.relay.settingsChanged(next);
    expect(s.names()).toEqual(['settings.changed', 'app.state']);
    expect(s.seen[1]?.payload).toEqual({ worker: 'not-set-up', line: 'Worker not set up yet' });
    expect(s.calls).toEqual(['wake', `setRules ${next.schedule.mode}`]);
  });

  test('worker statuses go out with the app state; kudos totals only when the session kudos change', () => {
    const s = setup();
    s.relay.workerStatus(workerStatus('running', 0));
    expect(s.names()).toEqual(['worker.status', 'app.state']);
    s.relay.workerStatus(workerStatus('running', 6.24));
    s.relay.workerStatus(workerStatus('running', 6.24));
    expect(s.names().filter((n) => n === 'kudos.changed')).toHaveLength(1);
    expect(s.seen.find((e) => e.name === 'kudos.changed')?.payload).toMatchObject({ allTime: 7 });
    expect(s.seen.at(-1)).toEqual({ name: 'app.state', payload: { worker: 'working', line: 'Working · 2 jobs done' } });
  });

  test('entering maintenance is a note once, and only with notifications on', () => {
    const on = setup();
    on.relay.workerStatus(workerStatus('maintenance', 0, 'Too many faults'));
    on.relay.workerStatus(workerStatus('maintenance', 0, 'Too many faults'));
    expect(on.notes).toEqual([{ title: 'HordeDesk worker in maintenance', body: 'Too many faults' }]);
    const off = setup({ notifications: false });
    off.relay.workerStatus(workerStatus('maintenance', 0, 'Too many faults'));
    expect(off.notes).toEqual([]);
  });

  test('rating statuses: a note when the queue is synced, kudos totals when the session kudos change', () => {
    const s = setup();
    s.relay.ratingStatus(ratingStatus(2, 0));
    s.relay.ratingStatus(ratingStatus(0, 1.5));
    expect(s.names()).toEqual(['rating.status', 'rating.status', 'kudos.changed']);
    expect(s.notes).toEqual([{ title: 'Ratings synced', body: '2 ratings sent to the ratings service; 1.5 kudos this session.' }]);
  });

  test('a schedule status goes out without its rules, with the app state it makes', () => {
    const s = setup({ waiting: true });
    s.relay.scheduleStatus({ ...scheduleStatusOf(), waiting: true });
    expect(s.names()).toEqual(['schedule.status', 'app.state']);
    expect(s.seen[0]?.payload).not.toHaveProperty('rules');
    expect(s.seen[1]?.payload).toEqual({ worker: 'idle', line: 'Waiting: 3 more minutes without input' });
    expect(s.relay.schedule()).toMatchObject({ waiting: true, simulated: false });
  });

  test('a finished install is a note', () => {
    const s = setup();
    const progress = { name: 'Deliberate', phase: 'done' as const, bytes: 1, total: 1, bytesPerSecond: 0, etaSeconds: null, message: null };
    s.relay.modelProgress({ ...progress, phase: 'converting' });
    s.relay.modelProgress(progress);
    expect(s.names()).toEqual(['models.progress', 'models.progress']);
    expect(s.notes).toEqual([{ title: 'Model ready', body: 'Deliberate is downloaded and converted; the worker can serve it.' }]);
  });
});

test('scheduleView keeps what the page shows and says whether idle is simulated', () => {
  expect(scheduleView(scheduleStatusOf(), true)).toEqual({
    reason: 'Waiting: 3 more minutes without input',
    waiting: false,
    cause: 'userActive',
    snoozedUntil: 5,
    finishThenPause: true,
    manualStart: false,
    simulated: true,
  });
});
