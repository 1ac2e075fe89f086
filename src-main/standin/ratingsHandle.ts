import { answersInstruction, instructionFor, type RatingsCounters, type ValidationTarget } from './ratingsBoard';
import type { StandinState } from './state';

// What tests see of the ratings side of the stand-in. Reads are snapshots: later requests do not
// change an object already returned.

/** One accepted rating of an image, as tests see it. */
export interface RatingInfo {
  userId: number;
  username: string;
  rating: number;
  artifacts: number | null;
  reward: number;
}

/** One image handed out by `GET /rating/new`, as tests see it. */
export interface RatingImageInfo {
  id: string;
  datasetId: string;
  model: string | null;
  /** Every submit that reached this image (after body, key and id checks), whatever its outcome. */
  submitCount: number;
  /** The same, per username. */
  submitsByUser: Record<string, number>;
  /** Submits that arrived after the same user's earlier submit had been answered: true duplicates. */
  resubmitsAfterAnswer: number;
  /** The first accepted rating's scores; null while nobody has rated it. */
  rating: number | null;
  artifacts: number | null;
  /** What a validation image asks for; null on ordinary images. */
  validation: ValidationTarget | null;
  /** The `instruction` its `/rating/new` answer carried; null on ordinary images. */
  instruction: string | null;
  /** Validation images: whether the first accepted rating obeyed; null before or on ordinary images. */
  answeredAsInstructed: boolean | null;
  ratings: RatingInfo[];
}

/** Totals since start or the last `resetRatings()`. */
export type RatingsStats = RatingsCounters & { images: number };

/** Options of {@link StandinRatingsApi.resetRatings}. */
export interface ResetRatingsOptions {
  /** New cadence of validation images; unchanged when absent. */
  validationEvery?: number;
}

/** The handle methods for the ratings side. */
export interface StandinRatingsApi {
  /** Every image handed out, oldest first. */
  ratings(): RatingImageInfo[];
  ratingsStats(): RatingsStats;
  /** Forgets images, ratings and counters (image ids never repeat within one stand-in). */
  resetRatings(options?: ResetRatingsOptions): void;
}

/** Builds the ratings handle methods over one stand-in's state. */
export function createRatingsApi(state: StandinState): StandinRatingsApi {
  const board = state.ratings;

  function usernameOf(userId: number): string {
    const name = state.users.byId(userId)?.details.username;
    return typeof name === 'string' ? name : `user#${userId}`;
  }

  return {
    ratings() {
      return [...board.images.values()].map((image) => {
        const first = image.ratings[0];
        const submitsByUser = Object.fromEntries([...image.submitsByUser].map(([userId, count]) => [usernameOf(userId), count]));
        const submitCount = [...image.submitsByUser.values()].reduce((a, b) => a + b, 0);
        const answered = image.validation && first ? answersInstruction(image.validation, first.rating, first.artifacts) : null;
        return {
          id: image.id,
          datasetId: image.datasetId,
          model: image.model,
          submitCount,
          submitsByUser,
          resubmitsAfterAnswer: image.resubmitsAfterAnswer,
          rating: first?.rating ?? null,
          artifacts: first?.artifacts ?? null,
          validation: image.validation ? { ...image.validation } : null,
          instruction: image.validation ? instructionFor(image.validation) : null,
          answeredAsInstructed: answered,
          ratings: image.ratings.map((r) => ({ ...r })),
        };
      });
    },
    ratingsStats: () => ({ ...board.counters, images: board.images.size }),
    resetRatings(options = {}) {
      board.reset();
      board.configure(options);
    },
  };
}
