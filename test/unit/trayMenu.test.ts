import { expect, test } from 'vitest';
import { trayMenuModel } from '../../src-main/core/trayMenu';

const actions = (m: ReturnType<typeof trayMenuModel>): string[] => m.items.flatMap((i) => (i.kind === 'action' ? [i.action] : []));

test('the tray shows the state line first, then the worker controls that fit the state, Open and Quit', () => {
  const model = trayMenuModel({ worker: 'not-set-up', line: 'Worker not set up yet' }, 12.345);
  expect(model.items[0]).toEqual({ kind: 'label', label: 'Worker not set up yet' });
  expect(actions(model)).toEqual(['open', 'rate', 'open', 'quit']);
  expect(actions(trayMenuModel({ worker: 'working', line: 'Working' }, 0))).toEqual(['pause', 'stopNow', 'snooze', 'rate', 'open', 'quit']);
  expect(actions(trayMenuModel({ worker: 'paused', line: 'Paused' }, 0))).toEqual(['start', 'snooze', 'rate', 'open', 'quit']);
  expect(actions(trayMenuModel({ worker: 'idle', line: 'Idle' }, 0))).toEqual(['start', 'snooze', 'rate', 'open', 'quit']);
  expect(model.tooltip).toBe('HordeDesk: Worker not set up yet · 12.3 kudos today');
});

test('the icon follows the worker state', () => {
  expect(trayMenuModel({ worker: 'working', line: 'x' }, 0).icon).toBe('working');
  expect(trayMenuModel({ worker: 'error', line: 'x' }, 0).icon).toBe('error');
  expect(trayMenuModel({ worker: 'paused', line: 'x' }, 0).icon).toBe('paused');
  expect(trayMenuModel({ worker: 'idle', line: 'x' }, 0).icon).toBe('idle');
});

test('a model download in progress shows in the tooltip', () => {
  expect(trayMenuModel({ worker: 'idle', line: 'Idle' }, 0, 'Downloading stable_diffusion 42%').tooltip).toBe(
    'HordeDesk: Idle · 0 kudos today · Downloading stable_diffusion 42%',
  );
});
