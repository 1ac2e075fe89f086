import { backoffMs, type BackoffPolicy } from '../backoff';
import { MAX_BACKOFF_MS, noteFailure, type RaterContext } from './raterState';

/** Images kept downloaded ahead while online, so the next one is always local. */
const PREFETCH = 8;
/** The cache never holds more than this many unrated images (a session of 500 plus the prefetch). */
export const CACHE_LIMIT = 520;
/** Waits between failed prefetches: 2 s, 4 s, 8 s, then 10 s (at least what the service asked). */
export const PREFETCH_RETRY: BackoffPolicy = { baseMs: 2_000, capMs: MAX_BACKOFF_MS };

/** Downloads one new image into the cache; false when the service gave nothing usable. */
export async function fetchOne(ctx: RaterContext, datasetId: string | null): Promise<boolean> {
  const { store, remote } = ctx;
  const meta = await remote.newImage(datasetId);
  if (store.has(meta.id)) return false;
  const { bytes, mime } = await remote.fetchImage(meta.url);
  const file = ctx.cache.write(meta.id, bytes, mime);
  store.addImage({
    imageId: meta.id,
    datasetId: meta.datasetId,
    instruction: meta.instruction,
    file,
    mime,
    bytes: bytes.length,
    fetchedAt: ctx.clock.now(),
  });
  return true;
}

/** How many images the prefetch still wants: the rest of a session download, or the top-up to PREFETCH. */
function wanted(ctx: RaterContext): number {
  const { download } = ctx.state;
  return download ? download.total - download.done - download.failed : PREFETCH - ctx.store.queuedCount();
}

/** Keeps PREFETCH images downloaded ahead, or fills a session download, until the rater stops. */
export async function prefetchLoop(ctx: RaterContext): Promise<void> {
  const { state } = ctx;
  let failures = 0;
  while (!state.stopped) {
    if (wanted(ctx) <= 0 || ctx.store.queuedCount() >= CACHE_LIMIT) {
      if (state.download) state.download = null;
      ctx.emit();
      await ctx.nap(3_000);
      continue;
    }
    try {
      const added = await fetchOne(ctx, state.download ? state.downloadDataset : null);
      if (state.download) state.download[added ? 'done' : 'failed'] += 1;
      state.online = true;
      failures = 0;
      if (state.message?.startsWith('Download')) state.message = null;
      ctx.emit();
    } catch (error) {
      if (ctx.remote.classify(error).kind === 'refused') {
        await skipBadImage(ctx, error);
        continue;
      }
      // Offline or the service is struggling: a session download waits and resumes, it is not lost.
      const wait = noteFailure(ctx, error, 'Download paused');
      failures += 1;
      await ctx.nap(Math.max(wait, backoffMs(PREFETCH_RETRY, failures - 1)));
    }
  }
}

/** One bad image (not an image, too large, refused): say so, count it, go on with the next. */
async function skipBadImage(ctx: RaterContext, error: unknown): Promise<void> {
  if (ctx.state.download) ctx.state.download.failed += 1;
  ctx.state.message = `Skipped an image: ${ctx.remote.classify(error).message}`;
  ctx.log.warn(ctx.state.message);
  ctx.emit();
  await ctx.nap(500);
}
