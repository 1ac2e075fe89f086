import { APP_CONTACT } from '../../common/appMeta';
import { popSkipCountSchema, type PopSkipReason } from '../../common/horde';

// Why a pop came back without a job, in the user's words. The horde answers an empty pop with a
// count of waiting requests it skipped per reason (`skipped`, HORDE-PROTOCOL.md §2.3); a worker
// that shows "Working" and gets nothing for minutes should say which of them it is.

/** Requests skipped for one reason. */
export interface SkipCount {
  /** The horde's key, e.g. "img2img", "max_pixels". */
  reason: string;
  count: number;
}

/** The last run of empty pops, for the Dashboard. */
export interface NoJobs {
  /** When the first pop of this run came back empty (ms). */
  since: number;
  /** When the last one did. */
  at: number;
  /** Reasons with a count above 0, most frequent first. */
  skipped: SkipCount[];
  /** One sentence for the worker card. */
  text: string;
}

// A reason key as the horde spells them; anything else (a long or odd key) is not shown.
const REASON_KEY = /^[a-z][a-z0-9_-]{0,39}$/;

/**
 * The counts of a pop answer's `skipped`, most frequent first. Never throws: a missing or
 * malformed object is no reasons, and keys or counts that are not plausible are left out.
 */
export function readSkipCounts(skipped: unknown): SkipCount[] {
  if (typeof skipped !== 'object' || skipped === null || Array.isArray(skipped)) return [];
  const counts: SkipCount[] = [];
  // Entry by entry, so one odd count does not hide the others.
  for (const [reason, value] of Object.entries(skipped)) {
    const count = popSkipCountSchema.safeParse(value);
    if (!REASON_KEY.test(reason) || !count.success || !count.data) continue;
    counts.push({ reason, count: count.data });
  }
  return counts.sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
}

/** What the requests skipped for a reason need, as [plural, singular] predicates after the count. */
const PHRASES: Record<PopSkipReason, (maxPixels: number) => [string, string]> = {
  // HordeDesk pops with allow_img2img / allow_painting only when an offered model serves them, so these
  // counts mean the models (e.g. installed before HordeDesk wrote a VAE encoder) do not.
  img2img: () => ['need img2img, which none of the models you offer serves', 'needs img2img, which none of the models you offer serves'],
  painting: () => [
    'need inpainting or outpainting, which none of the models you offer serves',
    'needs inpainting or outpainting, which none of the models you offer serves',
  ],
  // HordeDesk allows post-processing while a post-processor is installed (postProcessing.ts), so none is.
  'post-processing': () => [
    'need post-processing (an upscaler or background removal), and none is installed (the Models page installs them)',
    'needs post-processing (an upscaler or background removal), and none is installed (the Models page installs them)',
  ],
  // HordeDesk pops with allow_lora while LoRAs are on in Settings, for the models it merges them into (core/lora
  // popLane): the counts shown come from the pops without it, so these are LoRA requests for the other models,
  // or all of them while LoRAs are off.
  lora: () => [
    'need LoRAs, which this worker takes only for its SD 1.x models and only while LoRAs are on (Settings, LoRA card)',
    'needs LoRAs, which this worker takes only for its SD 1.x models and only while LoRAs are on (Settings, LoRA card)',
  ],
  controlnet: () => ['need ControlNet, which HordeDesk does not offer yet', 'needs ControlNet, which HordeDesk does not offer yet'],
  models: () => ['are for models this worker does not serve', 'is for a model this worker does not serve'],
  max_pixels: (max) => [
    `need more memory than max_pixels (${formatCount(max)} pixels) allows`,
    `needs more memory than max_pixels (${formatCount(max)} pixels) allows`,
  ],
  nsfw: () => ['are NSFW, which this worker does not accept', 'is NSFW, which this worker does not accept'],
  blacklist: () => ["contain a word on this worker's blacklist", "contains a word on this worker's blacklist"],
  bridge_version: () => [
    'need a feature or sampler the horde does not send to HordeDesk',
    'needs a feature or sampler the horde does not send to HordeDesk',
  ],
  untrusted: () => ['want trusted workers only', 'wants trusted workers only'],
  performance: () => ['want a faster worker', 'wants a faster worker'],
  unsafe_ip: () => ["do not accept this worker's IP address", "does not accept this worker's IP address"],
  worker_id: () => ['are reserved for other workers', 'is reserved for other workers'],
  kudos: () => ['come from requesters without the kudos to pay up front', 'comes from a requester without the kudos to pay up front'],
  step_count: () => ['need more steps than this worker allows', 'needs more steps than this worker allows'],
};

function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

function phrase(skip: SkipCount, maxPixels: number): string {
  const known = (PHRASES as Record<string, ((max: number) => [string, string]) | undefined>)[skip.reason];
  const [plural, singular] = known
    ? known(maxPixels)
    : [`were skipped by the horde for "${skip.reason}"`, `was skipped by the horde for "${skip.reason}"`];
  return skip.count === 1 ? singular : plural;
}

/**
 * One sentence on why pops find no job, e.g. "No jobs right now: 12 requests need img2img, which
 * none of the models you offer serves; 3 need more memory than max_pixels (262,144 pixels) allows."
 */
export function describeNoJobs(skipped: readonly SkipCount[], context: { maxPixels: number }): string {
  if (skipped.length === 0) return 'No jobs right now: the horde has no waiting requests for this worker.';
  const parts = skipped.map((skip, i) => {
    const noun = i > 0 ? '' : skip.count === 1 ? ' request' : ' requests';
    return `${formatCount(skip.count)}${noun} ${phrase(skip, context.maxPixels)}`;
  });
  const listing = skipped.some((skip) => skip.reason === 'bridge_version') ? ` ${UPSTREAM_LISTING_NOTE}` : '';
  return `No jobs right now: ${parts.join('; ')}.${listing}`;
}

/**
 * Said after the reasons when some were `bridge_version`: the horde grants samplers and features
 * by a worker's bridge name, and its bridge reference does not list HordeDesk yet.
 */
export const UPSTREAM_LISTING_NOTE =
  "The horde decides by a worker's bridge name which samplers and features it sends, and it does not list HordeDesk yet; " +
  `${APP_CONTACT}/blob/main/docs/upstream-listing.md explains.`;
