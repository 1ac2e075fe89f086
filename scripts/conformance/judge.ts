import type { PoppedJob, SubmittedJob } from './capture';
import type { RequestCheck } from './requester';
import type { ConformanceRow, OutcomeKind, RequestRow, TotalRow } from './rows';

// Turns what a run observed into the table: what became of each request (from the requester's
// counts and the jobs the worker exchanged), whether that is what issue 12 says should happen,
// and the kudos the horde announced beside what HordeDesk booked and the horde credited.

/** What the run saw of one request row. */
export interface RowRun {
  row: RequestRow;
  /** Why the horde refused to queue it; null when queued. */
  refused: string | null;
  /** The last counts read; null when never read. */
  check: RequestCheck | null;
  /** The job ids the worker was handed for it. */
  jobs: PoppedJob[];
  /** The last submit of each of those ids. */
  submits: Map<string, SubmittedJob>;
  /** What HordeDesk's ledger holds for those ids. */
  booked: number;
}

/** One image the horde took: the reward its submit answer announced, and what HordeDesk booked for it. */
export interface Delivery {
  announced: number;
  /** null when the ledger has no row for it. */
  booked: number | null;
}

/** Whole-run figures for the total rows. */
export interface RunTotals {
  deliveries: Delivery[];
  /** The bridge multiplier the horde applies to HordeDesk's rewards (0.75: not an official bridge). */
  multiplier: number;
  /** What the horde credited the worker for generations (`kudos_details.generated` after − before); null if unread. */
  credited: number | null;
  /** Jobs the horde counted as dropped (`uncompleted_jobs` after − before); null if unread. */
  uncompleted: number | null;
  /** Whether the worker ended in maintenance. */
  maintenance: boolean;
}

/** The sums of a run's deliveries. */
export function kudosSums(totals: RunTotals): { announced: number; booked: number } {
  const sum = (pick: (d: Delivery) => number) => round2(totals.deliveries.reduce((acc, d) => acc + pick(d), 0));
  return { announced: sum((d) => d.announced), booked: sum((d) => d.booked ?? 0) };
}

/** One line of the table. */
export interface RowResult {
  id: string;
  label: string;
  expected: string;
  got: string;
  announced: number | null;
  booked: number | null;
  pass: boolean;
  /** The row differs but `--allow-known-gaps` names it. */
  allowed: boolean;
  /** The row is named in `--allow-known-gaps` but passes: the gap is closed. */
  gapClosed: boolean;
  item?: string;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/**
 * Whether the seeds add up: the horde sent the requested seed (a number as it is, modulo 2³²), and
 * each image reports the seed it was made with. For image i of a batch that is the sent seed
 * (what the reference worker reports) or the sent seed + i (HordeDesk makes each image of a batch
 * from its own seed, so each can be made again alone).
 */
function seedProblem(run: RowRun): string | null {
  const requested = String(run.row.body.params.seed ?? '');
  for (const job of run.jobs) {
    const submit = run.submits.get(job.id);
    if (!submit || submit.state !== 'ok') continue;
    const sent = Number(job.seed);
    if (/^\d+$/.test(requested) && sent !== Number(BigInt(requested) % 2n ** 32n)) return `seed ${job.seed} sent, ${requested} asked`;
    if (submit.seed !== sent && submit.seed !== (sent + job.index) % 2 ** 32)
      return `seed ${String(submit.seed)} reported for image ${job.index + 1} of seed ${job.seed}`;
  }
  return null;
}

function doneText(run: RowRun, n: number): string {
  const viaR2 = [...run.submits.values()].some((s) => s.state === 'ok' && s.generation === 'R2');
  const seeds = [...new Set(run.jobs.map((job) => run.submits.get(job.id)?.seed).filter((s) => typeof s === 'number'))];
  const seedText = seeds.length ? [`seed${seeds.length > 1 ? 's' : ''} ${seeds.sort((a, b) => a - b).join(', ')}`] : [];
  const parts = [`${n} image${n === 1 ? '' : 's'}`, ...(viaR2 ? ['via R2'] : []), ...seedText];
  return `done (${parts.join(', ')})`;
}

/** What became of a request: `drained` says the worker was offered nothing more at the end. */
export function outcomeOf(run: RowRun, drained: boolean): { kind: OutcomeKind | 'wrong'; text: string } {
  if (run.refused) return { kind: 'not sent', text: `refused by the horde (${run.refused})` };
  const n = Number(run.row.body.params.n ?? 1);
  if (run.jobs.length === 0) return drained ? { kind: 'not sent', text: 'not sent' } : { kind: 'unfinished', text: 'not sent yet' };
  const c = run.check;
  const faultedByWorker = run.jobs.filter((job) => run.submits.get(job.id)?.state === 'faulted').length;
  const settled = c !== null && (c.faulted || (c.done && c.processing === 0 && c.waiting === 0));
  if (c && settled && c.faulted) {
    const cause = faultedByWorker ? `faulted by HordeDesk ×${faultedByWorker}` : `restarted ×${c.restarted}`;
    return { kind: 'faulted', text: `${cause}, then given up by the horde` };
  }
  if (c && settled && faultedByWorker)
    return { kind: 'faulted', text: `faulted by HordeDesk ×${faultedByWorker}, ${c.finished}/${n} done` };
  if (c && settled && c.finished >= n) {
    const problem = seedProblem(run);
    return problem ? { kind: 'wrong', text: `done, but ${problem}` } : { kind: 'done', text: doneText(run, n) };
  }
  const counts = c ? `${c.finished}/${n} done, ${c.processing} running, ${c.restarted} restarted` : 'no counts';
  return { kind: 'unfinished', text: `unfinished (${counts}${faultedByWorker ? `, faulted by HordeDesk ×${faultedByWorker}` : ''})` };
}

function requestResult(run: RowRun, drained: boolean): Omit<RowResult, 'allowed' | 'gapClosed'> {
  const outcome = outcomeOf(run, drained);
  const announced = [...run.submits.values()].reduce((sum, s) => sum + (s.state === 'ok' ? (s.reward ?? 0) : 0), 0);
  return {
    id: run.row.id,
    label: run.row.label,
    expected: run.row.expect.join(' or '),
    got: outcome.text,
    announced: run.jobs.length ? round2(announced) : null,
    booked: run.jobs.length ? round2(run.booked) : null,
    pass: (run.row.expect as string[]).includes(outcome.kind),
    item: run.row.item,
  };
}

function totalResult(row: TotalRow, totals: RunTotals): Omit<RowResult, 'allowed' | 'gapClosed'> {
  const base = { id: row.id, label: row.label, item: row.item, announced: null, booked: null };
  if (row.id === 'uncompleted-jobs') {
    const got = totals.uncompleted === null ? 'unknown (worker record unread)' : `${totals.uncompleted} dropped or faulted`;
    return { ...base, expected: '0 dropped or faulted', got, pass: totals.uncompleted === 0 };
  }
  // Issue 12 item 5: HordeDesk books what the horde credits, the announced reward × the bridge
  // multiplier, for each image; the horde then stores each credit rounded to whole kudos, so the
  // ledger's sum may differ from the credited total by half a kudo per image.
  const { announced, booked } = kudosSums(totals);
  const m = totals.multiplier;
  const unbooked = totals.deliveries.filter((d) => d.booked === null || Math.abs(d.booked - d.announced * m) > 0.011).length;
  const slack = 0.5 * totals.deliveries.length + 0.01;
  const credited = totals.credited;
  const sumsAgree = credited !== null && Math.abs(booked - credited) <= slack;
  const got =
    `booked ${booked}` +
    (unbooked ? ` (${unbooked} of ${totals.deliveries.length} images not at announced × ${m})` : ` (announced × ${m})`) +
    `, credited ${credited ?? 'unknown'}`;
  return {
    ...base,
    expected: `booked = announced × ${m}, = credited ±${round2(slack)}`,
    got,
    announced,
    booked,
    pass: unbooked === 0 && sumsAgree,
  };
}

/** Judges every row; `allowedGaps` are the row ids that may differ without failing the run. */
export function judgeRows(
  rows: readonly ConformanceRow[],
  runs: ReadonlyMap<string, RowRun>,
  totals: RunTotals,
  opts: { drained: boolean; allowedGaps: ReadonlySet<string> },
): RowResult[] {
  return rows.map((row) => {
    const run = runs.get(row.id);
    const result =
      row.kind === 'total'
        ? totalResult(row, totals)
        : run
          ? requestResult(run, opts.drained)
          : { id: row.id, label: row.label, expected: row.expect.join(' or '), got: 'not run', announced: null, booked: null, pass: false };
    const named = opts.allowedGaps.has(row.id);
    return { ...result, allowed: named && !result.pass, gapClosed: named && result.pass };
  });
}

/** 0 when every row passes or is an allowed gap, else 1. */
export function exitCodeOf(results: readonly RowResult[]): 0 | 1 {
  return results.every((r) => r.pass || r.allowed) ? 0 : 1;
}
