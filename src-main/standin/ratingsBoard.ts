import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { unitHash } from './ratingsFaults';

// What the ratings stand-in remembers: the datasets, every image it handed out, and who rated
// what. The real service's source is not public (HORDE-PROTOCOL.md §4.1), so the shapes follow
// its clients and the amounts and anti-spam rules below are stand-in conventions.

/** One dataset as `GET /datasets` lists it. */
export interface RatingsDataset {
  id: string;
  name: string;
  description: string;
  image_count: number;
}

/** The two datasets; the first is the default of `GET /rating/new`. */
export const RATINGS_DATASETS: readonly RatingsDataset[] = [
  {
    id: '6e4c2a1b-7f3d-4c8e-9a5b-1d2e3f4a5b6c',
    name: 'Stand-in horde generations',
    description: 'Images as the horde shares them with LAION (stand-in data).',
    image_count: 1000,
  },
  {
    id: 'b1a9c8d7-2e3f-4a5b-8c6d-7e8f9a0b1c2d',
    name: 'Stand-in gallery',
    description: 'A second, smaller dataset so clients can pick one.',
    image_count: 250,
  },
];

/** The scores a validation image asks for. */
export interface ValidationTarget {
  rating: number;
  artifacts: number;
}

/** One accepted rating. */
export interface StoredRating {
  userId: number;
  username: string;
  rating: number;
  artifacts: number | null;
  reward: number;
}

/** One image handed out by `GET /rating/new`. */
export interface RatingsImage {
  id: string;
  datasetId: string;
  /** The model named in `/rating/new/{dataset}/{model}`, else null. */
  model: string | null;
  /** Set on validation ("captcha") images: what the user is told to answer. */
  validation: ValidationTarget | null;
  /** Accepted ratings in arrival order, at most one per user. */
  ratings: StoredRating[];
  /** Submits that reached the route for this id, per user id, whatever their outcome. */
  submitsByUser: Map<number, number>;
  /**
   * Per user id: when the first submit answer was written to the client (performance.now(); replayed
   * journal entries get negative times in their order). A submit that *arrived* after it is a true
   * duplicate; one that arrived earlier and reached the route late (a slow answer) is not.
   */
  answeredByUser: Map<number, number>;
  resubmitsAfterAnswer: number;
}

/** Counters since start (or the last reset). */
export interface RatingsCounters {
  issued: number;
  validationIssued: number;
  imagesServed: number;
  submits: number;
  accepted: number;
  duplicates: number;
  refused: number;
  invalid: number;
  validationPassed: number;
  validationFailed: number;
  rewards: number;
}

/** Kudos per accepted rating; the real amount is UNCONFIRMED (§3.6: examples say 5). */
export const REWARD_PER_RATING = 5;
/** Extra kudos when `artifacts` is given, as the main API's post-generation rating pays (§3.6). */
export const REWARD_FOR_ARTIFACTS = 5;

function zeroCounters(): RatingsCounters {
  return {
    issued: 0,
    validationIssued: 0,
    imagesServed: 0,
    submits: 0,
    accepted: 0,
    duplicates: 0,
    refused: 0,
    invalid: 0,
    validationPassed: 0,
    validationFailed: 0,
    rewards: 0,
  };
}

/** Settings of the ratings stand-in. */
export interface RatingsOptions {
  /** Every n-th issued image is a validation image; 0 turns them off. Default 10. */
  validationEvery?: number;
  /**
   * A journal file (JSON lines) that keeps images and ratings across stand-in restarts, as the
   * real service keeps them: read at start, appended before each answer. Counters of refused,
   * duplicate and invalid submits are not kept. Default: in memory only.
   */
  stateFile?: string;
}

/** One line of the journal: the state changes, in order. */
type JournalEntry =
  | { t: 'issue'; datasetId: string; model: string | null }
  | { t: 'submit'; id: string; userId: number }
  | { t: 'answered'; id: string; userId: number }
  | { t: 'accept'; id: string; rating: StoredRating; obeyed: boolean }
  | { t: 'reset' };

/** The ratings service's state in one stand-in instance. */
export class RatingsBoard {
  readonly images = new Map<string, RatingsImage>();
  counters: RatingsCounters = zeroCounters();
  validationEvery = 10;
  // Bumped on reset so ids never repeat within one stand-in, while the validation cadence
  // (which counts issued images) starts over.
  private epoch = 0;

  private journalPath: string | null = null;

  configure(options: RatingsOptions = {}): void {
    if (options.validationEvery !== undefined) this.validationEvery = Math.max(0, Math.floor(options.validationEvery));
    if (options.stateFile !== undefined && options.stateFile !== this.journalPath) this.openJournal(options.stateFile);
  }

  /** Mints the next image of a dataset; every `validationEvery`-th one is a validation image. */
  issue(datasetId: string, model: string | null): RatingsImage {
    this.write({ t: 'issue', datasetId, model });
    this.counters.issued += 1;
    const seq = this.counters.issued;
    const id = uuidFrom(`rating-image:${this.epoch}:${seq}`);
    const isValidation = this.validationEvery > 0 && seq % this.validationEvery === 0;
    const validation = isValidation ? validationTarget(id) : null;
    if (validation) this.counters.validationIssued += 1;
    const image: RatingsImage = {
      id,
      datasetId,
      model,
      validation,
      ratings: [],
      submitsByUser: new Map(),
      answeredByUser: new Map(),
      resubmitsAfterAnswer: 0,
    };
    this.images.set(id, image);
    return image;
  }

  /** Counts a submit that reached an image (whatever its outcome). */
  noteSubmit(image: RatingsImage, userId: number, receivedAt: number = performance.now()): void {
    this.write({ t: 'submit', id: image.id, userId });
    const answeredAt = image.answeredByUser.get(userId);
    if (answeredAt !== undefined && receivedAt > answeredAt) image.resubmitsAfterAnswer += 1;
    image.submitsByUser.set(userId, (image.submitsByUser.get(userId) ?? 0) + 1);
    this.counters.submits += 1;
  }

  /** Notes that the answer to a user's submit reached the client's socket. */
  noteAnswered(image: RatingsImage, userId: number, at: number = performance.now()): void {
    this.write({ t: 'answered', id: image.id, userId });
    if (!image.answeredByUser.has(userId)) image.answeredByUser.set(userId, at);
  }

  /** Keeps an accepted rating; `obeyed` says whether a validation image was answered as told. */
  accept(image: RatingsImage, rating: StoredRating, obeyed: boolean): void {
    this.write({ t: 'accept', id: image.id, rating, obeyed });
    if (image.validation) this.counters[obeyed ? 'validationPassed' : 'validationFailed'] += 1;
    image.ratings.push(rating);
    this.counters.accepted += 1;
    this.counters.rewards += rating.reward;
  }

  /** Forgets every image and zeroes the counters. */
  reset(): void {
    this.write({ t: 'reset' });
    this.images.clear();
    this.counters = zeroCounters();
    this.epoch += 1;
  }

  /** Appends one change to the journal before it takes effect (nothing without a journal). */
  private write(entry: JournalEntry): void {
    if (this.journalPath) appendFileSync(this.journalPath, `${JSON.stringify(entry)}\n`);
  }

  /**
   * Replays a journal into this (fresh) board, then appends to it. Ids are derived from the
   * issue sequence, so replaying the issues mints the same ids and later ones never repeat them.
   * A torn last line (a crash mid-append) is ignored.
   */
  private openJournal(path: string): void {
    this.journalPath = null;
    if (existsSync(path)) {
      const lines = readFileSync(path, 'utf8').split('\n');
      // Replayed events keep their order, all before anything that arrives from now on.
      let replayAt = -lines.length - 1;
      for (const line of lines) {
        replayAt += 1;
        let entry: JournalEntry;
        try {
          entry = JSON.parse(line) as JournalEntry;
        } catch {
          continue;
        }
        const image = 'id' in entry ? this.images.get(entry.id) : undefined;
        if (entry.t === 'issue') this.issue(entry.datasetId, entry.model);
        else if (entry.t === 'reset') this.reset();
        else if (entry.t === 'submit' && image) this.noteSubmit(image, entry.userId, replayAt);
        else if (entry.t === 'answered' && image) this.noteAnswered(image, entry.userId, replayAt);
        else if (entry.t === 'accept' && image) this.accept(image, entry.rating, entry.obeyed);
      }
    } else {
      mkdirSync(dirname(path), { recursive: true });
    }
    this.journalPath = path;
  }
}

/**
 * The instruction a validation image carries in its `/rating/new` answer. The real service's
 * captcha mechanics are UNCONFIRMED (§4.1 only knows that such images "tell the user which
 * score to give"); the field name `instruction` and this wording are stand-in conventions.
 */
export function instructionFor(target: ValidationTarget): string {
  return `Rate this image ${target.rating} for aesthetics and ${target.artifacts} for artifacts`;
}

/** Whether a rating obeys a validation image: both scores as told, artifacts not left out. */
export function answersInstruction(target: ValidationTarget, rating: number, artifacts: number | null): boolean {
  return rating === target.rating && artifacts === target.artifacts;
}

/** The kudos for an accepted rating: nothing for the anonymous account or a failed captcha. */
export function rewardFor(anonymous: boolean, artifacts: number | null, failedValidation: boolean): number {
  if (anonymous || failedValidation) return 0;
  return REWARD_PER_RATING + (artifacts === null ? 0 : REWARD_FOR_ARTIFACTS);
}

// Varied targets (not always "8 and 0") so a client that guesses instead of showing the
// instruction is caught.
function validationTarget(id: string): ValidationTarget {
  const h = unitHash(`validation:${id}`);
  return { rating: 1 + Math.floor(h * 10), artifacts: Math.floor(unitHash(`artifacts:${id}`) * 6) };
}

/** A UUID-shaped id (version 4 layout) derived from a string, so runs are reproducible. */
function uuidFrom(seed: string): string {
  const hex = createHash('sha256').update(seed).digest('hex');
  const variant = ((Number.parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
