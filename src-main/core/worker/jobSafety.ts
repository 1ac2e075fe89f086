import type { GenMetadata } from '../../common/horde';
import { evaluateImages, type SafetyImage } from '../safety/checker';
import type { SafetyContext } from '../safety/decision';
import { isFailedCheck, submitOutcomes, type ImageSubmit, type SafetyEvaluation } from '../safety/submit';
import type { DeliveryPlan } from './deliverImage';
import type { HordeJob } from './job';
import type { JobCensorship, WorkerDeps } from './ports';
import { MIN_ATTEMPT_MS } from './submit';

// The safety check of one generated job, before anything is uploaded (docs/safety.md): every
// image through the SimilarityPort (CLIP runs in its own thread), the decision and the submit of
// each image from core/safety, and the time it takes counted in the job's ttl. A check that fails
// or does not finish in time faults the job: an image nobody checked never leaves the machine.

/** The check must be done by then: one inline submit attempt still fits before the fault reserve. */
export function checkUntil(plan: DeliveryPlan): number {
  return plan.inlineUntil - MIN_ATTEMPT_MS;
}

/** What the check made of a job: each image's submit, index-aligned with the images, or why it failed. */
export type JobCheck = { kind: 'checked'; submits: ImageSubmit[]; censorship: JobCensorship | null } | { kind: 'failed'; reason: string };

/** The facts the decision reads: the prompt (negative after `###`), the model's entry, the request's and the worker's NSFW wishes. */
async function contextOf(deps: WorkerDeps, job: HordeJob): Promise<SafetyContext> {
  // An entry that cannot be read counts as no entry: the checker's stricter default for custom models.
  const model = await deps.modelSafetyInfo(job.model).catch(() => null);
  return { prompt: job.params.prompt, model, censorNsfw: job.nsfwCensor ?? false, workerNsfw: job.workerNsfw ?? false };
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Runs the check, or resolves 'late' at `until` (the port cannot be stopped; a late answer is ignored). */
async function evaluateBy(deps: WorkerDeps, job: HordeJob, images: readonly SafetyImage[], until: number) {
  let cancel = (): void => undefined;
  const late = new Promise<'late'>((resolve) => {
    cancel = deps.clock.setTimer(Math.max(0, until - deps.clock.now()), () => resolve('late'));
  });
  const evaluate = (async (): Promise<SafetyEvaluation[]> => evaluateImages(deps.safety, images, await contextOf(deps, job)))();
  try {
    return await Promise.race([evaluate, late]);
  } finally {
    cancel();
  }
}

/** The job's mark for the History and the stats: CSAM over censored NSFW. */
function censorshipOf(submits: readonly ImageSubmit[]): JobCensorship | null {
  const state = submits[0]?.state;
  return state === 'csam' ? 'csam' : state === 'censored' ? 'nsfw' : null;
}

/** The RGB planes the check looks at: an RGBA image (after strip_background) without its alpha, as PIL's convert("RGB") does. */
export function rgbForCheck(image: SafetyImage & { channels?: 3 | 4 }): SafetyImage {
  if ((image.channels ?? 3) === 3) return image;
  const rgba = new Uint8Array(image.rgb);
  const rgb = new Uint8Array(image.width * image.height * 3);
  for (let i = 0, j = 0; j < rgb.length; i += 4, j += 3) {
    rgb[j] = rgba[i] ?? 0;
    rgb[j + 1] = rgba[i + 1] ?? 0;
    rgb[j + 2] = rgba[i + 2] ?? 0;
  }
  return { width: image.width, height: image.height, rgb: rgb.buffer };
}

/** Checks every image of a generated job before `until`; never throws. */
export async function checkJobSafety(
  deps: WorkerDeps,
  job: HordeJob,
  images: readonly (SafetyImage & { channels?: 3 | 4 })[],
  until: number,
): Promise<JobCheck> {
  if (deps.clock.now() >= until) return { kind: 'failed', reason: 'no time was left for the safety check before the job deadline' };
  let evaluations: SafetyEvaluation[] | 'late';
  try {
    evaluations = await evaluateBy(deps, job, images.map(rgbForCheck), until);
  } catch (error) {
    return { kind: 'failed', reason: messageOf(error) };
  }
  if (evaluations === 'late') return { kind: 'failed', reason: 'it did not finish before the job deadline' };
  const failed = evaluations.find(isFailedCheck);
  if (failed) return { kind: 'failed', reason: messageOf(failed.error) };
  const submits = submitOutcomes(evaluations);
  return { kind: 'checked', submits, censorship: censorshipOf(submits) };
}

/** The horde keeps at most 50 entries per submit (§2.5). */
const MAX_METADATA = 50;

/**
 * One image's gen_metadata in the reference worker's order (process_manager.py: the generation's
 * own notes, then its safety entry, then `batch_index` for a batch): the changes the engine made,
 * the safety entry, and the image's place in a batch of more than one. Past 50 entries the notes
 * give way, never the safety entry.
 */
export function mergeMetadata(
  changes: readonly GenMetadata[],
  safety: readonly GenMetadata[],
  index: number,
  count: number,
): GenMetadata[] {
  const batch: GenMetadata[] = count > 1 ? [{ type: 'batch_index', value: 'see_ref', ref: String(index) }] : [];
  const room = Math.max(0, MAX_METADATA - safety.length - batch.length);
  return [...changes.slice(0, room), ...safety, ...batch];
}
