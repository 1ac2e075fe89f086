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
