import { expect, test } from 'vitest';
import { defaultSettings } from '../../src-main/common/settings';
import { clockTime, deriveAppState } from '../../src-main/core/appState';
import { trayMenuModel } from '../../src-main/core/trayMenu';

// The one-line state the Dashboard's top line and the tray tooltip show (issue 12 item 4: with the
// horde down for over a minute they still said "Working · 15 jobs done").

const settings = { ...defaultSettings(), workerName: 'Desk Dreamer 01' };
const stats = {
  startedAt: 0,
  jobsDone: 15,
  jobsFaulted: 0,
  jobsDropped: 0,
  imagesDone: 15,
  jobsCensored: 0,
  jobsCsam: 0,
  megapixelsteps: 1,
  generationMs: 1,
  kudosSession: 0,
};
// 14:05 local time on some day, whatever the machine's time zone.
const since = new Date(2025, 4, 6, 14, 5, 30).getTime();

test('while the horde cannot be reached the line says since when, and that HordeDesk keeps trying', () => {
  const state = deriveAppState(settings, { state: 'running', message: null, stats, outage: { since, message: 'HTTP 503' } });
  expect(state).toEqual({ worker: 'working', line: 'Cannot reach the horde since 14:05, retrying' });
  expect(trayMenuModel(state, 3).tooltip).toBe('HordeDesk: Cannot reach the horde since 14:05, retrying · 3 kudos today');
});

test('once the horde answers again the line is the usual one', () => {
  expect(deriveAppState(settings, { state: 'running', message: null, stats, outage: null }).line).toBe('Working · 15 jobs done');
});

test('clock times are the local 24-hour HH:MM', () => {
  expect(clockTime(new Date(2025, 0, 1, 9, 7).getTime())).toBe('09:07');
  expect(clockTime(new Date(2025, 0, 1, 23, 59, 59).getTime())).toBe('23:59');
});

test('while the safety model is missing, loading or broken, the line says so instead of idle or jobs done', () => {
  const missing = { state: 'missing' as const, message: 'Install the safety model (1,712 MB) before working', action: 'install' as const };
  const idle = deriveAppState(settings, { state: 'stopped', message: null, stats, outage: null, safety: missing });
  expect(idle).toEqual({ worker: 'not-set-up', line: 'Install the safety model (1,712 MB) before working' });
  expect(trayMenuModel(idle, 0).tooltip).toBe('HordeDesk: Install the safety model (1,712 MB) before working · 0 kudos today');
  const loading = { state: 'loading' as const, message: 'Loading the safety model', action: null };
  // Loading is news only to a worker that wants to work; a stopped one is simply idle meanwhile.
  expect(deriveAppState(settings, { state: 'stopped', message: null, stats, outage: null, safety: loading }).line).toBe(
    'Worker "Desk Dreamer 01" is idle',
  );
  expect(deriveAppState(settings, { state: 'running', message: null, stats, outage: null, safety: loading })).toEqual({
    worker: 'idle',
    line: 'Loading the safety model',
  });
  const failed = { state: 'failed' as const, message: 'The safety model could not load: bad file', action: 'install' as const };
  expect(deriveAppState(settings, { state: 'error', message: 'x', stats, outage: null, safety: failed }).worker).toBe('error');
  expect(deriveAppState(settings, { state: 'running', message: null, stats, outage: null, safety: null }).line).toBe(
    'Working · 15 jobs done',
  );
});
