import type { AppState } from '../common/contract';

export type TrayAction = 'open' | 'start' | 'pause' | 'stopNow' | 'snooze' | 'rate' | 'quit';

export interface TrayMenuModel {
  tooltip: string;
  icon: 'idle' | 'working' | 'paused' | 'error';
  items: ({ kind: 'label'; label: string } | { kind: 'action'; action: TrayAction; label: string } | { kind: 'separator' })[];
}

/** Start when the worker is idle or paused; pause or stop while it works; nothing before set-up. */
function workerItems(state: AppState): TrayMenuModel['items'] {
  if (state.worker === 'not-set-up') return [{ kind: 'action', action: 'open', label: 'Set up the worker…' }];
  if (state.worker === 'working') {
    return [
      { kind: 'action', action: 'pause', label: 'Finish current job, then pause' },
      { kind: 'action', action: 'stopNow', label: 'Stop now' },
      { kind: 'action', action: 'snooze', label: 'Snooze 1 hour' },
    ];
  }
  return [
    { kind: 'action', action: 'start', label: 'Start worker' },
    { kind: 'action', action: 'snooze', label: 'Snooze 1 hour' },
  ];
}

/** The tray menu as data, derived from the core state; electron/tray.ts only renders it. */
export function trayMenuModel(state: AppState, todayKudos: number, activity: string | null = null): TrayMenuModel {
  const icon = state.worker === 'working' ? 'working' : state.worker === 'error' ? 'error' : state.worker === 'paused' ? 'paused' : 'idle';
  return {
    tooltip: `HordeDesk: ${state.line} · ${todayKudos.toLocaleString('en-US', { maximumFractionDigits: 1 })} kudos today${activity ? ` · ${activity}` : ''}`,
    icon,
    items: [
      { kind: 'label', label: state.line },
      { kind: 'separator' },
      ...workerItems(state),
      { kind: 'separator' },
      { kind: 'action', action: 'rate', label: 'Rate images' },
      { kind: 'action', action: 'open', label: 'Open HordeDesk' },
      { kind: 'action', action: 'quit', label: 'Quit' },
    ],
  };
}
