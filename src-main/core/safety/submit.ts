import type { GenMetadata, SubmitState } from '../../common/horde';
import type { Replacement, SafetyDecision } from './decision';

// What the submit of each image of a checked job says, as the reference worker sends it:
// horde-worker-reGen process_management/process_manager.py, HordeWorkerProcessManager
// `_handle_safety_result` (state and gen_metadata per image) and `submit_single_generation`
// (`state`, `censored`, `gen_metadata`; the image, or its replacement, uploaded as WebP to R2).
// Field meanings: ../shared/docs/HORDE-PROTOCOL.md lines 345-364.

/** An image whose check did not finish (the safety model failed on it). */
export interface FailedCheck {
  failed: true;
  error: unknown;
}

/** One image's safety result: a decision, or a check that failed. */
export type SafetyEvaluation = SafetyDecision | FailedCheck;

/** What to send for one image id. */
export interface ImageSubmit {
  /** The job's state: the reference sets one state for all images of a job. */
  state: SubmitState;
  /** The obsolete `censored` flag the reference still sends (the horde reads only gen_metadata). */
  censored: boolean;
  /** The safety entries of this image's gen_metadata; batch_index and download faults are added by delivery. */
  genMetadata: GenMetadata[];
  /** What to upload: the generated image, a placeholder, or nothing (a faulted submit carries no image). */
  image: 'generated' | Replacement | null;
}

/** Type guard: the check of this image failed. */
export function isFailedCheck(evaluation: SafetyEvaluation): evaluation is FailedCheck {
  return 'failed' in evaluation;
}

/** The job's state: csam over censored over ok (the reference's loop never lowers csam). */
function jobState(decisions: readonly SafetyDecision[]): SubmitState {
  if (decisions.some((decision) => decision.csam)) return 'csam';
  return decisions.some((decision) => decision.nsfw && decision.replacement) ? 'censored' : 'ok';
}

/** The reference's per-image entry: censorship/csam, censorship/nsfw when replaced, information/nsfw when delivered. */
function safetyEntry(decision: SafetyDecision): GenMetadata[] {
  if (decision.csam) return [{ type: 'censorship', value: 'csam' }];
  if (!decision.nsfw) return [];
  return [{ type: decision.replacement ? 'censorship' : 'information', value: 'nsfw' }];
}

/**
 * The submit of each image of one job, index-aligned with the evaluations. A check that failed
 * faults the whole job and sends no image. (The reference marks an image it could not even open
 * as CSAM and uploads it unreplaced, process_manager.py `_handle_safety_result`; HordeDesk never
 * sends an image it did not check, and `faulted` lets the horde give the job to another worker.)
 */
export function submitOutcomes(evaluations: readonly SafetyEvaluation[]): ImageSubmit[] {
  if (evaluations.some(isFailedCheck)) return evaluations.map(() => ({ state: 'faulted', censored: false, genMetadata: [], image: null }));
  const decisions = evaluations.filter((evaluation): evaluation is SafetyDecision => !isFailedCheck(evaluation));
  const state = jobState(decisions);
  const censored = decisions.some((decision) => decision.replacement !== null);
  return decisions.map((decision) => ({
    state,
    censored,
    genMetadata: safetyEntry(decision),
    image: decision.replacement ?? 'generated',
  }));
}
