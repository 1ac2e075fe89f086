import type { RatingHistory, RatingRow } from '../../common/ratings';

/** An image in the local rating cache. */
export interface CachedImage {
  imageId: string;
  datasetId: string | null;
  instruction: string | null;
  file: string;
  mime: string;
}

/** A rating not yet accepted by the service. */
export interface PendingRating {
  imageId: string;
  rating: number;
  artifacts: number | null;
  ratedAt: number;
  /** 'sending' after a crash means: it may have arrived; ask the service before sending again. */
  state: 'pending' | 'sending';
}

export interface HistoryFilter {
  limit: number;
  offset: number;
  state: 'all' | 'pending' | 'sent' | 'refused';
  minRating: number;
  maxRating: number;
}

/** The SQLite side of rating: cache index, queue, ratings, ledger rows (node/rating/ratingStore.ts). */
export interface RatingStorePort {
  queued(count: number): CachedImage[];
  queuedCount(): number;
  /** The image if it is waiting for a rating; undefined once rated or skipped. */
  queuedImage(imageId: string): CachedImage | undefined;
  has(imageId: string): boolean;
  addImage(image: CachedImage & { bytes: number; fetchedAt: number }): void;
  /** Writes the rating durably and takes the image off the queue, in one transaction. */
  rate(imageId: string, rating: number, artifacts: number | null, at: number, thumbnail: Uint8Array | null): void;
  /** Removes the newest rating if it is still pending and puts its image first in the queue. */
  undoLast(): string | null;
  skip(imageId: string): void;
  pending(limit: number): PendingRating[];
  pendingCount(): number;
  markSending(imageId: string): void;
  /** Marks it sent and books the reward in the kudos ledger, in one transaction. */
  markSent(imageId: string, reward: number, at: number): void;
  markRefused(imageId: string, reason: string): void;
  /**
   * Notes why a send failed. `maybeArrived`: no answer came back (timeout, dropped connection),
   * so the service may have taken it; the rating stays `sending` and the next try asks first.
   */
  noteProblem(imageId: string, reason: string, maybeArrived?: boolean): void;
  history(
    filter: HistoryFilter,
  ): Omit<RatingHistory, 'rows'> & { rows: (Omit<RatingRow, 'thumbnail'> & { thumbnail: Uint8Array | null })[] };
  /** Every rating, oldest first, for export. */
  all(): Omit<RatingRow, 'thumbnail'>[];
  /** Cached files no longer needed: rated and synced, or skipped. */
  removable(): { imageId: string; file: string }[];
  forgetFile(imageId: string): void;
}

/** Image bytes on disk. */
export interface ImageCachePort {
  write(imageId: string, bytes: Uint8Array, mime: string): string;
  dataUrl(file: string, mime: string): string | null;
  thumbnail(file: string): Promise<Uint8Array | null>;
  remove(file: string): void;
}

/** The ratings service as the rater needs it (core/rating/client.ts + node/rating/imageFetch.ts). */
export interface RatingsRemotePort {
  newImage(datasetId: string | null): Promise<{ id: string; url: string; datasetId: string | null; instruction: string | null }>;
  fetchImage(url: string): Promise<{ bytes: Uint8Array; mime: string }>;
  submit(imageId: string, rating: number, artifacts: number | null): Promise<{ reward: number }>;
  /** Usernames that rated this image, to learn whether a rating sent before a crash arrived. */
  ratedBy(imageId: string): Promise<string[]>;
  /** The user's name as the service records it; null when unknown. */
  username(): Promise<string | null>;
  /** 'refused' (403), 'gone' (404/410), 'wait' (429), 'stop' (401), 'retry' (anything transient). */
  /** `unanswered`: the request got no answer at all (it may or may not have reached the service). */
  classify(error: unknown): {
    kind: 'refused' | 'gone' | 'wait' | 'stop' | 'retry';
    retryAfterMs: number | null;
    message: string;
    unanswered?: boolean;
  };
}
