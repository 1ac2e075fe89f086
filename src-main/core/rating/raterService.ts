import type { RatingImage, RatingStatus } from '../../common/ratings';
import { UserFacingError } from '../../common/result';
import { CACHE_LIMIT, fetchOne, prefetchLoop } from './raterPrefetch';
import { createRaterContext, type RaterContext, type RaterPorts } from './raterState';
import { syncLoop, syncOne } from './raterSync';

export { PREFETCH_RETRY } from './raterPrefetch';
export { syncRetry, UNDO_WINDOW_MS } from './raterSync';

export interface RaterOptions extends RaterPorts {
  /** False in tests that drive the loops by hand. */
  background?: boolean;
}

/**
 * The rater: a local queue of downloaded images, ratings written to SQLite before the page
 * advances, and a syncer that sends each rating exactly once — a rating caught mid-send by a
 * crash is checked with the service before it is sent again.
 */
export interface Rater {
  /** The session's counts, the cache and sync queue sizes, online state and the current problem. */
  status(): RatingStatus;
  /** Starts the sync and prefetch loops (not with `background: false`). */
  start(): void;
  /** Ends both loops at their next step; a nap in progress ends at once. */
  stop(): void;
  /** Retries at once (after a settings change: a new URL or key may fix what failed). */
  wake(): void;
  /** Up to `count` queued images, in queue order, leaving out any whose file is gone from the cache. */
  queue(count: number): RatingImage[];
  /** Writes the rating durably and takes the image off the queue before answering; refuses an image not queued. */
  rate(imageId: string, rating: number, artifacts: number | null): Promise<RatingStatus>;
  /** Takes back the newest rating while it is still pending; its image goes first in the queue again. */
  undo(): { imageId: string | null; status: RatingStatus };
  /** Takes the image off the queue unrated. */
  skip(imageId: string): RatingStatus;
  /** Downloads `count` more images ahead ("Download a session"); refuses past the cache limit. */
  downloadSession(count: number, datasetId: string | null): RatingStatus;
  /** Runs the syncer once by hand (tests with `background: false`). */
  syncOnce(): Promise<number>;
  /** Downloads one image by hand; false when the service gave nothing usable. */
  fetchOnce(datasetId: string | null): Promise<boolean>;
}

/** Builds the rater over its ports; the loops start with `start()`. */
export function createRater(options: RaterOptions): Rater {
  const ctx = createRaterContext(options);
  return {
    status: ctx.status,
    start(): void {
      if (options.background === false) return;
      void syncLoop(ctx);
      void prefetchLoop(ctx);
    },
    stop(): void {
      ctx.state.stopped = true;
      ctx.nudge();
    },
    wake: ctx.nudge,
    queue: (count) => queuedImages(ctx, count),
    rate: (imageId, rating, artifacts) => rate(ctx, imageId, rating, artifacts),
    undo: () => undo(ctx),
    skip: (imageId) => skip(ctx, imageId),
    downloadSession: (count, datasetId) => downloadSession(ctx, count, datasetId),
    syncOnce: () => syncOne(ctx),
    fetchOnce: (datasetId) => fetchOne(ctx, datasetId),
  };
}

function queuedImages(ctx: RaterContext, count: number): RatingImage[] {
  return ctx.store.queued(count).flatMap((img) => {
    const src = ctx.cache.dataUrl(img.file, img.mime);
    return src ? [{ imageId: img.imageId, datasetId: img.datasetId, src, instruction: img.instruction }] : [];
  });
}

async function rate(ctx: RaterContext, imageId: string, rating: number, artifacts: number | null): Promise<RatingStatus> {
  const image = ctx.store.queuedImage(imageId);
  if (!image) throw new UserFacingError('not-queued', 'That image is not waiting for a rating (already rated or skipped).');
  const thumbnail = await ctx.cache.thumbnail(image.file);
  ctx.store.rate(imageId, rating, artifacts, ctx.clock.now(), thumbnail);
  ctx.state.sessionRatings += 1;
  ctx.nudge();
  ctx.emit();
  return ctx.status();
}

function undo(ctx: RaterContext): { imageId: string | null; status: RatingStatus } {
  const imageId = ctx.store.undoLast();
  if (imageId) ctx.state.sessionRatings = Math.max(0, ctx.state.sessionRatings - 1);
  ctx.emit();
  return { imageId, status: ctx.status() };
}

function skip(ctx: RaterContext, imageId: string): RatingStatus {
  ctx.store.skip(imageId);
  ctx.nudge();
  ctx.emit();
  return ctx.status();
}

function downloadSession(ctx: RaterContext, count: number, datasetId: string | null): RatingStatus {
  if (ctx.store.queuedCount() + count > CACHE_LIMIT)
    throw new UserFacingError('cache-full', `The cache holds at most ${CACHE_LIMIT} unrated images; rate some first.`);
  ctx.state.download = { total: count, done: 0, failed: 0 };
  ctx.state.downloadDataset = datasetId;
  ctx.nudge();
  ctx.emit();
  return ctx.status();
}
