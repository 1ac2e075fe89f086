import type { Clock } from '../../src-main/core/worker/ports';

/** A clock whose time moves only when someone sleeps on it, and the timers that came due then. */
export interface VirtualClock extends Clock {
  /** Moves time on by `ms` and fires the timers that came due. */
  advance(ms: number): void;
}

/**
 * Virtual time for loops that wait minutes between tries (a job's 150 s ttl): `sleep` moves the
 * clock on at once and yields to the event loop, so a test runs the whole wait in milliseconds
 * and asserts on the clock's own times, never on the wall clock. Give the same `now` to the
 * stand-in (`jobs.now`) so both sides agree on deadlines.
 */
export function virtualClock(start = 1_700_000_000_000): VirtualClock {
  let t = start;
  const timers = new Set<{ at: number; fn: () => void }>();
  const advance = (ms: number): void => {
    t += Math.max(0, ms);
    const due = [...timers].filter((timer) => timer.at <= t).sort((a, b) => a.at - b.at);
    for (const timer of due) {
      timers.delete(timer);
      timer.fn();
    }
  };
  return {
    now: () => t,
    advance,
    async sleep(ms) {
      advance(ms);
      await new Promise((resolve) => setImmediate(resolve));
    },
    setTimer(ms, fn) {
      const timer = { at: t + ms, fn };
      timers.add(timer);
      return () => void timers.delete(timer);
    },
  };
}
