import type { WorkerDetails } from '../../common/horde';
import { creditedShare, HORDEDESK_BRIDGE_MULTIPLIER, NOT_CREDITED_PAUSED, type CreditHold } from './jobCredit';

// Does the horde credit the jobs it answers with a reward? A moderator can pause a worker without
// telling it (HORDE-PROTOCOL.md §2.7 item 8): the horde then hands it fake jobs, answers each
// submit with a reward, and credits nothing. Only moderators see `paused` in the worker record, so
// HordeDesk also watches what the owner can see: the record's `requests_fulfilled`, which counts
// every job the horde credited. Rewarded jobs old enough to show there while the count stands
// still mean the horde is not crediting them; the ledger then books 0 for them, and books real
// credits again once the count moves.

/** How long after a submit the worker record surely counts it: 30 s of caching plus the horde's background booking. */
export const RECORD_LAG_MS = 90_000;
/** Rewarded jobs that must go uncounted before HordeDesk concludes the horde credits nothing. */
export const UNCOUNTED_JOBS_FOR_PAUSE = 2;

/**
 * What the check remembers: the last reading at which the record's job count moved (or the first
 * one), and the pause it concluded. Every job booked since then is one the count has not shown.
 */
export interface CreditWatchState {
  workerName: string;
  readAt: number;
  /** The record's `requests_fulfilled` then. */
  fulfilled: number;
  hold: CreditHold | null;
}

/** One job row of the ledger, as the check sees it. */
export interface WatchedJob {
  hordeRef: string;
  at: number;
  announced: number;
  notCredited: string | null;
}

/** A job row booked anew: credited at `amount`, or not credited (amount 0) for `notCredited`. */
export interface CreditChange {
  hordeRef: string;
  amount: number;
  notCredited: string | null;
}

/** The check's storage (SQLite in node/kudos/creditWatchStore.ts). */
export interface CreditWatchPort {
  state(): CreditWatchState | null;
  /** Job rows granted after `afterMs`, oldest first. */
  jobsAfter(afterMs: number): WatchedJob[];
  /** Books the changed rows anew and saves the state, in one transaction. */
  commit(changes: readonly CreditChange[], state: CreditWatchState): void;
}

/** One reading of the worker record. */
export interface WorkerReading {
  workerName: string;
  at: number;
  fulfilled: number;
  /** The record's `paused`: only present for a moderator's key; null when absent. */
  paused: boolean | null;
}

/** The reading a worker record gives, or null when it lacks the job count. */
export function readingOf(details: WorkerDetails, workerName: string, at: number): WorkerReading | null {
  const fulfilled = details.requests_fulfilled;
  if (typeof fulfilled !== 'number' || !Number.isFinite(fulfilled)) return null;
  return { workerName, at, fulfilled, paused: typeof details.paused === 'boolean' ? details.paused : null };
}

/** The pause as of this reading, from the record's `paused` when shown, else from the job count since the baseline. */
function holdAfter(prev: CreditWatchState, reading: WorkerReading, window: readonly WatchedJob[], moved: number): CreditHold | null {
  const since = prev.hold?.since ?? window[0]?.at ?? reading.at;
  if (reading.paused === true) return prev.hold?.how === 'record' ? prev.hold : { since, how: 'record' };
  if (reading.paused === false || moved > 0) return null;
  // Jobs booked after the last reading and long enough ago that this record must count them.
  const due = window.filter((job) => job.at <= reading.at - RECORD_LAG_MS).length;
  if (prev.hold) return prev.hold;
  return due >= UNCOUNTED_JOBS_FOR_PAUSE ? { since, how: 'credits' } : null;
}

/**
 * Which rows since the last reading the horde credited. While paused, the `moved` jobs it counted
 * came first (before the pause); after a pause is lifted, they are the newest. Otherwise nothing
 * changes: a count that lags behind the ledger is the horde's caching, not a missing credit.
 */
function changesFor(
  window: readonly WatchedJob[],
  moved: number,
  hold: CreditHold | null,
  wasHeld: boolean,
  multiplier: number,
): CreditChange[] {
  if (!hold && !wasHeld) return [];
  const credited = new Set<WatchedJob>(hold ? window.slice(0, moved) : window.slice(Math.max(0, window.length - moved)));
  const changes: CreditChange[] = [];
  for (const job of window) {
    const wanted = credited.has(job);
    if (wanted && job.notCredited !== null)
      changes.push({ hordeRef: job.hordeRef, amount: creditedShare(job.announced, multiplier), notCredited: null });
    else if (!wanted && job.notCredited === null) changes.push({ hordeRef: job.hordeRef, amount: 0, notCredited: NOT_CREDITED_PAUSED });
  }
  return changes;
}

/** What one check concluded. */
export interface CreditCheck {
  hold: CreditHold | null;
  /** Job rows booked anew (their kudos changed). */
  rebooked: number;
  /** Whether the pause started or ended with this reading. */
  holdChanged: boolean;
}

/**
 * Compares a worker record reading with the jobs the ledger booked since the last one, and books
 * anew what the horde did not credit (or credited after all). The first reading, and the first
 * after the worker name changed, only sets the baseline (and a pause the record shows).
 */
export function checkCredit(port: CreditWatchPort, reading: WorkerReading, multiplier = HORDEDESK_BRIDGE_MULTIPLIER): CreditCheck {
  const prev = port.state();
  const fresh = { workerName: reading.workerName, readAt: reading.at, fulfilled: reading.fulfilled };
  // A count that went down is another record under the same name (deleted and made anew): start over.
  if (!prev || prev.workerName !== reading.workerName || reading.fulfilled < prev.fulfilled) {
    const hold: CreditHold | null = reading.paused ? { since: reading.at, how: 'record' } : null;
    port.commit([], { ...fresh, hold });
    return { hold, rebooked: 0, holdChanged: (hold === null) !== ((prev?.hold ?? null) === null) };
  }
  const window = port.jobsAfter(prev.readAt);
  const moved = reading.fulfilled - prev.fulfilled;
  const hold = holdAfter(prev, reading, window, moved);
  const changes = changesFor(window, moved, hold, prev.hold !== null, multiplier);
  // The baseline moves on only with the count, so jobs booked since it stay in view.
  const baseline = moved > 0 ? fresh : { workerName: prev.workerName, readAt: prev.readAt, fulfilled: prev.fulfilled };
  port.commit(changes, { ...baseline, hold });
  return { hold, rebooked: changes.length, holdChanged: (hold === null) !== (prev.hold === null) };
}
