import type { UserDetails, WorkerDetails } from '../../common/horde';
import type { KudosReconcile, KudosReconcileRow } from '../../common/kudosViews';
import { creditHoldText, type CreditHold } from './jobCredit';
import type { KudosSource } from './ledger';
import type { JobLedgerSummary } from './queries';

/** What the reconciliation compares: the ledger's all-time totals and the horde's records. */
export interface ReconcileInput {
  ledgerTotals: Record<KudosSource, number>;
  /** The ledger's job rows, added up (core/kudos/queries.ts `summarizeJobCredits`). */
  jobs: JobLedgerSummary;
  /** Set while the horde is known not to credit this worker's jobs. */
  creditHold?: CreditHold | null;
  user: UserDetails | null;
  worker: WorkerDetails | null;
  /** Share of a job's reward the horde credits to this worker program (0.75 for HordeDesk). */
  bridgeMultiplier: number;
  /** The owner's trust; null when unknown (then the user/worker record decides, if any). */
  trusted: boolean | null;
  now: Date;
  /** Why the horde could not be asked (no API key, offline…), when it could not. */
  problem?: string | null;
}

export const RECONCILE_LABELS = {
  job: 'Job rewards',
  uptime: 'Uptime kudos',
  rating: 'Rating rewards',
  spendable: 'Spendable kudos',
} as const;

const round = (n: number): number => Math.round(n * 100) / 100;
const fmt = (n: number): string => round(n).toLocaleString('en-US', { maximumFractionDigits: 2 });
/** Differences this small are rounding (the horde keeps whole kudos in places). */
const tolerance = (expected: number): number => Math.max(1, Math.abs(expected) * 0.02);

type Agreement = 'same' | 'horde-more' | 'horde-less';
function compare(horde: number, expected: number): Agreement {
  const diff = horde - expected;
  if (Math.abs(diff) <= tolerance(expected)) return 'same';
  return diff > 0 ? 'horde-more' : 'horde-less';
}

const LAG =
  'The horde adds kudos a moment after they are earned and its figures can be up to 30 seconds old, so the newest ones may not show there yet.';

/** What the job row says of the ledger's own figures: the share credited and the horde's rounding. */
function jobLedgerWords(jobs: JobLedgerSummary, multiplier: number): string[] {
  const pct = Math.round(multiplier * 100);
  const count = `${jobs.count} job${jobs.count === 1 ? '' : 's'}`;
  const parts = [
    pct === 100
      ? `The ledger books what the horde credits for each finished job, which here is all of the reward it announced (${fmt(jobs.credited)} for ${count}).`
      : `The ledger books what the horde credits for each finished job: ${pct}% of the reward it announced, since HordeDesk is not the horde's own worker program (${fmt(jobs.credited)} of the ${fmt(jobs.announced)} announced for ${count}).`,
    `The horde keeps a worker's kudos in whole numbers and rounds each job's credit on its own (4.68 becomes 5, 3.62 becomes 4), so it should show ${fmt(jobs.hordeRounded)}.`,
  ];
  const fakes = jobs.notCredited;
  if (fakes.count > 0)
    parts.push(
      `${fakes.count} job${fakes.count === 1 ? '' : 's'} came while a moderator had paused this worker: the horde announced ${fmt(fakes.announced)} for ${fakes.count === 1 ? 'it' : 'them'} but credits nothing for a paused worker's jobs, so the ledger books 0.`,
    );
  return parts;
}

/** Why the horde's job figure differs from the rounded one the ledger expects. */
function jobGapWords(horde: number, expected: number): string {
  const diff = round(horde - expected);
  // The horde's figure is whole kudos: within half a kudo it is the same number.
  if (Math.abs(diff) < 0.5) return 'It does: the two agree.';
  if (diff > 0)
    return `The horde shows ${fmt(diff)} more: it also pays for jobs this ledger never saw a reward for (a request cancelled while this worker was on it, a submit whose answer was lost, another machine or program using the same worker name).`;
  return `The horde shows ${fmt(-diff)} less. ${LAG} A job the horde rejected afterwards is not credited either.`;
}

function jobRow(input: ReconcileInput, trusted: boolean | null, missing: string): KudosReconcileRow {
  const jobs = input.jobs;
  const worker = input.worker;
  const horde = worker ? round(worker.kudos_details?.generated ?? 0) : null;
  const parts = jobLedgerWords(jobs, input.bridgeMultiplier);
  parts.push(horde === null ? missing : jobGapWords(horde, jobs.hordeRounded));
  if (trusted === false)
    parts.push(
      'Your account is not trusted yet, so the horde holds about half of your job kudos in escrow for about a week before you can spend them. They are counted here, but missing from your spendable kudos until they are released.',
    );
  else if (trusted === true) parts.push('Your account is trusted, so job kudos can be spent right away.');
  else
    parts.push(
      'HordeDesk could not tell whether your account is trusted. New accounts get about half of their job kudos held back for about a week.',
    );
  return { label: RECONCILE_LABELS.job, local: round(jobs.credited), horde, explanation: parts.join(' ') };
}

function uptimeRow(input: ReconcileInput, trusted: boolean | null, missing: string): KudosReconcileRow {
  const local = round(input.ledgerTotals.uptime);
  const worker = input.worker;
  const horde = worker ? round(worker.kudos_details?.uptime ?? 0) : null;
  const parts: string[] = [];
  const models = worker?.models?.length;
  const lora = worker?.['lora'] === true;
  const perTen = models === undefined ? null : 50 + 2 * models + (lora ? 30 : 0);
  parts.push(
    perTen === null
      ? 'The horde pays uptime kudos by itself for every 10 minutes the worker stays online (50, plus 2 per model, plus 30 with LoRAs), and never tells the worker program when it does.'
      : `The horde pays uptime kudos by itself: ${fmt(perTen)} for every 10 minutes the worker stays online (50, plus 2 for each of its ${models} model${models === 1 ? '' : 's'}${lora ? ', plus 30 for LoRAs' : ''}), and never tells the worker program when it does.`,
  );
  parts.push(
    'HordeDesk only learns of them by reading the worker record, so its ledger can trail behind the horde. The program share does not apply to uptime.',
  );
  if (horde === null) parts.push(missing);
  else {
    const agreement = compare(horde, local);
    if (agreement === 'same') parts.push('The two agree.');
    else if (agreement === 'horde-more')
      parts.push(
        `The horde shows ${fmt(horde - local)} more, which the ledger has not picked up (yet), or which was earned before HordeDesk kept its ledger.`,
      );
    else parts.push(`The horde shows ${fmt(local - horde)} less. ${LAG}`);
  }
  if (trusted === false) parts.push('While your account is not trusted, all uptime kudos go to escrow for about a week.');
  return { label: RECONCILE_LABELS.uptime, local, horde, explanation: parts.join(' ') };
}

function ratingRow(input: ReconcileInput, missingUser: string): KudosReconcileRow {
  const local = round(input.ledgerTotals.rating);
  const user = input.user;
  const horde = user ? round(user.kudos_details.awarded ?? 0) : null;
  const parts = [
    'The ratings service pays for each image you rate through the horde, which books it as "awarded". That figure also includes kudos for rating your own generated images afterwards, and ratings made before HordeDesk kept its ledger or elsewhere, so it is often higher.',
  ];
  if (horde === null) parts.push(missingUser);
  else {
    const agreement = compare(horde, local);
    if (agreement === 'same') parts.push('The two agree.');
    else if (agreement === 'horde-more') parts.push(`Here the horde shows ${fmt(horde - local)} more.`);
    else parts.push(`The horde shows ${fmt(local - horde)} less. ${LAG}`);
  }
  return { label: RECONCILE_LABELS.rating, local, horde, explanation: parts.join(' ') };
}

function spendableRow(input: ReconcileInput, trusted: boolean | null, missingUser: string): KudosReconcileRow {
  const user = input.user;
  const horde = user ? round(user.kudos) : null;
  const parts = [
    'What you can spend right now: everything you earned, minus what you spent on your own images, plus gifts and transfers. The ledger only counts earnings, so there is nothing to compare it with.',
    'The horde keeps balances in whole kudos and never lets one fall below its floor (25 kudos for most accounts, 14 for pseudonymous ones): spending that would take it lower is forgiven, so a new account can hold more than it earned minus what it spent.',
  ];
  const accumulated = user?.kudos_details.accumulated;
  if (accumulated !== undefined)
    parts.push(`The horde's "accumulated" figure (${fmt(accumulated)}) mixes earnings and spending, so it is not compared either.`);
  if (trusted === false) parts.push('Kudos held in escrow are not included until they are released.');
  if (horde === null) parts.push(missingUser);
  return { label: RECONCILE_LABELS.spendable, local: null, horde, explanation: parts.join(' ') };
}

/**
 * HordeDesk's ledger next to the horde's numbers, row by row, with why they differ
 * (PRODUCT.md "My kudos don't match"; HORDE-PROTOCOL.md §3).
 */
export function reconcile(input: ReconcileInput): KudosReconcile {
  const available = input.user !== null || input.worker !== null;
  const problem = input.problem?.trim() ? input.problem.trim() : null;
  const message = available ? null : (problem ?? 'HordeDesk could not read your numbers from the horde.');
  const trusted = input.trusted ?? input.user?.trusted ?? input.worker?.trusted ?? null;
  const why = problem ? ` (${problem})` : '';
  const missingWorker = input.worker
    ? ''
    : `The horde's figure is not available${why}: the worker record appears once the worker has asked the horde for jobs.`;
  const missingUser = `The horde's figure is not available${why}: it needs your API key and a connection to the horde.`;
  const pct = Math.round(input.bridgeMultiplier * 100);
  const notes = [
    'The horde keeps its answers about users and workers for up to 30 seconds, and adds up balances in the background, which can lag a little more. If the numbers look off right after a job, check again in a minute.',
    'The ledger counts only what this copy of HordeDesk saw. Kudos earned on other machines, with other programs or before the ledger started only show on the horde side.',
    `The horde credits ${pct}% of each job's announced reward to workers run by HordeDesk (only the newest version of the horde's own worker program gets the full amount); the ledger books that share and keeps the announced reward beside it. Uptime and rating kudos are paid in full.`,
    'HordeDesk cannot see how many of your kudos are held in escrow: the horde only shows that to its moderators.',
  ];
  if (input.creditHold) notes.unshift(creditHoldText(input.creditHold));
  return {
    checkedAt: input.now.toISOString(),
    available,
    message,
    rows: [
      jobRow(input, trusted, missingWorker),
      uptimeRow(input, trusted, missingWorker),
      ratingRow(input, missingUser),
      spendableRow(input, trusted, missingUser),
    ],
    notes,
  };
}
