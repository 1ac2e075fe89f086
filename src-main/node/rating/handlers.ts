import type { Handlers } from '../../common/contract';
import { toDataset } from '../../common/ratingsApi';
import type { RatingsClient } from '../../core/rating/client';
import { exportRatings } from '../../core/rating/export';
import type { RatingStorePort } from '../../core/rating/ports';
import type { Rater } from '../../core/rating/raterService';

/** What the Rate and rating history commands need. */
export interface RatingHandlerDeps {
  rater: Rater;
  store: Pick<RatingStorePort, 'history' | 'all'>;
  client: Pick<RatingsClient, 'datasets'>;
  now: () => Date;
}

type RatingCommand =
  | 'rating.status'
  | 'rating.queue'
  | 'rating.rate'
  | 'rating.undo'
  | 'rating.skip'
  | 'rating.downloadSession'
  | 'rating.datasets'
  | 'rating.history'
  | 'rating.export';

/** A stored WebP thumbnail as the page shows it. */
function thumbnailUrl(bytes: Uint8Array | null): string | null {
  return bytes ? `data:image/webp;base64,${Buffer.from(bytes).toString('base64')}` : null;
}

/** The Rate page's commands and the rating history. */
export function ratingHandlers(deps: RatingHandlerDeps): Pick<Handlers, RatingCommand> {
  const { rater, store } = deps;
  return {
    'rating.status': async () => rater.status(),
    'rating.queue': async ({ count }) => rater.queue(count),
    'rating.rate': async ({ imageId, rating, artifacts }) => rater.rate(imageId, rating, artifacts),
    'rating.undo': async () => rater.undo(),
    'rating.skip': async ({ imageId }) => rater.skip(imageId),
    'rating.downloadSession': async ({ count, datasetId }) => rater.downloadSession(count, datasetId),
    'rating.datasets': async () => (await deps.client.datasets()).map(toDataset),
    'rating.history': async (filter) => {
      const history = store.history(filter);
      return { ...history, rows: history.rows.map((r) => ({ ...r, thumbnail: thumbnailUrl(r.thumbnail) })) };
    },
    'rating.export': async ({ format }) => exportRatings(store.all(), format, deps.now()),
  };
}
