import { z } from 'zod';
import type { FaultPatch, FaultState, StandinFaults } from './faults';
import type { Answer } from './router';

// Fault switches of the ratings stand-in. faults.ts spreads these fields into its schema and
// defaults, so they are set like every other switch: `handle.setFaults({...})` or
// `POST /__standin/faults`. Counted switches are consumed through FaultState's public API so
// this file needs no access to its internals.

/** A fault that applies to the next `count` answers, or to every answer without a count. */
const counted = z.strictObject({ count: z.number().int().positive().optional() });

/** The ratings switches, merged into `faultPatchSchema` in faults.ts. */
export const ratingsFaultFields = {
  /**
   * The ratings API (`/api/v1/…`) and its images (`/ratings-images/…`) answer by destroying the
   * socket, so clients see a network failure rather than a status (the service being down).
   */
  ratingsDown: z.boolean().optional(),
  /**
   * The next `count` ratings API answers (all without a count) are replaced after their route
   * ran: "notJson" sends an HTML page (a captive portal or proxy page), "wrongShape" sends JSON
   * of the wrong shape. The route's side effects stand, e.g. a submit is still recorded, which
   * is how a client ends up unsure whether its rating arrived.
   */
  ratingsBadJson: counted
    .extend({ kind: z.enum(['notJson', 'wrongShape']).optional() })
    .nullable()
    .optional(),
  /** The next `count` images are HTML bytes sent as `Content-Type: image/webp`. */
  ratingsBadImage: counted.nullable().optional(),
  /** The next `count` images start like a WebP but are `bytes` long (default 26 MB, above 25 MB). */
  ratingsHugeImage: counted
    .extend({ bytes: z.number().int().positive().max(200_000_000).optional() })
    .nullable()
    .optional(),
  /**
   * Submits for these image ids, or for a deterministic `share` (0..1) of all ids, answer 403
   * as if the service no longer wanted ratings for them (the real 403 meaning is UNCONFIRMED,
   * HORDE-PROTOCOL.md §4.1).
   */
  ratingsRefuse: z
    .strictObject({ ids: z.array(z.string()).optional(), share: z.number().min(0).max(1).optional() })
    .nullable()
    .optional(),
};

/** The current values of the ratings switches, as part of {@link StandinFaults}. */
export interface RatingsFaults {
  ratingsDown: boolean;
  ratingsBadJson: { count?: number; kind?: 'notJson' | 'wrongShape' } | null;
  ratingsBadImage: { count?: number } | null;
  ratingsHugeImage: { count?: number; bytes?: number } | null;
  ratingsRefuse: { ids?: string[]; share?: number } | null;
}

/** A healthy ratings service. */
export function ratingsFaultDefaults(): RatingsFaults {
  return { ratingsDown: false, ratingsBadJson: null, ratingsBadImage: null, ratingsHugeImage: null, ratingsRefuse: null };
}

/** Size of a "huge" image when the switch names none: above the 25 MB the task talks about. */
export const DEFAULT_HUGE_IMAGE_BYTES = 26 * 1024 * 1024;

/** Path prefix of the stand-in's rating images (the URLs `/rating/new` hands out). */
export const RATINGS_IMAGE_PREFIX = '/ratings-images';

/** Whether a request path belongs to the ratings service (its API or its images). */
export function isRatingsPath(path: string): boolean {
  return path.startsWith('/api/v1/') || path.startsWith(`${RATINGS_IMAGE_PREFIX}/`);
}

type CountedKey = 'ratingsBadJson' | 'ratingsBadImage' | 'ratingsHugeImage';

/** Takes one use of a counted ratings fault: its settings when it applies, else undefined. */
export function takeRatingsFault<K extends CountedKey>(faults: FaultState, key: K): NonNullable<StandinFaults[K]> | undefined {
  const fault = faults.current()[key];
  if (!fault) return undefined;
  if (fault.count !== undefined) {
    const left = fault.count > 1 ? { ...fault, count: fault.count - 1 } : null;
    faults.set({ [key]: left } as FaultPatch);
  }
  return fault as NonNullable<StandinFaults[K]>;
}

/** Whether `ratingsRefuse` covers this image id. */
export function isRefused(faults: StandinFaults, imageId: string): boolean {
  const refuse = faults.ratingsRefuse;
  if (!refuse) return false;
  if (refuse.ids?.includes(imageId)) return true;
  // A stable per-id fraction, so the same id is refused on every retry.
  return refuse.share !== undefined && unitHash(imageId) < refuse.share;
}

/** The answer a ratings API route's answer is swapped for under `ratingsBadJson`. */
export function badJsonAnswer(kind: 'notJson' | 'wrongShape', status: number): Answer {
  if (kind === 'wrongShape') return { status, body: { unexpected: 'this is not the shape the ratings API promises' } };
  const page = '<!doctype html><html><head><title>Sign in to the network</title></head><body><p>Please log in.</p></body></html>';
  return { status, body: null, raw: page, headers: { 'Content-Type': 'text/html; charset=utf-8' } };
}

/** FNV-1a of a string, scaled to [0, 1). */
export function unitHash(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash / 0x1_0000_0000;
}
