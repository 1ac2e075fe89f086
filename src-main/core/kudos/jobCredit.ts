import type { KudosEvent } from './ledger';

// What the horde really credits for a job (HORDE-PROTOCOL.md §2.5, §2.8, §3.1): the submit answer
// announces the job's value before the bridge's share; the horde books value × the bridge's
// multiplier to the worker and its owner, and keeps a worker's kudos as a whole number.

/**
 * Share of a job's announced reward the horde credits to a worker program that is not its own
 * reGen worker, HordeDesk included (§2.8: non-official bridges earn ×0.75, listed or not).
 */
export const HORDEDESK_BRIDGE_MULTIPLIER = 0.75;

const round2 = (n: number): number => Math.round(n * 100) / 100;

/** The credit of one job: the announced reward times the bridge's multiplier, to the cent. */
export function creditedShare(announced: number, multiplier: number = HORDEDESK_BRIDGE_MULTIPLIER): number {
  return round2(announced * multiplier);
}

/**
 * Why the ledger books nothing for a job the horde answered with a reward: the horde was seen not
 * to credit this worker (a moderator's pause feeds it fake jobs whose rewards are never booked).
 */
export interface CreditHold {
  /** When the horde was first seen not crediting this worker's jobs, ms since the epoch. */
  since: number;
  /** How HordeDesk knows: the worker record says `paused`, or its job count stopped moving. */
  how: 'record' | 'credits';
}

/** The reason stored on a ledger row the horde did not credit. */
export const NOT_CREDITED_PAUSED = 'paused';

/** One job reward as the submit answer announced it. */
export interface JobReward {
  announced: number;
  at: number;
  /** The job id. */
  hordeRef: string;
  /** The model, shown on the Kudos page. */
  detail?: string;
}

/**
 * The ledger row for a job: the credited share as `amount`, the announced reward beside it. While
 * the horde is known not to credit this worker, the row books 0 and says why.
 */
export function jobRewardEvent(reward: JobReward, hold: CreditHold | null, multiplier: number = HORDEDESK_BRIDGE_MULTIPLIER): KudosEvent {
  const base = { source: 'job' as const, at: reward.at, hordeRef: reward.hordeRef, announced: reward.announced, detail: reward.detail };
  if (hold) return { ...base, amount: 0, notCredited: NOT_CREDITED_PAUSED };
  return { ...base, amount: creditedShare(reward.announced, multiplier) };
}

/**
 * The horde's running total of a worker's job kudos after these credits, in order. The horde keeps
 * it in an integer column: each job adds its credit, rounds the sum to 2 decimals (Python `round`),
 * and the database rounds that to a whole kudo (half away from zero, as a numeric literal cast to
 * bigint does). So each job gains its credit rounded on its own: 4.68 → 5, 3.62 → 4.
 */
export function hordeWorkerTotal(credits: readonly number[], start = 0): number {
  let total = start;
  for (const credit of credits) total = Math.round(round2(total + credit));
  return total;
}

/** What the Dashboard and the Kudos page say while a hold is set (the page adds the time). */
export function creditHoldText(hold: CreditHold): string {
  const fakes =
    'It still hands this worker jobs and answers each one with a reward, but they are fakes it throws away and credits nothing, so HordeDesk books nothing for them.';
  const ask =
    "Only the horde's moderators can lift a pause: ask them (the AI Horde Discord) why. Pausing the worker here saves the GPU meanwhile.";
  if (hold.how === 'record') return `The horde says a moderator has paused this worker. ${fakes} ${ask}`;
  return `The horde has stopped crediting this worker's jobs: its worker record counts none of the jobs it answered with a reward. That is what a moderator's pause looks like, since the horde never tells a paused worker. ${fakes} ${ask}`;
}
