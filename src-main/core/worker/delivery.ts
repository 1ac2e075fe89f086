import { backoffMs, type BackoffPolicy } from '../backoff';
import { submitOutcome, isRetryable } from '../horde/client';
import { HordeApiError, HordeProtocolError, HordeUnreachableError } from '../horde/errors';
import type { HordeJob } from './job';
import type { JobRecord, RawImage, WorkerDeps } from './ports';

/** How long one PUT to R2 may take (reGen uses 10 s). */
const UPLOAD_TIMEOUT_MS = 20_000;
/** Extra time granted to a faulted submit after the ttl: the horde still wants to hear it. */
const FAULT_GRACE_MS = 30_000;
/** Waits between upload and submit retries: 1 s, 2 s, 4 s, 8 s (the job's deadline is near), or Retry-After up to 5 minutes. */
export const DELIVERY_RETRY: BackoffPolicy = { baseMs: 1_000, capMs: 8_000, retryAfterCapMs: 5 * 60_000 };

/** A 4xx from R2 (an expired or wrong signature) will not heal by retrying; anything else may. */
function uploadRetryable(error: unknown): boolean {
  const status = (error as { status?: unknown }).status;
  return !(typeof status === 'number' && status >= 400 && status < 500);
}

type Outcome = { kind: 'reward'; reward: number } | { kind: 'dropped'; reason: string };

/** What became of one popped job, for the stats. */
export interface Delivered {
  ids: readonly string[];
  state: 'ok' | 'faulted' | 'dropped';
  reason: string | null;
  rewards: number;
  /** width·height·steps·images / 10⁶ of what was generated (0 when faulted). */
  megapixelsteps: number;
}

export interface DeliveryHooks {
  onDelivered(result: Delivered): void;
}

/** What the job log says of a job before its outcome is known: what the horde asked for, and when. */
export type JobDescription = Omit<JobRecord, 'state' | 'reason' | 'reward' | 'finishedAt' | 'generationMs'>;

/** The job-log row of a pop whose payload could not be read: ids are all HordeDesk knows. */
function unreadable(ids: readonly string[], now: number): JobDescription {
  return { jobId: ids[0] ?? 'unknown', model: 'unknown', sampler: 'unknown', width: 0, height: 0, steps: 0, poppedAt: now };
}

/** The job log's description of a job that was read. */
function describe(job: HordeJob): JobDescription {
  const { width, height, steps } = job.params;
  return { jobId: job.ids[0] as string, model: job.model, sampler: job.samplerName, width, height, steps, poppedAt: job.receivedAt };
}

/** Retries `action` with backoff while it fails retryably and the deadline allows. */
async function withRetry<T>(
  deps: WorkerDeps,
  what: string,
  deadline: number,
  action: () => Promise<T>,
  retryable: (error: unknown) => boolean = isRetryable,
): Promise<T> {
  const { clock, log } = deps;
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await action();
    } catch (error) {
      const wait = backoffMs(DELIVERY_RETRY, attempt, (error as { retryAfterMs?: number | null }).retryAfterMs);
      if (!retryable(error) || clock.now() + wait >= deadline) throw error;
      log.warn(`${what} failed (${error instanceof Error ? error.message : String(error)}); retry ${attempt + 1} in ${wait} ms`);
      await clock.sleep(wait);
    }
  }
}

/** Submits one generation (or fault) with retries until the deadline; never throws. */
async function submit(deps: WorkerDeps, body: Parameters<WorkerDeps['horde']['submit']>[0], deadline: number): Promise<Outcome> {
  // Whether an attempt went out and no answer came back (a timeout, a dropped connection, an
  // unreadable answer): the horde may have booked it.
  let mayHaveArrived = false;
  const attempt = async () => {
    try {
      return await deps.horde.submit(body);
    } catch (error) {
      if (error instanceof HordeUnreachableError || error instanceof HordeProtocolError) mayHaveArrived = true;
      throw error;
    }
  };
  try {
    const { reward } = await withRetry(deps, `submit of ${body.id}`, deadline, attempt);
    return { kind: 'reward', reward };
  } catch (error) {
    // The retry of a submit that did arrive meets the first one: delivered, reward not known.
    if (mayHaveArrived && error instanceof HordeApiError && error.rc === 'DuplicateGen') {
      deps.log.info(
        `submit of ${body.id}: an earlier attempt had arrived (its answer was lost), so the horde has it; the reward is not known here`,
      );
      return { kind: 'reward', reward: 0 };
    }
    const verdict = submitOutcome(error);
    const reason = error instanceof Error ? error.message : String(error);
    if (verdict === 'drop') return { kind: 'dropped', reason: `the horde refused the result: ${reason}` };
    return { kind: 'dropped', reason: `could not submit before the deadline: ${reason}` };
  }
}

/** Encodes one image, uploads it to its presigned URL (inline as base64 when there is none or it keeps failing) and submits it. */
async function deliverImage(deps: WorkerDeps, job: HordeJob, index: number, image: RawImage): Promise<Outcome> {
  const id = job.ids[index] as string;
  const bytes = await deps.delivery.encodeWebp(image);
  let generation = 'R2';
  const url = job.r2Uploads[index];
  if (url) {
    try {
      await withRetry(deps, `upload of ${id}`, job.deadlineAt, () => deps.delivery.upload(url, bytes, UPLOAD_TIMEOUT_MS), uploadRetryable);
    } catch (error) {
      // The horde also accepts the image inline and uploads it itself: slower, but not lost.
      deps.log.warn(`upload of ${id} kept failing (${error instanceof Error ? error.message : String(error)}); sending it inline`);
      generation = deps.delivery.base64(bytes);
    }
  } else generation = deps.delivery.base64(bytes);
  return submit(deps, { id, generation, state: 'ok', seed: image.seed }, job.deadlineAt);
}

/** The delivery half of the worker; see createDelivery. */
export interface Delivery {
  /** Delivers a generated job in the background. */
  deliver(job: HordeJob, images: RawImage[], generationMs: number): void;
  /** Reports the job's ids as faulted (the horde requeues them) in the background. */
  fault(job: HordeJob, reason: string): void;
  /** Faults ids from a pop whose payload could not be read (no usable job object). */
  faultIds(ids: string[], reason: string, deadline: number): void;
  /** Resolves once every delivery under way, and any started meanwhile, has ended. */
  drain(): Promise<void>;
}

/**
 * The second half of a job: WebP, upload to each presigned URL (or base64 when there is none, or
 * when the upload keeps failing), submit, record the reward in the ledger before anything else
 * hears of it, and write the job log. Faulted jobs are reported honestly with `state: faulted`.
 * Every delivery runs beside the next generation; `drain()` waits for all of them.
 */
export function createDelivery(deps: WorkerDeps, hooks: DeliveryHooks): Delivery {
  const { clock, log } = deps;
  const running = new Set<Promise<void>>();

  function track(work: Promise<void>): void {
    const tracked = work.catch((error: unknown) => log.error('delivery failed unexpectedly', error)).finally(() => running.delete(tracked));
    running.add(tracked);
  }

  function record(
    ids: readonly string[],
    row: JobDescription,
    state: Delivered['state'],
    reason: string | null,
    reward: number,
    generationMs: number,
  ): void {
    deps.jobLog.record({ ...row, state, reason, reward, finishedAt: clock.now(), generationMs });
    const megapixelsteps = state === 'ok' ? (row.width * row.height * row.steps * ids.length) / 1e6 : 0;
    hooks.onDelivered({ ids, state, reason, rewards: reward, megapixelsteps });
  }

  async function deliverJob(job: HordeJob, images: RawImage[], generationMs: number): Promise<void> {
    let rewards = 0;
    let problem: string | null = null;
    for (const [index, id] of job.ids.entries()) {
      const image = images[index];
      if (!image) {
        await submit(deps, { id, generation: 'faulted', state: 'faulted', seed: job.seed }, job.deadlineAt + FAULT_GRACE_MS);
        problem ??= 'the engine returned fewer images than the job asked for';
        continue;
      }
      const outcome = await deliverImage(deps, job, index, image);
      if (outcome.kind === 'reward') {
        // On disk before the UI or the stats hear of it: a crash cannot lose a reward.
        if (outcome.reward > 0)
          deps.ledger.record({ source: 'job', amount: outcome.reward, at: clock.now(), hordeRef: id, detail: job.model });
        rewards += outcome.reward;
      } else problem ??= outcome.reason;
    }
    record(job.ids, describe(job), problem ? 'dropped' : 'ok', problem, rewards, generationMs);
  }

  /** Reports each id as faulted (the horde requeues it) and logs the job. */
  async function faultIds(ids: readonly string[], seed: number, deadline: number, row: JobDescription, reason: string): Promise<void> {
    for (const id of ids) {
      const outcome = await submit(deps, { id, generation: 'faulted', state: 'faulted', seed }, deadline + FAULT_GRACE_MS);
      if (outcome.kind === 'dropped') log.warn(`faulted submit of ${id} not accepted: ${outcome.reason}`);
    }
    record(ids, row, 'faulted', reason, 0, 0);
  }

  return {
    deliver(job: HordeJob, images: RawImage[], generationMs: number): void {
      track(deliverJob(job, images, generationMs));
    },
    fault(job: HordeJob, reason: string): void {
      track(faultIds(job.ids, job.seed, job.deadlineAt, describe(job), reason));
    },
    /** Faults ids from a pop whose payload could not be read (no usable job object). */
    faultIds(ids: string[], reason: string, deadline: number): void {
      track(faultIds(ids, 0, deadline, unreadable(ids, clock.now()), reason));
    },
    async drain(): Promise<void> {
      while (running.size) await Promise.all([...running]);
    },
  };
}
