import { z } from 'zod';
import type { Dataset } from './ratings';

// The ratings service's wire answers (https://ratings.aihorde.net/api/v1, HORDE-PROTOCOL.md
// §4.1). Its server's source is not public: the shapes come from its clients (TS SDK, ArtBot,
// horde_sdk). Every object is loose, because a service that adds a field must not stop the
// rater; fields whose presence is uncertain are optional or nullable.

/** Only web URLs: the app downloads whatever `url` names, so `file:` or `data:` must not pass. */
const webUrl = z.url({ protocol: /^https?$/, hostname: z.regexes.hostname });

/**
 * `GET /rating/new[/{dataset_id}[/{model_name}]]`: the next image to rate.
 *
 * `instruction` is INFERRED: the service is known to interleave validation ("captcha") images
 * that tell the user which scores to give (§4.1), but how it says so is UNCONFIRMED. HordeDesk
 * and its stand-in use an optional string field `instruction` (e.g. "Rate this image 8 for
 * aesthetics and 0 for artifacts"), shown to the user as is; null or absent on ordinary images.
 */
export const newRatingImageSchema = z.looseObject({
  id: z.string().min(1),
  url: webUrl,
  /** The TS SDK types it as a UUID; nullish is tolerated for images outside any dataset. */
  dataset_id: z.string().nullish(),
  instruction: z.string().nullish(),
});
export type NewRatingImage = z.infer<typeof newRatingImageSchema>;

/** The body of `POST /rating/{image_id}`: integers only (§4.1; the SDK's string artifacts are a typing bug). */
export const submitRatingBodySchema = z.strictObject({
  rating: z.number().int().min(1).max(10),
  artifacts: z.number().int().min(0).max(5).optional(),
});
export type SubmitRatingBody = z.infer<typeof submitRatingBodySchema>;

/** The answer to `POST /rating/{image_id}`: kudos awarded (0 for the anonymous key) and a sentence. */
export const submitRatingAnswerSchema = z.looseObject({
  reward: z.number(),
  message: z.string().optional(),
});
export type SubmitRatingAnswer = z.infer<typeof submitRatingAnswerSchema>;

/** One entry of `GET /datasets`. */
export const ratingsDatasetSchema = z.looseObject({
  id: z.string().min(1),
  name: z.string(),
  description: z.string().nullish(),
  image_count: z.number().int().nullish(),
});
export type RatingsDataset = z.infer<typeof ratingsDatasetSchema>;

/** `GET /datasets`: every dataset the service offers. */
export const ratingsDatasetListSchema = z.array(ratingsDatasetSchema);

/** One rating in `GET /image/ratings/{id}`; `artifacts` is null when the rater gave none. */
export const imageRatingEntrySchema = z.looseObject({
  username: z.string(),
  rating: z.number().int(),
  artifacts: z.number().int().nullish(),
});

/**
 * `GET /image/ratings/{image_id}?format=json` (shape from horde_sdk). Lets a client that crashed
 * between sending a rating and reading the answer check whether the rating arrived. `average` is
 * nullable because an image nobody rated has no mean (inferred).
 */
export const imageRatingsSchema = z.looseObject({
  image_id: z.string(),
  times_rated: z.number().int(),
  average: z.number().nullish(),
  ratings: z.array(imageRatingEntrySchema),
  total: z.number().int().optional(),
  image: z.string().optional(),
});
export type ImageRatings = z.infer<typeof imageRatingsSchema>;

/** The service's error body (TS SDK `RatingRequestError`); 429s and proxies may send none. */
export const ratingsErrorBodySchema = z.looseObject({ message: z.string() });
export type RatingsErrorBody = z.infer<typeof ratingsErrorBodySchema>;

/** Maps a wire dataset to the app's DTO. */
export function toDataset(wire: RatingsDataset): Dataset {
  return { id: wire.id, name: wire.name, description: wire.description ?? null, imageCount: wire.image_count ?? null };
}
