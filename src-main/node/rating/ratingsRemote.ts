import { ANONYMOUS_API_KEY } from '../../common/horde';
import type { HordeClient } from '../../core/horde/client';
import { ratingOutcome, type RatingsClient } from '../../core/rating/client';
import { RatingsUnreachableError } from '../../core/rating/clientErrors';
import type { RatingsRemotePort } from '../../core/rating/ports';
import { fetchImage, ImageFetchError } from './imageFetch';

/**
 * The ratings service for the rater: the typed client, image downloads with size and format
 * checks, and the user's name from the horde (the ratings service records horde usernames).
 */
export function createRatingsRemote(
  client: RatingsClient,
  horde: HordeClient,
  clientAgent: string,
  apiKey: () => string | null,
): RatingsRemotePort {
  let name: { key: string; username: string } | null = null;
  return {
    async newImage(datasetId) {
      const image = await client.newImage(datasetId ?? undefined);
      return { id: image.id, url: image.url, datasetId: image.dataset_id ?? null, instruction: image.instruction ?? null };
    },
    fetchImage: (url) => fetchImage(url, { headers: { 'Client-Agent': clientAgent } }),
    submit: async (imageId, rating, artifacts) => ({ reward: (await client.submit(imageId, { rating, artifacts })).reward }),
    ratedBy: async (imageId) => (await client.imageRatings(imageId)).ratings.map((r) => r.username),
    async username() {
      const key = apiKey() ?? ANONYMOUS_API_KEY;
      if (name?.key !== key) name = { key, username: (await horde.findUser()).username };
      return name.username;
    },
    classify(error) {
      // An unusable image (not an image, too big, refused by its host) is skipped, not retried.
      if (
        error instanceof ImageFetchError &&
        (error.reason === 'notImage' || error.reason === 'tooLarge' || error.reason === 'status' || error.reason === 'badUrl')
      ) {
        return { kind: 'refused', retryAfterMs: null, message: error.message };
      }
      if (error instanceof ImageFetchError) return { kind: 'retry', retryAfterMs: null, message: error.message };
      const outcome = ratingOutcome(error);
      return {
        kind: outcome.kind,
        retryAfterMs: outcome.kind === 'wait' ? outcome.retryAfterMs : null,
        message: outcome.reason,
        unanswered: error instanceof RatingsUnreachableError,
      };
    },
  };
}
