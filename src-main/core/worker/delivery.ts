import { jobRewardEvent } from '../kudos/jobCredit';
import { deliverImage, deliveryPlan, FAULT_GRACE_MS, type ImageOutcome, type JobDelivery } from './deliverImage';
import type { HordeJob } from './job';
import { kindLabel } from './jobKinds';
import { postProcessingLabel } from './postProcessing';
import { addonsLabel } from '../lora/addons';
import { checkJobSafety, checkUntil } from './jobSafety';
import type { JobCensorship, JobRecord, RawImage, WorkerDeps } from './ports';
import { submit } from './submit';

export { DELIVERY_RETRY } from './submit';

/** What became of one popped job, for the stats. */
export interface Delivered {
  ids: readonly string[];
  state: 'ok' | 'faulted' | 'dropped';
  reason: string | null;
  /** Kudos the horde credited for it (the ledger's figure, not the announced one). */
  rewards: number;
  /** width·height·steps·images / 10⁶ of what was generated (0 when faulted). */
  megapixelsteps: number;
  /** What the safety check replaced: NSFW censored, or an image flagged as CSAM; null when nothing. */
  censorship: JobCensorship | null;
}

export interface DeliveryHooks {
  onDelivered(result: Delivered): void;
}

/** What the job log says of a job before its outcome is known: what the horde asked for, and when. */
export type JobDescription = Omit<JobRecord, 'state' | 'reason' | 'reward' | 'finishedAt' | 'generationMs' | 'censorship'>;

/** How a job ended, for the job log and the stats. */
interface JobEnd {
  state: Delivered['state'];
  reason: string | null;
  reward: number;
  generationMs: number;
  censorship: JobCensorship | null;
}

/** The job's state from its images: dropped when one was neither delivered nor reported, faulted when one was reported faulted. */
function endState(problem: string | null, dropped: boolean): Delivered['state'] {
  return problem ? (dropped ? 'dropped' : 'faulted') : 'ok';
}

/** The job-log row of a pop whose payload could not be read: ids are all HordeDesk knows. */
function unreadable(ids: readonly string[], now: number): JobDescription {
  return {
    jobId: ids[0] ?? 'unknown',
    model: 'unknown',
    sampler: 'unknown',
    width: 0,
    height: 0,
    steps: 0,
    poppedAt: now,
    kind: null,
    postProcessing: null,
    addons: null,
  };
}

/** The job log's description of a job that was read; `ran`: the post-processors that ran on its images. */
function describe(job: HordeJob, ran: readonly string[] = []): JobDescription {
  const { width, height, steps } = job.params;
  return {
    jobId: job.ids[0] as string,
    model: job.model,
    sampler: job.samplerName,
    width,
    height,
    steps,
    poppedAt: job.receivedAt,
    kind: kindLabel(job.params),
    postProcessing: postProcessingLabel(ran),
    addons: addonsLabel(job.addons, job.fetchedAddons),
  };
}

/** The delivery half of the worker; see createDelivery. */
export interface Delivery {
  /** Delivers a generated (and post-processed: `postProcessed` names what ran) job in the background. */
  deliver(job: HordeJob, images: RawImage[], generationMs: number, postProcessed?: readonly string[]): void;
  /** Reports the job's ids as faulted (the horde requeues them) in the background. */
  fault(job: HordeJob, reason: string): void;
  /** Faults ids from a pop whose payload could not be read (no usable job object). */
  faultIds(ids: string[], reason: string, deadline: number): void;
  /** Resolves once every delivery under way, and any started meanwhile, has ended. */
  drain(): Promise<void>;
}

/** What a job's delivery is done with: the worker's ports and whom to tell. */
interface DeliveryContext {
  deps: WorkerDeps;
  hooks: DeliveryHooks;
}

/** Writes the job log row, then tells the worker (stats, status). */
function record({ deps, hooks }: DeliveryContext, ids: readonly string[], row: JobDescription, end: JobEnd): void {
  const { state, reason, reward, generationMs, censorship } = end;
  deps.jobLog.record({ ...row, state, reason, reward, finishedAt: deps.clock.now(), generationMs, censorship });
  const megapixelsteps = state === 'ok' ? (row.width * row.height * row.steps * ids.length) / 1e6 : 0;
  hooks.onDelivered({ ids, state, reason, rewards: reward, megapixelsteps, censorship });
}

/** Books a delivered image's reward: on disk before the UI or the stats hear of it, so a crash cannot lose it. */
function book(deps: WorkerDeps, job: HordeJob, id: string, announced: number): number {
  if (announced <= 0) return 0;
  // The ledger books what the horde credits (core/kudos/jobCredit.ts); the announced figure goes beside it.
  const event = jobRewardEvent({ announced, at: deps.clock.now(), hordeRef: id, detail: job.model }, deps.ledger.creditHold());
  deps.ledger.record(event);
  return event.amount;
}

/** Says in the log what the safety check replaced; the image itself is never logged or kept. */
function noteCensorship(deps: WorkerDeps, job: HordeJob, censorship: JobCensorship | null): void {
  if (censorship === 'csam')
    deps.log.warn(`job ${job.ids[0]}: the safety check flagged an image as possible CSAM; it was replaced and never leaves this machine`);
  else if (censorship === 'nsfw')
    deps.log.info(`job ${job.ids[0]}: the safety check found NSFW; the censored placeholder was sent instead`);
}

/** Reports each id as faulted (the horde requeues it) and logs the job. */
async function faultIds(ctx: DeliveryContext, ids: readonly string[], seed: number, deadline: number, row: JobDescription, reason: string) {
  for (const id of ids) {
    const outcome = await submit(ctx.deps, { id, generation: 'faulted', state: 'faulted', seed }, deadline + FAULT_GRACE_MS);
    if (outcome.kind === 'failed') ctx.deps.log.warn(`faulted submit of ${id} not accepted: ${outcome.reason}`);
  }
  record(ctx, ids, row, { state: 'faulted', reason, reward: 0, generationMs: 0, censorship: null });
}

/** An id the engine returned no image for: reported faulted (dropped when even that fails). */
async function faultMissing(deps: WorkerDeps, job: HordeJob, id: string, delivery: JobDelivery): Promise<ImageOutcome> {
  const fault = await submit(deps, { id, generation: 'faulted', state: 'faulted', seed: job.seed }, delivery.plan.faultUntil);
  const reason = 'the engine returned fewer images than the job asked for';
  return fault.kind === 'failed' ? { kind: 'dropped', reason } : { kind: 'faulted', reason };
}

/** Safety check first (its time counts in the ttl, before uploads, the inline fallback and the fault), then each image. */
async function deliverJob(
  ctx: DeliveryContext,
  job: HordeJob,
  images: RawImage[],
  generationMs: number,
  ran: readonly string[],
): Promise<void> {
  const { deps } = ctx;
  const delivery: JobDelivery = { plan: deliveryPlan(job.deadlineAt), r2Problem: null };
  const check = await checkJobSafety(deps, job, images, checkUntil(delivery.plan));
  if (check.kind === 'failed') {
    deps.log.warn(`job ${job.ids[0]}: the safety check failed (${check.reason}); reporting the job as faulted`);
    return faultIds(ctx, job.ids, job.seed, job.deadlineAt, describe(job, ran), `the safety check failed: ${check.reason}`);
  }
  noteCensorship(deps, job, check.censorship);
  let rewards = 0;
  let problem: string | null = null;
  let dropped = false;
  for (const [index, id] of job.ids.entries()) {
    const image = images[index];
    const outcome = image
      ? await deliverImage(deps, job, index, image, delivery, check.submits[index])
      : await faultMissing(deps, job, id, delivery);
    if (outcome.kind === 'reward') rewards += book(deps, job, id, outcome.reward);
    else {
      problem ??= outcome.reason;
      dropped ||= outcome.kind === 'dropped';
    }
  }
  const end = { state: endState(problem, dropped), reason: problem, reward: rewards, generationMs, censorship: check.censorship };
  record(ctx, job.ids, describe(job, ran), end);
}

/**
 * The second half of a job: the safety check, WebP (of the image, or of the placeholder the check
 * put in its place), upload to each presigned URL (or base64 when there is none, or when the
 * upload keeps failing), submit, record the reward in the ledger before anything else hears of it,
 * and write the job log. Faulted jobs are reported honestly with `state: faulted`. Every delivery
 * runs beside the next generation; `drain()` waits for all of them.
 */
export function createDelivery(deps: WorkerDeps, hooks: DeliveryHooks): Delivery {
  const ctx: DeliveryContext = { deps, hooks };
  const running = new Set<Promise<void>>();
  const track = (work: Promise<void>): void => {
    const tracked = work
      .catch((error: unknown) => deps.log.error('delivery failed unexpectedly', error))
      .finally(() => running.delete(tracked));
    running.add(tracked);
  };
  return {
    deliver: (job, images, generationMs, postProcessed = []) => track(deliverJob(ctx, job, images, generationMs, postProcessed)),
    fault: (job, reason) => track(faultIds(ctx, job.ids, job.seed, job.deadlineAt, describe(job), reason)),
    faultIds: (ids, reason, deadline) => track(faultIds(ctx, ids, 0, deadline, unreadable(ids, deps.clock.now()), reason)),
    async drain(): Promise<void> {
      while (running.size) await Promise.all([...running]);
    },
  };
}
