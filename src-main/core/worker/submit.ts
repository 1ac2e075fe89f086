import { backoffMs, type BackoffPolicy } from '../backoff';
import { isRetryable, submitOutcome } from '../horde/client';
import { HordeApiError, HordeProtocolError, HordeUnreachableError } from '../horde/errors';
import type { SubmitBody, WorkerDeps } from './ports';

/** Waits between upload and submit retries: 1 s, 2 s, 4 s, 8 s (the job's deadline is near), or Retry-After up to 5 minutes. */
export const DELIVERY_RETRY: BackoffPolicy = { baseMs: 1_000, capMs: 8_000, retryAfterCapMs: 5 * 60_000 };
/** An attempt with less time than this before its deadline is not started: it could not finish. */
export const MIN_ATTEMPT_MS = 2_000;
/** How long one submit may take at most (the horde client's own default). */
const SUBMIT_TIMEOUT_MS = 20_000;

/** The time one attempt may take: up to `maxMs`, never past `deadline` (but at least {@link MIN_ATTEMPT_MS}). */
export function attemptMs(deps: Pick<WorkerDeps, 'clock'>, deadline: number, maxMs: number): number {
  return Math.max(MIN_ATTEMPT_MS, Math.min(maxMs, deadline - deps.clock.now()));
}

/** Retries `action` with backoff while it fails retryably and a next attempt still fits before the deadline. */
export async function withRetry<T>(
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
      if (!retryable(error) || clock.now() + wait + MIN_ATTEMPT_MS > deadline) throw error;
      log.warn(`${what} failed (${error instanceof Error ? error.message : String(error)}); retry ${attempt + 1} in ${wait} ms`);
      await clock.sleep(wait);
    }
  }
}

/** What became of one submit, retries included. */
export type SubmitResult =
  | {
      kind: 'accepted';
      reward: number;
      /** The horde already had this id from an attempt whose answer was lost (it met DuplicateGen). */
      earlier: boolean;
    }
  | {
      kind: 'failed';
      reason: string;
      /** The horde will never take this id (the job is gone, or the key is refused): nothing more to send. */
      final: boolean;
      /** An attempt went out and no answer came back (a timeout, a dropped connection): the horde may have it. */
      mayHaveArrived: boolean;
    };

/**
 * Submits one generation (or fault) with retries until `deadline`; never throws. `mayHaveArrived`
 * says an earlier submit of the same id may have reached the horde, so a DuplicateGen means the
 * horde has the image.
 */
export async function submit(deps: WorkerDeps, body: SubmitBody, deadline: number, mayHaveArrived = false): Promise<SubmitResult> {
  let lost = mayHaveArrived;
  const attempt = async () => {
    try {
      return await deps.horde.submit(body, { timeoutMs: attemptMs(deps, deadline, SUBMIT_TIMEOUT_MS) });
    } catch (error) {
      if (error instanceof HordeUnreachableError || error instanceof HordeProtocolError) lost = true;
      throw error;
    }
  };
  try {
    const { reward } = await withRetry(deps, `submit of ${body.id}`, deadline, attempt);
    return { kind: 'accepted', reward, earlier: false };
  } catch (error) {
    // The retry of a submit that did arrive meets the first one: delivered, reward not known.
    if (lost && error instanceof HordeApiError && error.rc === 'DuplicateGen') {
      deps.log.info(
        `submit of ${body.id}: an earlier attempt had arrived (its answer was lost), so the horde has it; the reward is not known here`,
      );
      return { kind: 'accepted', reward: 0, earlier: true };
    }
    const reason = error instanceof Error ? error.message : String(error);
    if (submitOutcome(error) !== 'retry')
      return { kind: 'failed', reason: `the horde refused the result: ${reason}`, final: true, mayHaveArrived: lost };
    return { kind: 'failed', reason: `could not submit before the deadline: ${reason}`, final: false, mayHaveArrived: lost };
  }
}
