import type { AppState } from '../common/contract';

export type TrayAction = 'open' | 'quit';

export interface TrayMenuModel {
  tooltip: string;
  icon: 'idle' | 'working' | 'paused' | 'error';
  items: ({ kind: 'label'; label: string } | { kind: 'action'; action: TrayAction; label: string } | { kind: 'separator' })[];
}

/** The tray menu as data, derived from the core state; electron/tray.ts only renders it. */
export function trayMenuModel(state: AppState, todayKudos: number): TrayMenuModel {
  const icon = state.worker === 'working' ? 'working' : state.worker === 'error' ? 'error' : state.worker === 'paused' ? 'paused' : 'idle';
  return {
    tooltip: `HordeDesk: ${state.line} · ${todayKudos.toLocaleString('en-US', { maximumFractionDigits: 1 })} kudos today`,
    icon,
    items: [
      { kind: 'label', label: state.line },
      { kind: 'separator' },
      { kind: 'action', action: 'open', label: 'Open HordeDesk' },
      { kind: 'action', action: 'quit', label: 'Quit' },
    ],
  };
}
