import { jobRewardEvent } from '../kudos/jobCredit';
import { deliverImage, deliveryPlan, FAULT_GRACE_MS, type JobDelivery } from './deliverImage';
import type { HordeJob } from './job';
import type { JobRecord, RawImage, WorkerDeps } from './ports';
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
    let dropped = false;
    const delivery: JobDelivery = { plan: deliveryPlan(job.deadlineAt), r2Problem: null };
    for (const [index, id] of job.ids.entries()) {
      const image = images[index];
      if (!image) {
        const fault = await submit(deps, { id, generation: 'faulted', state: 'faulted', seed: job.seed }, delivery.plan.faultUntil);
        dropped ||= fault.kind === 'failed';
        problem ??= 'the engine returned fewer images than the job asked for';
        continue;
      }
      const outcome = await deliverImage(deps, job, index, image, delivery);
      if (outcome.kind === 'reward') {
        // On disk before the UI or the stats hear of it: a crash cannot lose a reward. The ledger
        // books what the horde credits (core/kudos/jobCredit.ts); the announced figure goes beside it.
        if (outcome.reward > 0) {
          const reward = { announced: outcome.reward, at: clock.now(), hordeRef: id, detail: job.model };
          const event = jobRewardEvent(reward, deps.ledger.creditHold());
          deps.ledger.record(event);
          rewards += event.amount;
        }
      } else {
        problem ??= outcome.reason;
        dropped ||= outcome.kind === 'dropped';
      }
    }
    // Dropped when an image was neither delivered nor reported; faulted when one was reported faulted.
    record(job.ids, describe(job), problem ? (dropped ? 'dropped' : 'faulted') : 'ok', problem, rewards, generationMs);
  }

  /** Reports each id as faulted (the horde requeues it) and logs the job. */
  async function faultIds(ids: readonly string[], seed: number, deadline: number, row: JobDescription, reason: string): Promise<void> {
    for (const id of ids) {
      const outcome = await submit(deps, { id, generation: 'faulted', state: 'faulted', seed }, deadline + FAULT_GRACE_MS);
      if (outcome.kind === 'failed') log.warn(`faulted submit of ${id} not accepted: ${outcome.reason}`);
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
