import type { z } from 'zod';
import { aestheticSchema, artifactsSchema } from '../../common/ratings';
import {
  imageRatingsSchema,
  newRatingImageSchema,
  ratingsDatasetListSchema,
  ratingsErrorBodySchema,
  submitRatingAnswerSchema,
  type ImageRatings,
  type NewRatingImage,
  type RatingsDataset,
  type SubmitRatingAnswer,
  type SubmitRatingBody,
} from '../../common/ratingsApi';
import type { HttpResponse } from '../horde/http';
import { readErrorAnswer, serviceCaller, type ServiceClientOptions, type ServiceDescription } from '../horde/jsonCall';
import { redactSecret } from '../horde/serviceErrors';
import { RatingsApiError, RatingsInputError, RatingsProtocolError, RatingsUnreachableError } from './clientErrors';

export {
  DEFAULT_RATE_LIMIT_WAIT_MS,
  RatingsApiError,
  RatingsInputError,
  RatingsProtocolError,
  RatingsUnreachableError,
  ratingOutcome,
  type RatingOutcome,
  type RatingsErrorCode,
} from './clientErrors';

/** The scores of one rating: aesthetic 1..10 and, when the user gave one, artifacts 0..5. */
export interface RatingScores {
  rating: number;
  artifacts: number | null;
}

/** Per-call settings. */
export interface RatingsCallOptions {
  /** Overrides the client's limit for this one request. */
  timeoutMs?: number;
}

/** The typed calls HordeDesk makes to the ratings service (HORDE-PROTOCOL.md §4.1). */
export interface RatingsClient {
  /** The next image to rate: from the default dataset, or one dataset (and one model of it). */
  newImage(datasetId?: string, options?: RatingsCallOptions & { model?: string }): Promise<NewRatingImage>;
  /** Sends one rating; `artifacts` goes out only when not null. Resolves with the kudos reward. */
  submit(imageId: string, scores: RatingScores, call?: RatingsCallOptions): Promise<SubmitRatingAnswer>;
  /** The datasets a user may pick from. */
  datasets(call?: RatingsCallOptions): Promise<RatingsDataset[]>;
  /** Everyone's ratings of one image: how a client finds out whether its own rating arrived. */
  imageRatings(imageId: string, call?: RatingsCallOptions): Promise<ImageRatings>;
}

/**
 * How to reach the service: `baseUrl` is the API root including the version, e.g.
 * "https://ratings.aihorde.net/api/v1"; `apiKey` may be "0000000000" (rates anonymously);
 * `confirmedKeyUrl` is the ratings URL the user confirmed for the key.
 */
export type RatingsClientOptions = ServiceClientOptions;

const DEFAULT_TIMEOUT_MS = 20_000;

/** The ratings API's paths start at its root; every call sends the key when one is set. */
const RATINGS_SERVICE: ServiceDescription = {
  id: 'ratings',
  pathPrefix: '',
  errors: { protocol: RatingsProtocolError, unreachable: RatingsUnreachableError, status: errorFromResponse },
};

interface Call<T> {
  method: 'GET' | 'POST';
  path: string;
  schema: z.ZodType<T>;
  body?: unknown;
  timeoutMs: number | undefined;
}

/** Creates a ratings client that validates every answer and throws only the errors in ./clientErrors. */
export function createRatingsClient(opts: RatingsClientOptions): RatingsClient {
  const defaultTimeout = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const caller = serviceCaller(opts, RATINGS_SERVICE);
  const send = <T>(call: Call<T>): Promise<T> => caller({ ...call, timeoutMs: call.timeoutMs ?? defaultTimeout });

  const segment = (value: string) => encodeURIComponent(value);

  return {
    async newImage(datasetId, options = {}) {
      if (options.model !== undefined && datasetId === undefined)
        throw new RatingsInputError('A model filter needs a dataset to pick from.');
      const parts = ['rating/new', datasetId, options.model].filter((p): p is string => p !== undefined);
      const path = parts.map((p, i) => (i === 0 ? p : segment(p))).join('/');
      return send({ method: 'GET', path, schema: newRatingImageSchema, timeoutMs: options.timeoutMs });
    },
    async submit(imageId, scores, call = {}) {
      const body = ratingBody(scores);
      return send({
        method: 'POST',
        path: `rating/${segment(imageId)}`,
        schema: submitRatingAnswerSchema,
        body,
        timeoutMs: call.timeoutMs,
      });
    },
    datasets: (call = {}) => send({ method: 'GET', path: 'datasets', schema: ratingsDatasetListSchema, timeoutMs: call.timeoutMs }),
    imageRatings: (imageId, call = {}) =>
      send({ method: 'GET', path: `image/ratings/${segment(imageId)}?format=json`, schema: imageRatingsSchema, timeoutMs: call.timeoutMs }),
  };
}

/** Checks the scales before sending: the service's 400 would only say the same, later. */
function ratingBody(scores: RatingScores): SubmitRatingBody {
  const rating = aestheticSchema.safeParse(scores.rating);
  if (!rating.success) throw new RatingsInputError(`Cannot send rating ${String(scores.rating)}: ratings are whole numbers from 1 to 10.`);
  if (scores.artifacts === null) return { rating: rating.data };
  const artifacts = artifactsSchema.safeParse(scores.artifacts);
  if (!artifacts.success)
    throw new RatingsInputError(`Cannot send artifacts ${String(scores.artifacts)}: artifacts are whole numbers from 0 to 5.`);
  return { rating: rating.data, artifacts: artifacts.data };
}

function errorFromResponse(endpoint: string, response: HttpResponse, apiKey: string | undefined, now: number): RatingsApiError {
  // A 429 from a limiter or a 5xx from a proxy may not be JSON; the status still tells the story.
  const { body, retryAfterMs } = readErrorAnswer(response, ratingsErrorBodySchema, now);
  const serviceMessage = body ? redactSecret(body.message, apiKey) : undefined;
  return new RatingsApiError({ status: response.status, retryAfterMs, endpoint, serviceMessage });
}
