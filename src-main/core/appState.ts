import type { AppState } from '../common/contract';
import type { Settings } from '../common/settings';

/**
 * The one-line state for the tray and the dashboard. The worker itself arrives with its own
 * issue (#4); until a worker name is chosen there is nothing to start.
 */
export function deriveAppState(settings: Settings): AppState {
  if (settings.workerName === '') return { worker: 'not-set-up', line: 'Worker not set up yet' };
  return { worker: 'idle', line: `Worker "${settings.workerName}" is idle` };
}
