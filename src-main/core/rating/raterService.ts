import type { RatingImage, RatingStatus } from '../../common/ratings';
import { UserFacingError } from '../../common/result';
import { backoffMs, type BackoffPolicy } from '../backoff';
import type { Logger } from '../log';
import type { Clock } from '../worker/ports';
import type { ImageCachePort, RatingStorePort, RatingsRemotePort } from './ports';

/** Images kept downloaded ahead while online, so the next one is always local. */
const PREFETCH = 8;
/** The cache never holds more than this many unrated images (a session of 500 plus the prefetch). */
const CACHE_LIMIT = 520;
// Short enough that sync resumes soon after the network comes back.
const MAX_BACKOFF_MS = 10_000;
/** Waits between failed prefetches: 2 s, 4 s, 8 s, then 10 s (at least what the service asked). */
export const PREFETCH_RETRY: BackoffPolicy = { baseMs: 2_000, capMs: MAX_BACKOFF_MS };
/** A failed sync's wait (its own or the service's) doubles per failure in a row, 5 times at most, up to 10 s. */
export function syncRetry(wait: number): BackoffPolicy {
  return { baseMs: wait, capMs: MAX_BACKOFF_MS, maxDoublings: 5 };
}
/** A new rating waits this long before it is sent, so Undo can still take it back. */
export const UNDO_WINDOW_MS = 5_000;

export interface RaterOptions {
  store: RatingStorePort;
  cache: ImageCachePort;
  remote: RatingsRemotePort;
  clock: Clock;
  log: Logger;
  onStatus(status: RatingStatus): void;
  /** False in tests that drive the loops by hand. */
  background?: boolean;
}

/**
 * The rater: a local queue of downloaded images, ratings written to SQLite before the page
 * advances, and a syncer that sends each rating exactly once — a rating caught mid-send by a
 * crash is checked with the service before it is sent again.
 */
export function createRater(options: RaterOptions) {
  const { store, cache, remote, clock, log } = options;
  let online = true;
  let message: string | null = null;
  let download: RatingStatus['download'] = null;
  let sessionRatings = 0;
  let sessionKudos = 0;
  let stopped = false;
  const wakers = new Set<() => void>();
  let downloadDataset: string | null = null;

  const status = (): RatingStatus => ({ sessionRatings, sessionKudos, cached: store.queuedCount(), pendingSync: store.pendingCount(), online, message, download: download ? { ...download } : null });
  const emit = (): void => options.onStatus(status());
  const nudge = (): void => {
    for (const wake of [...wakers]) wake();
  };
  /** Sleeps, but wakes early when there is new work (a rating, a download, stop). */
  const nap = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        wakers.delete(done);
        resolve();
      };
      wakers.add(done);
      void clock.sleep(ms).then(done);
    });

  /** Downloads one new image into the cache; false when the service gave nothing usable. */
  async function fetchOne(datasetId: string | null): Promise<boolean> {
    const meta = await remote.newImage(datasetId);
    if (store.has(meta.id)) return false;
    const { bytes, mime } = await remote.fetchImage(meta.url);
    const file = cache.write(meta.id, bytes, mime);
    store.addImage({ imageId: meta.id, datasetId: meta.datasetId, instruction: meta.instruction, file, mime, bytes: bytes.length, fetchedAt: clock.now() });
    return true;
  }

  function noteFailure(error: unknown, what: string): number {
    const verdict = remote.classify(error);
    if (verdict.kind === 'retry') online = false;
    const next = verdict.kind === 'wait' ? `The ratings service asks to slow down; waiting ${Math.ceil((verdict.retryAfterMs ?? 60_000) / 1000)} s.` : `${what}: ${verdict.message}`;
    // An outage repeats the same failure every backoff: log it once, not every 10 s.
    if (next !== message) log.warn(next);
    message = next;
    emit();
    return verdict.retryAfterMs ?? 0;
  }

  /** Sends one rating; returns the ms to wait before the next attempt (0 = go on). */
  async function syncOne(): Promise<number> {
    const [next] = store.pending(1);
    if (!next) return -1;
    const age = clock.now() - next.ratedAt;
    if (next.state === 'pending' && age < UNDO_WINDOW_MS) return -(UNDO_WINDOW_MS - age);
    if (next.state === 'sending') {
      // It may have arrived before the crash: ask the service, never send twice.
      const [name, raters] = await Promise.all([remote.username(), remote.ratedBy(next.imageId)]);
      if (name !== null && raters.includes(name)) {
        store.markSent(next.imageId, 0, clock.now());
        log.info(`rating of ${next.imageId} had arrived before a restart; not sent again (its reward was not recorded)`);
        return 0;
      }
    }
    store.markSending(next.imageId);
    try {
      const { reward } = await remote.submit(next.imageId, next.rating, next.artifacts);
      store.markSent(next.imageId, reward, clock.now());
      sessionKudos += reward;
      online = true;
      message = null;
      return 0;
    } catch (error) {
      const verdict = remote.classify(error);
      if (verdict.kind === 'refused' || verdict.kind === 'gone') {
        store.markRefused(next.imageId, verdict.kind === 'gone' ? `the image is gone from the service (${verdict.message})` : `the service refused it: ${verdict.message}`);
        return 0;
      }
      // The service answered no: back to pending. No answer at all: it may have arrived, so it
      // stays `sending` and the next try asks the service before sending again.
      store.noteProblem(next.imageId, verdict.message, verdict.unanswered === true);
      if (verdict.kind === 'stop') {
        message = `The ratings service rejected the API key: ${verdict.message}`;
        emit();
        return MAX_BACKOFF_MS;
      }
      return noteFailure(error, 'Sync paused') || 2_000;
    }
  }

  async function syncLoop(): Promise<void> {
    let failures = 0;
    while (!stopped) {
      let wait: number;
      try {
        wait = await syncOne();
      } catch (error) {
        wait = noteFailure(error, 'Sync paused') || 2_000;
      }
      emit();
      if (wait === 0) {
        failures = 0;
        continue;
      }
      if (wait < 0) {
        // Nothing to send yet (-1), or the oldest rating is still inside its undo window.
        cleanCache();
        await nap(wait === -1 ? 5_000 : -wait);
        continue;
      }
      failures += 1;
      await nap(backoffMs(syncRetry(wait), failures - 1));
    }
  }

  async function prefetchLoop(): Promise<void> {
    let failures = 0;
    while (!stopped) {
      const want = download ? download.total - download.done - download.failed : PREFETCH - store.queuedCount();
      if (want <= 0 || store.queuedCount() >= CACHE_LIMIT) {
        if (download) download = null;
        emit();
        await nap(3_000);
        continue;
      }
      try {
        const added = await fetchOne(download ? downloadDataset : null);
        if (download) download[added ? 'done' : 'failed'] += 1;
        online = true;
        failures = 0;
        if (message?.startsWith('Download')) message = null;
        emit();
      } catch (error) {
        if (remote.classify(error).kind === 'refused') {
          // One bad image (not an image, too large, refused): say so, count it, go on with the next.
          if (download) download.failed += 1;
          message = `Skipped an image: ${remote.classify(error).message}`;
          log.warn(message);
          emit();
          await nap(500);
          continue;
        }
        // Offline or the service is struggling: a session download waits and resumes, it is not lost.
        const wait = noteFailure(error, 'Download paused');
        failures += 1;
        await nap(Math.max(wait, backoffMs(PREFETCH_RETRY, failures - 1)));
      }
    }
  }

  /** Deletes files that are no longer needed; the thumbnail stays in the database. */
  function cleanCache(): void {
    for (const { imageId, file } of store.removable()) {
      cache.remove(file);
      store.forgetFile(imageId);
    }
  }

  return {
    status,
    start(): void {
      if (options.background === false) return;
      void syncLoop();
      void prefetchLoop();
    },
    stop(): void {
      stopped = true;
      nudge();
    },
    /** Retries at once (after a settings change: a new URL or key may fix what failed). */
    wake: nudge,
    queue(count: number): RatingImage[] {
      return store.queued(count).flatMap((img) => {
        const src = cache.dataUrl(img.file, img.mime);
        return src ? [{ imageId: img.imageId, datasetId: img.datasetId, src, instruction: img.instruction }] : [];
      });
    },
    async rate(imageId: string, rating: number, artifacts: number | null): Promise<RatingStatus> {
      const image = store.queuedImage(imageId);
      if (!image) throw new UserFacingError('not-queued', 'That image is not waiting for a rating (already rated or skipped).');
      const thumbnail = await cache.thumbnail(image.file);
      store.rate(imageId, rating, artifacts, clock.now(), thumbnail);
      sessionRatings += 1;
      nudge();
      emit();
      return status();
    },
    undo(): { imageId: string | null; status: RatingStatus } {
      const imageId = store.undoLast();
      if (imageId) sessionRatings = Math.max(0, sessionRatings - 1);
      emit();
      return { imageId, status: status() };
    },
    skip(imageId: string): RatingStatus {
      store.skip(imageId);
      nudge();
      emit();
      return status();
    },
    downloadSession(count: number, datasetId: string | null): RatingStatus {
      if (store.queuedCount() + count > CACHE_LIMIT) throw new UserFacingError('cache-full', `The cache holds at most ${CACHE_LIMIT} unrated images; rate some first.`);
      download = { total: count, done: 0, failed: 0 };
      downloadDataset = datasetId;
      nudge();
      emit();
      return status();
    },
    /** Runs the syncer once by hand (tests with `background: false`). */
    syncOnce: syncOne,
    fetchOnce: fetchOne,
  };
}

export type Rater = ReturnType<typeof createRater>;
