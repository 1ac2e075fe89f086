import { HordeApiError, HordeMissingKeyError, HordeProtocolError, HordeUnreachableError, MAINTENANCE_RCS } from './errors';

// How the worker loop reacts to a failed horde call, decided in one place so the loop never
// matches on message text (reGen does, and breaks when the horde rewords a sentence).

/** What to do with an image whose submit failed. */
export type SubmitOutcome = 'drop' | 'stop' | 'retry';

/**
 * Submit rcs after which the image is gone for good: the job expired (InvalidJobID), it was
 * already submitted (DuplicateGen), the horde timed it out (AbortedGen), or this key does not own
 * the worker (WrongCredentials). Retrying any of them only repeats the answer.
 */
const DROP_RCS: readonly string[] = ['InvalidJobID', 'DuplicateGen', 'AbortedGen', 'WrongCredentials'];

/**
 * True when a pop was refused because the worker (403 WorkerMaintenance) or its owner's account
 * (403 WorkerFlaggedMaintenance) is in maintenance. The error's `hordeMessage` keeps the horde's
 * sentence, which carries the owner's or the moderators' maintenance message. A 403 without rc
 * whose text says "maintenance" counts too, for proxies or horde versions that drop the rc.
 */
export function isMaintenanceError(error: unknown): error is HordeApiError {
  if (!(error instanceof HordeApiError) || error.status !== 403) return false;
  if (error.rc !== undefined) return MAINTENANCE_RCS.includes(error.rc);
  return /maintenance/i.test(error.hordeMessage ?? '');
}

/**
 * True when the same call may succeed later: no answer (network, timeout), a 5xx, a 429, or an
 * answer we could not read (a captive portal or a proxy's page is usually temporary). Wait at
 * least `retryAfterMs` of a 429 when it is set; see {@link retryAfterMsOf}.
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof HordeUnreachableError || error instanceof HordeProtocolError) return true;
  if (error instanceof HordeApiError) return error.status === 429 || error.status >= 500;
  return false;
}

/** The wait the horde asked for (from `Retry-After`), or undefined when it did not say. */
export function retryAfterMsOf(error: unknown): number | undefined {
  return error instanceof HordeApiError ? error.retryAfterMs : undefined;
}

/**
 * Classifies a failed submit: 'drop' the image (the horde will never take it), 'stop' the worker
 * (the key is missing or rejected: every later call fails the same way and the user must act), or
 * 'retry' with backoff (anything else, including errors we do not recognise: a later attempt that
 * the horde already counted answers DuplicateGen and is then dropped).
 */
export function submitOutcome(error: unknown): SubmitOutcome {
  if (error instanceof HordeMissingKeyError) return 'stop';
  if (error instanceof HordeApiError) {
    if (error.status === 401) return 'stop';
    if (error.rc !== undefined && DROP_RCS.includes(error.rc)) return 'drop';
  }
  return 'retry';
}
