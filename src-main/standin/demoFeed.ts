import type { StandinJobsApi } from './jobsHandle';
import type { MixedOptions } from './mixed';

// The demo's stream of requests. A busy horde always has work for a worker, and always some it
// cannot take (other models, img2img, LoRA, post-processing). The feed keeps both, but counts
// only what the demo worker's own pops could take, and expires what it cannot, as the real horde
// expires requests nobody serves. Counting everything instead starves the worker: requests it can
// never take pile up until they alone fill the quota (issue 10, item 6).

/** Options of {@link createDemoFeed}. */
export interface DemoFeedOptions {
  /** The worker the stream is kept for (its last pop decides what it can take). */
  workerName: () => string;
  /** Before that worker's first pop: requests naming one of these models count as servable. */
  models: readonly string[];
  /** Requests the worker can take to keep waiting. Default 3. */
  target?: number;
  /** At most this many requests it cannot take stay queued (the oldest go first). Default 12. */
  maxUnservable?: number;
  /** A request it cannot take expires after this many stand-in seconds. Default 180. */
  unservableTtlS?: number;
  /** Overrides of the stand-in's `mixed` defaults for the requests the feed adds. */
  mixed?: MixedOptions;
}

/** What one {@link DemoFeed.tick} did. */
export interface FeedTick {
  /** Requests the worker could take, before this tick added any. */
  servable: number;
  /** Requests it cannot take that are still queued after this tick. */
  unservable: number;
  enqueued: number;
  expired: number;
}

/** The demo's request stream; call `tick()` every couple of seconds. */
export interface DemoFeed {
  tick(): FeedTick;
}

/**
 * The mix of requests the demo asks for: small and quick for the tiny model, a few it cannot do, (when
 * `postProcessors` names some) a share upscaled afterwards by one of them, and (with `addons`) a share with LoRAs
 * and textual inversions on the models that take them.
 */
export function demoMixed(
  models: readonly string[],
  postProcessors: readonly string[] = [],
  addons?: { loras: readonly { name: string; is_version?: boolean }[]; tis: readonly string[]; models: readonly string[] },
): MixedOptions {
  return {
    models,
    minSize: 64,
    maxSize: 256,
    maxSteps: 20,
    maxN: 2,
    unsupportedShare: 0.04,
    unsupportedSamplerShare: 0.02,
    ...(postProcessors.length ? { postProcessingShare: 0.25, postProcessors } : {}),
    // A share names LoRAs and textual inversions the demo's fake CivitAI serves, on the models that take them.
    ...(addons ? { loraShare: 0.2, loras: addons.loras, tiShare: 0.1, tis: addons.tis, addonModels: addons.models } : {}),
  };
}

const MAX_BATCHES_PER_TICK = 4;

/** A feed over a stand-in's worker-side handle. */
export function createDemoFeed(
  standin: Pick<StandinJobsApi, 'outlook' | 'queue' | 'enqueueMixed' | 'expireRequest'>,
  options: DemoFeedOptions,
): DemoFeed {
  const target = options.target ?? 3;
  const maxUnservable = options.maxUnservable ?? 12;
  const ttlS = options.unservableTtlS ?? 180;
  let batch = 0;

  /** Requests the worker could take now, and those it cannot (oldest first). */
  function look(): { servable: number; unservable: { id: string; ageS: number }[] } {
    const outlook = standin.outlook(options.workerName());
    if (!outlook) {
      const servable = standin.queue().filter((r) => r.state === 'waiting' && r.models.some((m) => options.models.includes(m))).length;
      return { servable, unservable: [] };
    }
    return {
      servable: outlook.filter((r) => r.servable).length,
      unservable: outlook.filter((r) => !r.servable).sort((a, b) => b.ageS - a.ageS),
    };
  }

  return {
    tick() {
      const before = look();
      // A batch may hold nothing this worker can take; add batches (a few at most) until it has enough.
      let enqueued = 0;
      let now = before;
      for (let round = 0; round < MAX_BATCHES_PER_TICK && now.servable < target; round += 1) {
        enqueued += standin.enqueueMixed(target, `demo-${batch++}`, options.mixed).length;
        now = look();
      }
      let expired = 0;
      const overflow = now.unservable.length - maxUnservable;
      now.unservable.forEach((r, i) => {
        if ((r.ageS > ttlS || i < overflow) && standin.expireRequest(r.id)) expired += 1;
      });
      return { servable: before.servable, unservable: now.unservable.length - expired, enqueued, expired };
    },
  };
}
