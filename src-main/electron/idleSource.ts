import { app, powerMonitor } from 'electron';
import type { IdleSourcePort } from '../core/schedule/scheduler';

/** Idle seconds reported while the screen is locked: a locked machine counts as idle however recent the last input. */
const LOCKED_IDLE_SECONDS = 24 * 60 * 60;

/**
 * The desktop idle source, from Electron's powerMonitor. Call after the app's 'ready' event (before it,
 * powerMonitor throws, which the scheduler reads as "cannot tell").
 *
 * - idleSeconds: `getSystemIdleTime()`; null where the OS cannot tell (`getSystemIdleState` says
 *   'unknown', e.g. some Wayland sessions); a locked screen counts as idle.
 * - onBattery: `isOnBatteryPower()`.
 * - fullScreen: always null. Electron sees only its own windows' full-screen state, not a game's or a
 *   video player's, and no portable API exists; the policy treats null as "does not block".
 */
export function createElectronIdleSource(): IdleSourcePort {
  return {
    idleSeconds() {
      const state = powerMonitor.getSystemIdleState(1);
      if (state === 'unknown') return null;
      const seconds = powerMonitor.getSystemIdleTime();
      return state === 'locked' ? Math.max(seconds, LOCKED_IDLE_SECONDS) : seconds;
    },
    onBattery: () => powerMonitor.isOnBatteryPower(),
    fullScreen: () => null,
  };
}

/**
 * Starts HordeDesk when the user logs in (or stops doing so). Windows and macOS only; on Linux Electron
 * has no login-item API, so nothing happens and the result is false. Returns whether the OS now reports
 * the requested setting.
 */
export function setAutostart(enabled: boolean): boolean {
  if (process.platform !== 'win32' && process.platform !== 'darwin') return false;
  app.setLoginItemSettings({ openAtLogin: enabled });
  return app.getLoginItemSettings().openAtLogin === enabled;
}
