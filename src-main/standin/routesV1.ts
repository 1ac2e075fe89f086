import { answersInstruction, instructionFor, RATINGS_DATASETS, rewardFor, type RatingsImage } from './ratingsBoard';
import { badJsonAnswer, isRefused, RATINGS_IMAGE_PREFIX, takeRatingsFault } from './ratingsFaults';
import { isAnswer, json, type Answer, type Route, type RouteRequest } from './router';
import type { StandinState } from './state';
import type { StandinUser } from './users';
import { checkBody, parseJsonBody, type BodySpec } from './validate';

/**
 * The ratings API (https://ratings.aihorde.net/api/v1, HORDE-PROTOCOL.md §4.1), mounted at
 * `/api/v1` so `ratingsApiUrl` points here. Its server's source is not public: paths and shapes
 * follow its clients (TS SDK, ArtBot, horde_sdk); errors are `{message}` without `rc`.
 *
 * Stand-in conventions (the real behaviour is UNCONFIRMED):
 * - every `validationEvery`-th image (default 10th) is a validation ("captcha") image whose
 *   `/rating/new` answer carries `instruction`; the board records whether it was obeyed;
 * - reward 5 per rating, +5 when `artifacts` is given, 0 for the anonymous key and for a
 *   validation image answered otherwise than instructed (ratingsBoard.ts);
 * - a second rating of one image by one user is 403 "You have already rated this image";
 *   `ratingsRefuse` ids are 403 as well (ArtBot's "skip this image");
 * - the key is needed only to rate (401 without one); reads are anonymous.
 * The general faults (5xx, 429, slowMs) apply here as everywhere; the ratings switches are in
 * ratingsFaults.ts.
 */

const RATING_SPEC: BodySpec = {
  rating: { type: 'integer', required: true, min: 1, max: 10 },
  artifacts: { type: 'integer', min: 0, max: 5 },
};

const ANONYMOUS_KEY = '0000000000';

function message(status: number, text: string): Answer {
  return json(status, { message: text });
}

/** The `/rating/new` answer; `instruction` only on validation images. */
function newImageBody(state: StandinState, image: RatingsImage): Record<string, unknown> {
  const body: Record<string, unknown> = { id: image.id, url: imageUrl(state, image.id), dataset_id: image.datasetId };
  if (image.validation) body.instruction = instructionFor(image.validation);
  return body;
}

function imageUrl(state: StandinState, id: string): string {
  return `${state.board.baseUrl}${RATINGS_IMAGE_PREFIX}/${id}.webp`;
}

function issue(req: RouteRequest, state: StandinState): Answer {
  const datasetId = req.params.dataset ?? RATINGS_DATASETS[0]?.id ?? '';
  if (!RATINGS_DATASETS.some((d) => d.id === datasetId)) return message(404, 'Dataset not found');
  return json(200, newImageBody(state, state.ratings.issue(datasetId, req.params.model ?? null)));
}

const datasets: Route<StandinState> = { method: 'GET', pattern: 'datasets', handle: () => json(200, RATINGS_DATASETS) };
const newImage: Route<StandinState> = { method: 'GET', pattern: 'rating/new', handle: issue };
const newImageOfDataset: Route<StandinState> = { method: 'GET', pattern: 'rating/new/:dataset', handle: issue };
const newImageOfModel: Route<StandinState> = { method: 'GET', pattern: 'rating/new/:dataset/:model', handle: issue };

/** `POST /rating/{image_id}`: body checked first (as flask-restx does), then the key, then the image. */
const submit: Route<StandinState> = {
  method: 'POST',
  pattern: 'rating/:id',
  handle(req, state) {
    const board = state.ratings;
    const body = parseJsonBody(req.body);
    const invalid = isAnswer(body) ? body : checkBody(body, RATING_SPEC);
    if (invalid || isAnswer(body)) {
      board.counters.invalid += 1;
      return invalid ?? json(400, { message: 'Input payload validation failed' });
    }
    const key = req.header('apikey');
    if (!key) return message(401, 'An API key is required to rate images. Use 0000000000 to rate anonymously.');
    const user = state.users.byKey(key);
    if (!user) return message(401, 'Invalid API key');
    const image = board.images.get(req.params.id ?? '');
    if (!image) return message(404, 'Image not found');

    board.noteSubmit(image, user.id, req.receivedAt);
    // A client that got any answer and then sends again has really sent the rating twice.
    return { ...judge(state, image, user, key, body), onSent: () => board.noteAnswered(image, user.id) };
  },
};

/** The verdict on a submit that reached an image: refused, a repeat, or a rating kept. */
function judge(state: StandinState, image: RatingsImage, user: StandinUser, key: string, body: Record<string, unknown>): Answer {
  const board = state.ratings;
  if (isRefused(state.faults.current(), image.id)) {
    board.counters.refused += 1;
    return message(403, 'This image is not available for rating any more');
  }
  if (image.ratings.some((r) => r.userId === user.id)) {
    board.counters.duplicates += 1;
    return message(403, 'You have already rated this image');
  }

  const rating = body.rating as number;
  const artifacts = typeof body.artifacts === 'number' ? body.artifacts : null;
  const obeyed = image.validation ? answersInstruction(image.validation, rating, artifacts) : true;
  const anonymous = key === ANONYMOUS_KEY;
  const reward = rewardFor(anonymous, artifacts, !obeyed);
  const username = typeof user.details.username === 'string' ? user.details.username : `user#${user.id}`;
  board.accept(image, { userId: user.id, username, rating, artifacts, reward }, obeyed);
  const text = anonymous ? 'Rating submitted. Log in to receive kudos for ratings.' : 'Rating submitted';
  return json(200, { reward, message: text });
}

/** `GET /image/ratings/{image_id}?format=json|html` (json when absent, a stand-in choice). */
const imageRatings: Route<StandinState> = {
  method: 'GET',
  pattern: 'image/ratings/:id',
  handle(req, state) {
    const image = state.ratings.images.get(req.params.id ?? '');
    if (!image) return message(404, 'Image not found');
    const ratings = image.ratings.map(({ username, rating, artifacts }) => ({ username, rating, artifacts }));
    const sum = ratings.reduce((total, r) => total + r.rating, 0);
    const average = ratings.length ? Math.round((sum / ratings.length) * 100) / 100 : null;
    const body = {
      total: ratings.length,
      image: imageUrl(state, image.id),
      image_id: image.id,
      average,
      times_rated: ratings.length,
      ratings,
    };
    if (req.query.get('format') === 'html') {
      const rows = ratings.map((r) => `<tr><td>${r.username}</td><td>${r.rating}</td><td>${r.artifacts ?? ''}</td></tr>`).join('');
      const page = `<!doctype html><html><body><img src="${body.image}"><p>Rated ${ratings.length} times</p><table>${rows}</table></body></html>`;
      return { status: 200, body: null, raw: page, headers: { 'Content-Type': 'text/html; charset=utf-8' } };
    }
    return json(200, body);
  },
};

/** Applies `ratingsBadJson` after the route ran, so its side effects stand (ratingsFaults.ts). */
function withBadJsonFault(route: Route<StandinState>): Route<StandinState> {
  return {
    ...route,
    async handle(req, state) {
      const answer = await route.handle(req, state);
      const fault = takeRatingsFault(state.faults, 'ratingsBadJson');
      return fault ? badJsonAnswer(fault.kind ?? 'notJson', answer.status) : answer;
    },
  };
}

/** Every ratings API route; patterns are relative to `/api/v1`. */
export const ratingsV1Routes: readonly Route<StandinState>[] = [
  datasets,
  newImage,
  newImageOfDataset,
  newImageOfModel,
  submit,
  imageRatings,
].map(withBadJsonFault);
