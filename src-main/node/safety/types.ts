import type { SimilarityPort } from '../../core/safety/checker';

/**
 * Where the safety model stands: `missing` (not installed: the worker must not pop), `loading`
 * (installed, the towers and word features are being prepared), `ready`, or `failed` (it would
 * not load; `reason` says why, and the next `ensureLoaded()` tries again).
 */
export type SafetyStatus =
  | { state: 'missing'; reason: string }
  | { state: 'loading'; reason: string }
  | { state: 'ready'; reason: string }
  | { state: 'failed'; reason: string };

/**
 * The safety check's CLIP model as the worker sees it: similarities for an image (one image-tower
 * run in a worker thread, then dot products against cached text features), and whether it can run.
 */
export interface SafetyService extends SimilarityPort {
  /** What the model is doing now; cheap, never blocks. */
  status(): SafetyStatus;
  /** Loads the model (and its word-list features) if it is not loaded; rejects with the reason when it cannot be. */
  ensureLoaded(): Promise<void>;
}
