import type { RatingStatus } from '../../common/ratings';
import type { Logger } from '../log';
import type { Clock } from '../worker/ports';
import type { ImageCachePort, RatingStorePort, RatingsRemotePort } from './ports';

/** Short enough that sync and downloads resume soon after the network comes back. */
export const MAX_BACKOFF_MS = 10_000;

/** What the rater's loops and commands share; each part changes it only through these fields. */
export interface RaterState {
  online: boolean;
  /** The last problem shown to the user; null when all is well. */
  message: string | null;
  /** The "Download a session" in progress, if any. */
  download: RatingStatus['download'];
  downloadDataset: string | null;
  sessionRatings: number;
  sessionKudos: number;
  stopped: boolean;
}

/** The ports, the shared state and the small helpers the sync loop, prefetch loop and commands use. */
export interface RaterContext extends Omit<RaterPorts, 'onStatus'> {
  state: RaterState;
  status(): RatingStatus;
  /** Sends the current status to the listener. */
  emit(): void;
  /** Wakes every loop that is napping (new work, or stop). */
  nudge(): void;
  /** Sleeps, but wakes early when there is new work (a rating, a download, stop). */
  nap(ms: number): Promise<void>;
}

/** The ports the rater is built over. */
export interface RaterPorts {
  store: RatingStorePort;
  cache: ImageCachePort;
  remote: RatingsRemotePort;
  clock: Clock;
  log: Logger;
  onStatus(status: RatingStatus): void;
}

/** A fresh rater context: online, no message, nothing rated in this session. */
export function createRaterContext(ports: RaterPorts): RaterContext {
  const { store, cache, remote, clock, log } = ports;
  const state: RaterState = {
    online: true,
    message: null,
    download: null,
    downloadDataset: null,
    sessionRatings: 0,
    sessionKudos: 0,
    stopped: false,
  };
  const wakers = new Set<() => void>();
  const status = (): RatingStatus => ({
    sessionRatings: state.sessionRatings,
    sessionKudos: state.sessionKudos,
    cached: store.queuedCount(),
    pendingSync: store.pendingCount(),
    online: state.online,
    message: state.message,
    download: state.download ? { ...state.download } : null,
  });
  const nap = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        wakers.delete(done);
        resolve();
      };
      wakers.add(done);
      void clock.sleep(ms).then(done);
    });
  return {
    store,
    cache,
    remote,
    clock,
    log,
    state,
    status,
    emit: () => ports.onStatus(status()),
    nudge: () => {
      for (const wake of [...wakers]) wake();
    },
    nap,
  };
}

/** Shows a failed call to the user (once per distinct message); returns the wait the service asked for, or 0. */
export function noteFailure(ctx: RaterContext, error: unknown, what: string): number {
  const verdict = ctx.remote.classify(error);
  if (verdict.kind === 'retry') ctx.state.online = false;
  const next =
    verdict.kind === 'wait'
      ? `The ratings service asks to slow down; waiting ${Math.ceil((verdict.retryAfterMs ?? 60_000) / 1000)} s.`
      : `${what}: ${verdict.message}`;
  // An outage repeats the same failure every backoff: log it once, not every 10 s.
  if (next !== ctx.state.message) ctx.log.warn(next);
  ctx.state.message = next;
  ctx.emit();
  return verdict.retryAfterMs ?? 0;
}
