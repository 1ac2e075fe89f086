import type { Route } from './router';
import type { StandinState } from './state';

/**
 * The ratings API (https://ratings.aihorde.net/api/v1, HORDE-PROTOCOL.md §4.1), mounted at
 * `/api/v1` so `ratingsApiUrl` points here. Empty on purpose: its server's source is not public,
 * so each route is to be added with the issue that builds the rater, from what its clients show
 * (`GET rating/new`, `POST rating/:id` with integer rating 1..10 and artifacts 0..5, 403 "skip
 * this image", 429 "slow down"; §8 item 8). Until then every path here answers 404.
 *
 * To extend: add `Route<StandinState>` objects (see routesV2.ts) to this list; patterns are
 * relative to `/api/v1`. Its clients read errors as `{message}` with no `rc` (§4.1).
 */
export const ratingsV1Routes: readonly Route<StandinState>[] = [];
