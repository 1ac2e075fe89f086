import { backoffMs, type BackoffPolicy } from '../backoff';
import type { PendingRating } from './ports';
import { MAX_BACKOFF_MS, noteFailure, type RaterContext } from './raterState';

/** A new rating waits this long before it is sent, so Undo can still take it back. */
export const UNDO_WINDOW_MS = 5_000;
/** A failed sync's wait (its own or the service's) doubles per failure in a row, 5 times at most, up to 10 s. */
export function syncRetry(wait: number): BackoffPolicy {
  return { baseMs: wait, capMs: MAX_BACKOFF_MS, maxDoublings: 5 };
}

/** Sends one rating; returns the ms to wait before the next attempt (0 = go on, negative = nothing due yet). */
export async function syncOne(ctx: RaterContext): Promise<number> {
  const { store, clock } = ctx;
  const [next] = store.pending(1);
  if (!next) return -1;
  const age = clock.now() - next.ratedAt;
  if (next.state === 'pending' && age < UNDO_WINDOW_MS) return -(UNDO_WINDOW_MS - age);
  if (next.state === 'sending' && (await arrivedBeforeRestart(ctx, next))) return 0;
  store.markSending(next.imageId);
  try {
    const { reward } = await ctx.remote.submit(next.imageId, next.rating, next.artifacts);
    store.markSent(next.imageId, reward, clock.now());
    ctx.state.sessionKudos += reward;
    ctx.state.online = true;
    ctx.state.message = null;
    return 0;
  } catch (error) {
    return sendFailed(ctx, next, error);
  }
}

/** A rating left `sending` may have arrived before the crash: ask the service, never send twice. */
async function arrivedBeforeRestart(ctx: RaterContext, rating: PendingRating): Promise<boolean> {
  const [name, raters] = await Promise.all([ctx.remote.username(), ctx.remote.ratedBy(rating.imageId)]);
  if (name === null || !raters.includes(name)) return false;
  ctx.store.markSent(rating.imageId, 0, ctx.clock.now());
  ctx.log.info(`rating of ${rating.imageId} had arrived before a restart; not sent again (its reward was not recorded)`);
  return true;
}

/** Books a failed send and returns the ms to wait before the next attempt (0 = go on). */
function sendFailed(ctx: RaterContext, rating: PendingRating, error: unknown): number {
  const verdict = ctx.remote.classify(error);
  if (verdict.kind === 'refused' || verdict.kind === 'gone') {
    ctx.store.markRefused(
      rating.imageId,
      verdict.kind === 'gone' ? `the image is gone from the service (${verdict.message})` : `the service refused it: ${verdict.message}`,
    );
    return 0;
  }
  // The service answered no: back to pending. No answer at all: it may have arrived, so it
  // stays `sending` and the next try asks the service before sending again.
  ctx.store.noteProblem(rating.imageId, verdict.message, verdict.unanswered === true);
  if (verdict.kind === 'stop') {
    ctx.state.message = `The ratings service rejected the API key: ${verdict.message}`;
    ctx.emit();
    return MAX_BACKOFF_MS;
  }
  return noteFailure(ctx, error, 'Sync paused') || 2_000;
}

/** Sends ratings as they leave the undo window until the rater stops; cleans the cache when idle. */
export async function syncLoop(ctx: RaterContext): Promise<void> {
  let failures = 0;
  while (!ctx.state.stopped) {
    let wait: number;
    try {
      wait = await syncOne(ctx);
    } catch (error) {
      wait = noteFailure(ctx, error, 'Sync paused') || 2_000;
    }
    ctx.emit();
    if (wait === 0) {
      failures = 0;
      continue;
    }
    if (wait < 0) {
      // Nothing to send yet (-1), or the oldest rating is still inside its undo window.
      cleanCache(ctx);
      await ctx.nap(wait === -1 ? 5_000 : -wait);
      continue;
    }
    failures += 1;
    await ctx.nap(backoffMs(syncRetry(wait), failures - 1));
  }
}

/** Deletes files that are no longer needed; the thumbnail stays in the database. */
function cleanCache(ctx: RaterContext): void {
  for (const { imageId, file } of ctx.store.removable()) {
    ctx.cache.remove(file);
    ctx.store.forgetFile(imageId);
  }
}
