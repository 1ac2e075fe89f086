import type { ImageSubmit } from '../safety/submit';
import type { HordeJob } from './job';
import { mergeMetadata } from './jobSafety';
import { placeholderImage } from './placeholder';
import type { GenMetadataEntry, RawImage, SubmitBody, WorkerDeps } from './ports';
import { attemptMs, MIN_ATTEMPT_MS, submit, withRetry, type SubmitResult } from './submit';

// One image from WebP to the horde, inside its job's ttl. The time left is shared out so that a
// failing step gives up early enough for the next one: the uploads leave time for the inline
// fallback, and that leaves time to report the image faulted. A real horde with its R2 store down
// refuses both the uploads and the inline image (it stores inline images in R2 itself); retrying
// the upload until the ttl left the fallback no time and the job was aborted by the horde and
// counted against the worker (issue 12 item 7).

/** How long one PUT to R2 may take at most (reGen uses 10 s). */
const UPLOAD_TIMEOUT_MS = 20_000;
/** Extra time granted to a faulted submit after the ttl: the horde still wants to hear it. */
export const FAULT_GRACE_MS = 30_000;

/** The time kept at the end of a job's ttl for each fallback. */
export const DELIVERY_RESERVE = {
  /** For the faulted submit: the last thing sent, tiny, and heard before the ttl. */
  faultMs: 10_000,
  /** Before that, for the inline (base64) submit when the upload gave up. */
  inlineMs: 20_000,
} as const;

/** When each step of a job's delivery must be done by (local ms). */
export interface DeliveryPlan {
  /** Upload retries stop so the inline submit still fits. */
  uploadUntil: number;
  /** Submits of the image stop so the faulted submit still fits. */
  inlineUntil: number;
  /** A faulted submit's retries stop. */
  faultUntil: number;
}

/** Shares out the time before `deadlineAt` (the job's ttl) among upload, inline submit and fault. */
export function deliveryPlan(deadlineAt: number): DeliveryPlan {
  const inlineUntil = deadlineAt - DELIVERY_RESERVE.faultMs;
  return { uploadUntil: inlineUntil - DELIVERY_RESERVE.inlineMs, inlineUntil, faultUntil: deadlineAt + FAULT_GRACE_MS };
}

/** One job's delivery, shared by its images: once R2 has failed for one, the others go inline at once. */
export interface JobDelivery {
  plan: DeliveryPlan;
  /** Why uploads failed for an earlier image of the job; null while they work. */
  r2Problem: string | null;
}

/** What became of one image. */
export type ImageOutcome =
  | { kind: 'reward'; reward: number }
  /** Not delivered, and reported faulted: the horde re-queues it. */
  | { kind: 'faulted'; reason: string }
  /** Not delivered and not reported: the horde refused it for good, or would not take the fault either. */
  | { kind: 'dropped'; reason: string };

/** A 4xx from R2 (an expired or wrong signature) will not heal by retrying; anything else may. */
function uploadRetryable(error: unknown): boolean {
  const status = (error as { status?: unknown }).status;
  return !(typeof status === 'number' && status >= 400 && status < 500);
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** The horde keeps at most 50 entries per submit, each `ref` at most 255 characters (§2.5). */
const MAX_METADATA = 50;
const MAX_REF = 255;

/**
 * The requester is told of each change the engine made as reGen tells a parameter it had to
 * change: `{type: "information", value: "see_ref", ref: <what changed>}` (information entries do
 * not count as faults).
 */
export function changeMetadata(changes: readonly string[] | undefined): GenMetadataEntry[] | undefined {
  if (!changes?.length) return undefined;
  return changes.slice(0, MAX_METADATA).map((change) => ({ type: 'information', value: 'see_ref', ref: change.slice(0, MAX_REF) }));
}

/** PUTs the bytes to the image's presigned URL with retries until `plan.uploadUntil`; returns why it gave up, or null. */
async function upload(deps: WorkerDeps, id: string, url: string, bytes: Uint8Array, plan: DeliveryPlan): Promise<string | null> {
  if (deps.clock.now() + MIN_ATTEMPT_MS > plan.uploadUntil) return 'no time was left for an upload';
  try {
    const put = () => deps.delivery.upload(url, bytes, attemptMs(deps, plan.uploadUntil, UPLOAD_TIMEOUT_MS));
    await withRetry(deps, `upload of ${id}`, plan.uploadUntil, put, uploadRetryable);
    return null;
  } catch (error) {
    return messageOf(error);
  }
}

/** Uploads and submits "R2", or (no URL, or the upload gave up) submits the image inline; before `plan.inlineUntil`. */
async function sendImage(deps: WorkerDeps, body: Omit<SubmitBody, 'generation'>, url: string | null, bytes: Uint8Array, job: JobDelivery) {
  const { plan } = job;
  if (url && job.r2Problem === null) {
    const problem = await upload(deps, body.id, url, bytes, plan);
    if (problem === null) return submit(deps, { ...body, generation: 'R2' }, plan.inlineUntil);
    // The horde also accepts the image inline and uploads it itself: slower, but not lost.
    deps.log.warn(`upload of ${body.id} kept failing (${problem}); sending it inline`);
    job.r2Problem = problem;
  }
  if (deps.clock.now() + MIN_ATTEMPT_MS > plan.inlineUntil) {
    return { kind: 'failed', reason: 'no time was left to send it inline', final: false, mayHaveArrived: false } satisfies SubmitResult;
  }
  return submit(deps, { ...body, generation: deps.delivery.base64(bytes) }, plan.inlineUntil);
}

/** WebP, then {@link sendImage}; an image that cannot be encoded counts as not delivered (it is then faulted). */
async function encodeAndSend(
  deps: WorkerDeps,
  body: Omit<SubmitBody, 'generation'>,
  image: RawImage,
  url: string | null,
  job: JobDelivery,
): Promise<SubmitResult> {
  let bytes: Uint8Array;
  try {
    bytes = await deps.delivery.encodeWebp(image);
  } catch (error) {
    return { kind: 'failed', reason: `the image could not be encoded as WebP: ${messageOf(error)}`, final: false, mayHaveArrived: false };
  }
  return sendImage(deps, body, url, bytes, job);
}

/** An image the safety check let through as made, with nothing to add (hand-built deliveries in tests). */
const UNFLAGGED: ImageSubmit = { state: 'ok', censored: false, genMetadata: [], image: 'generated' };

/** The submit of one checked image: the job's safety state, the obsolete flag, the merged gen_metadata. */
function checkedBody(job: HordeJob, index: number, image: RawImage, safety: ImageSubmit): Omit<SubmitBody, 'generation'> {
  // What the job as a whole met (a source that could not be read or downloaded) comes first, as reGen sends its job faults.
  const notes = [...(job.notes ?? []), ...(changeMetadata(image.changes) ?? [])];
  const metadata = mergeMetadata(notes, safety.genMetadata, index, job.ids.length);
  const id = job.ids[index] as string;
  return { id, state: safety.state, censored: safety.censored, seed: image.seed, ...(metadata.length && { gen_metadata: metadata }) };
}

/** What goes to the horde: the image as made, or the placeholder card that replaces it (same size, same seed). */
function outgoingImage(image: RawImage, safety: ImageSubmit): RawImage {
  if (safety.image === 'generated' || safety.image === null) return image;
  return { ...placeholderImage(safety.image, image.width, image.height), seed: image.seed };
}

/**
 * Encodes one checked image (or the placeholder the safety check put in its place), uploads it to
 * its presigned URL (inline as base64 when there is none or it keeps failing) and submits it with
 * the state and gen_metadata the check decided. An image that cannot be delivered in time is
 * submitted as faulted, so the horde re-queues it now rather than aborting it at its ttl.
 */
export async function deliverImage(
  deps: WorkerDeps,
  job: HordeJob,
  index: number,
  image: RawImage,
  delivery: JobDelivery,
  safety: ImageSubmit = UNFLAGGED,
): Promise<ImageOutcome> {
  const id = job.ids[index] as string;
  const url = job.r2Uploads[index] ?? null;
  const body = checkedBody(job, index, image, safety);
  const sent = await encodeAndSend(deps, body, outgoingImage(image, safety), url, delivery);
  if (sent.kind === 'accepted') return { kind: 'reward', reward: sent.reward };
  const reason =
    url && delivery.r2Problem !== null ? `the upload to R2 kept failing (${delivery.r2Problem}), and inline ${sent.reason}` : sent.reason;
  if (sent.final) return { kind: 'dropped', reason };
  deps.log.warn(`image ${id} could not be delivered (${reason}); reporting it as faulted`);
  const fault = await submit(
    deps,
    { id, generation: 'faulted', state: 'faulted', seed: image.seed },
    delivery.plan.faultUntil,
    sent.mayHaveArrived,
  );
  // The faulted submit met the image itself: an attempt whose answer was lost had delivered it.
  if (fault.kind === 'accepted' && fault.earlier) return { kind: 'reward', reward: 0 };
  if (fault.kind === 'accepted') return { kind: 'faulted', reason: `could not deliver the image: ${reason}` };
  return { kind: 'dropped', reason: `${reason}; the faulted submit failed too: ${fault.reason}` };
}
