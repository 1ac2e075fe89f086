import type { IdleSourcePort } from '../../core/schedule/scheduler';

/**
 * A headless idle source for the demo and the tests: Node cannot see keyboard or mouse input, so
 * activity is reported by a command (the demo's CLI or HTTP endpoint) instead of the OS.
 */
export interface SimulatedIdleSource extends IdleSourcePort {
  /** Pretends the last input happened `idleSeconds` ago; idle time keeps growing from there. */
  set(idleSeconds: number): void;
  /** Pretends the user touched the keyboard or mouse just now (idle time back to 0). */
  reportActivity(): void;
  /** Sets the battery answer (null: cannot tell, the default). */
  setOnBattery(onBattery: boolean | null): void;
  /** Sets the full-screen answer (null: cannot tell, the default). */
  setFullScreen(fullScreen: boolean | null): void;
}

/**
 * Creates a simulated idle source. Idle seconds grow with `now()` (Date.now by default, injectable
 * for tests) since the last reported activity; it starts as if the user had just been active.
 */
export function createSimulatedIdleSource(now: () => number = Date.now): SimulatedIdleSource {
  let lastActivity = now();
  let onBattery: boolean | null = null;
  let fullScreen: boolean | null = null;
  return {
    idleSeconds: () => Math.max(0, Math.floor((now() - lastActivity) / 1000)),
    onBattery: () => onBattery,
    fullScreen: () => fullScreen,
    set(idleSeconds) {
      lastActivity = now() - Math.max(0, idleSeconds) * 1000;
    },
    reportActivity() {
      lastActivity = now();
    },
    setOnBattery(value) {
      onBattery = value;
    },
    setFullScreen(value) {
      fullScreen = value;
    },
  };
}

/** An idle source that can tell nothing (plain headless servers): the schedule then works as if always allowed. */
export function createUnknownIdleSource(): IdleSourcePort {
  return { idleSeconds: () => null, onBattery: () => null, fullScreen: () => null };
}
