import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BroadcastChannel } from 'node:worker_threads';
import type { WorkerStatusDto } from '../src-main/common/contract';
import type { RatingStatus } from '../src-main/common/ratings';
import { createApp, type HordeDeskApp } from '../src-main/node/app';
import { headlessConfFactory } from '../src-main/node/system/settingsStore';
import { writeTinyModel } from '../src-main/node/models/tinyModel';
import { safetyDirOf } from '../src-main/node/safety/safetyModel';
import { writeTinySafetyModel } from '../src-main/node/safety/tinySafetyModel';
import { STANDIN_KEYS, type FaultPatch } from '../src-main/standin/server';
import type { SoakHordeMemory, SoakHordeReport, SoakHordeRequest } from './soakStandin';
import { SOAK_CRASH_CHANNEL } from './soakChannel';

// `npm run bench -- soak --minutes N`: the demo's stream (the headless app's core with the tiny
// model in its worker thread, the rater; the stand-in horde in a child process of its own,
// bench/soakStandin.ts) for N minutes with faults injected on a two-minute cycle, then a drain. Lost and duplicated are counted from the stand-in's side:
// every job the worker popped must end submitted exactly once, and every rating sent exactly
// once. A retry of a request whose answer never reached the app is not a duplicate (it cannot
// know); a submit after an answer did reach it is.

type Row = Record<string, string | number>;

const WORKER = 'HordeDesk Soak Worker';
const CYCLE_S = 120;
const RATE_EVERY_MS = 1500;
const SAMPLE_EVERY_MS = 15_000;
const DRAIN_LIMIT_MS = 180_000;

/** The stand-in in its child process, driven over IPC (bench/soakStandin.ts). */
export interface SoakHorde {
  hordeApiUrl: string;
  ratingsApiUrl: string;
  setFaults(patch: FaultPatch): Promise<void>;
  resetFaults(): Promise<void>;
  restart(downMs: number): Promise<void>;
  stopFeed(): Promise<void>;
  memory(): Promise<SoakHordeMemory>;
  report(): Promise<SoakHordeReport>;
  close(): Promise<void>;
}

/** A request without its id (the id is added when it is sent); distributes over the union. */
type Unsent<T> = T extends unknown ? Omit<T, 'id'> : never;

type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

/** Starts bench/soakStandin.ts (with this process's tsx loader) and waits for its URLs. */
export async function startSoakHorde(workerName: string): Promise<SoakHorde> {
  const child: ChildProcess = fork(new URL('./soakStandin.ts', import.meta.url), [], {
    env: { ...process.env, HORDEDESK_SOAK_WORKER: workerName },
  });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  const urls = await new Promise<{ hordeApiUrl: string; ratingsApiUrl: string }>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the soak's stand-in exited before it was ready (code ${code})`)));
    child.on('message', (message: { ready?: { hordeApiUrl: string; ratingsApiUrl: string } } | Reply) => {
      if ('ready' in message && message.ready) return resolve(message.ready);
      const reply = message as Reply;
      const waiter = pending.get(reply.id);
      pending.delete(reply.id);
      if (reply.ok) waiter?.resolve(reply.result);
      else waiter?.reject(new Error(`the soak's stand-in failed: ${reply.error}`));
    });
  });
  const call = <T>(request: Unsent<SoakHordeRequest>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      child.send({ ...request, id });
    });
  return {
    ...urls,
    setFaults: (patch) => call({ op: 'setFaults', patch }),
    resetFaults: () => call({ op: 'resetFaults' }),
    restart: (downMs) => call({ op: 'restart', downMs }),
    stopFeed: () => call({ op: 'stopFeed' }),
    memory: () => call({ op: 'memory' }),
    report: () => call({ op: 'report' }),
    async close() {
      const exited = new Promise((resolve) => child.once('close', resolve));
      await call({ op: 'close' });
      await exited;
    },
  };
}

/** One fault of the cycle: when (seconds into it), what, and for how long (switched off after). */
interface FaultStep {
  at: number;
  what: string;
  run(ctx: { horde: SoakHorde; app: HordeDeskApp }): Promise<void>;
  /** Seconds until the patch is undone; counted faults switch themselves off. */
  forS?: number;
  undo?: FaultPatch;
}

const CYCLE: FaultStep[] = [
  { at: 5, what: '5xx ×8', run: ({ horde }) => horde.setFaults({ error5xx: { status: 503, count: 8 } }) },
  { at: 15, what: '429 ×4 (Retry-After 2 s)', run: ({ horde }) => horde.setFaults({ rateLimit: { retryAfterS: 2, count: 4 } }) },
  {
    at: 25,
    what: 'dropped connections ×6 (before the horde acts)',
    run: ({ horde }) => horde.setFaults({ dropConnections: { count: 6 } }),
  },
  {
    at: 35,
    what: 'dropped connections ×4 (after the horde acted)',
    run: ({ horde }) => horde.setFaults({ dropConnections: { count: 4, afterRoute: true } }),
  },
  // Every answer 21 s late: submits and ratings (20 s) time out after the horde booked them.
  {
    at: 45,
    what: 'timeouts (every answer 21 s late, for 25 s)',
    run: ({ horde }) => horde.setFaults({ slowMs: 21_000 }),
    forS: 25,
    undo: { slowMs: 0 },
  },
  { at: 80, what: 'inference worker thread crash', run: crashInference },
  { at: 95, what: 'stand-in restart (down 3 s)', run: ({ horde }) => horde.restart(3000) },
];

/** Crashes the inference thread mid-job when there is one (within 20 s), else as it is. */
async function crashInference({ app }: { app: HordeDeskApp }): Promise<void> {
  for (let i = 0; i < 200 && app.worker.status().current === null; i += 1) await sleep(100);
  const channel = new BroadcastChannel(SOAK_CRASH_CHANNEL);
  channel.postMessage('crash');
  channel.close();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const mb = (bytes: number): number => Math.round(bytes / 1024 / 1024);

/** `process.getActiveResourcesInfo()` grouped, e.g. "TCPSocketWrap 4, Timeout 12". */
function handles(): { total: number; text: string } {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  const text = [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([kind, n]) => `${kind} ${n}`)
    .join(', ');
  return { total: [...counts.values()].reduce((a, b) => a + b, 0), text };
}

/** What a soak run found; `failures` is empty when nothing was lost or duplicated. */
export interface SoakResult {
  rows: Row[];
  failures: string[];
}

/** One memory sample: seconds in, MB of the app's process and of the stand-in's. */
interface Sample {
  s: number;
  rss: number;
  heap: number;
  external: number;
  hordeRss: number;
  hordeStored: number;
}

/** The app's core as the headless shell builds it, pointed at the soak's horde, worker started. */
async function startSoakApp(horde: SoakHorde): Promise<HordeDeskApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'hd-soak-'));
  // The worker takes no job without its safety check: the tiny safety model runs it (and flags nothing).
  writeTinySafetyModel(safetyDirOf(dataDir));
  const app = createApp({
    shell: 'headless',
    dataDir,
    settingsFactory: headlessConfFactory,
    startScheduler: false,
    inferenceWorkerUrl: new URL('./soakInference.worker.ts', import.meta.url),
  });
  app.settings.update({ hordeUrl: horde.hordeApiUrl, ratingsUrl: horde.ratingsApiUrl, workerName: WORKER, onboarded: true });
  // After the URLs: setting the key confirms it for the stand-in's origin.
  app.secrets.setApiKey(STANDIN_KEYS.workerOwner);
  await writeTinyModel(app.generation.modelsDir);
  await app.worker.start();
  return app;
}

/** Rates one image every RATE_EVERY_MS until `stop()`; `rated` maps image id → score. */
function startRating(app: HordeDeskApp): { rated: Map<string, number>; stop(): Promise<void> } {
  const rated = new Map<string, number>();
  let rating = true;
  const loop = (async () => {
    while (rating) {
      await sleep(RATE_EVERY_MS);
      try {
        const [image] = await app.handlers['rating.queue']({ count: 1 });
        if (!image) continue;
        const score = 1 + (rated.size % 10);
        await app.handlers['rating.rate']({ imageId: image.imageId, rating: score, artifacts: 1 });
        rated.set(image.imageId, score);
      } catch {
        // Nothing downloaded yet (the service is down, say): try again on the next beat.
      }
    }
  })();
  return {
    rated,
    async stop() {
      rating = false;
      await loop;
    },
  };
}

/** Memory samples every SAMPLE_EVERY_MS (call `due()` often), both processes. */
function memorySampler(horde: SoakHorde, started: number): { samples: Sample[]; take(): Promise<void>; due(): Promise<void> } {
  const samples: Sample[] = [];
  let next = started + SAMPLE_EVERY_MS;
  const take = async (): Promise<void> => {
    // With `node --expose-gc` (NODE_OPTIONS), collect first: then `external` counts only live
    // Buffers, not ones V8 has not got round to freeing (a small, steady heap rarely triggers it).
    (globalThis as { gc?: () => void }).gc?.();
    const { rss, heapUsed, external } = process.memoryUsage();
    const other = await horde.memory();
    samples.push({
      s: Math.round((Date.now() - started) / 1000),
      rss: mb(rss),
      heap: mb(heapUsed),
      external: mb(external),
      hordeRss: mb(other.rss),
      hordeStored: mb(other.stored),
    });
  };
  return {
    samples,
    take,
    async due() {
      if (Date.now() < next) return;
      next += SAMPLE_EVERY_MS;
      await take();
    },
  };
}

/** Injects the cycle's faults until `endAt`, sampling memory; returns what was injected. */
async function injectFaults(
  steps: FaultStep[],
  ctx: { horde: SoakHorde; app: HordeDeskApp },
  started: number,
  endAt: number,
  sampler: { due(): Promise<void> },
): Promise<string[]> {
  const injected: string[] = [];
  const undo: { at: number; patch: FaultPatch }[] = [];
  const waitUntil = async (at: number): Promise<void> => {
    while (Date.now() < at) {
      await sleep(Math.min(1000, at - Date.now()));
      await sampler.due();
      for (const due of undo.filter((u) => Date.now() >= u.at)) {
        await ctx.horde.setFaults(due.patch);
        undo.splice(undo.indexOf(due), 1);
      }
    }
  };
  if (steps.length === 0) {
    await waitUntil(endAt);
    return injected;
  }
  for (let cycle = 0; ; cycle += 1) {
    for (const step of steps) {
      const at = started + (cycle * CYCLE_S + step.at) * 1000;
      if (at > endAt) {
        await waitUntil(endAt);
        return injected;
      }
      await waitUntil(at);
      console.log(`[soak ${Math.round((Date.now() - started) / 1000)} s] ${step.what}`);
      await step.run(ctx);
      injected.push(step.what);
      if (step.forS && step.undo) undo.push({ at: Date.now() + step.forS * 1000, patch: step.undo });
    }
  }
}

/** A healthy horde, no new work; waits until every job and rating in hand is delivered. */
async function drain(horde: SoakHorde, app: HordeDeskApp, rater: { stop(): Promise<void> }): Promise<RatingStatus> {
  await horde.resetFaults();
  await horde.stopFeed();
  await rater.stop();
  // "Finish, then pause": every job in hand is generated and delivered first.
  app.worker.pause();
  const drainEnd = Date.now() + DRAIN_LIMIT_MS;
  const settled = (): boolean => {
    const status = app.worker.status();
    return status.state !== 'running' && status.state !== 'pausing' && status.inFlight === 0;
  };
  while (Date.now() < drainEnd && !settled()) await sleep(500);
  while (Date.now() < drainEnd && (await app.handlers['rating.status']({})).pendingSync > 0) await sleep(500);
  return app.handlers['rating.status']({});
}

type HordeJob = SoakHordeReport['jobs'][number];

/** Jobs and ratings as the stand-in saw them: the popped jobs, and which were lost or duplicated. */
interface HordeCounts {
  jobs: HordeJob[];
  orphans: number;
  jobsLost: HordeJob[];
  jobsDuplicated: HordeJob[];
  ratingsLost: string[];
  ratingsDuplicated: string[];
}

/** Lost and duplicated work, counted at the stand-in. */
function countAtHorde(report: SoakHordeReport, rated: Map<string, number>): HordeCounts {
  // A job counts as popped once the pop's answer reached the app; one assigned by a pop whose
  // answer was dropped never reached it (the horde times it out), so it is counted apart.
  const assigned = report.jobs.filter((job) => job.worker === WORKER);
  const jobs = assigned.filter((job) => job.popDelivered);
  const images = new Map(report.ratings.map((image) => [image.id, image]));
  const mine = (id: string): number => images.get(id)?.userIds.filter((user) => user === report.workerOwnerId).length ?? 0;
  return {
    jobs,
    orphans: assigned.length - jobs.length,
    jobsLost: jobs.filter((job) => job.state === 'processing' || job.state === 'aborted' || job.submitCount === 0),
    jobsDuplicated: jobs.filter((job) => job.resubmitsAfterAnswer > 0),
    ratingsLost: [...rated.keys()].filter((id) => mine(id) === 0),
    ratingsDuplicated: [...rated.keys()].filter((id) => (images.get(id)?.resubmitsAfterAnswer ?? 0) > 0 || mine(id) > 1),
  };
}

/** Runs the soak for `minutes` (fractions allowed), then drains and counts. */
export async function soakBench(opts: { minutes: number; without?: string[] }): Promise<SoakResult> {
  const steps = CYCLE.filter((step) => !(opts.without ?? []).some((word) => step.what.includes(word)));
  const horde = await startSoakHorde(WORKER);
  const app = await startSoakApp(horde);
  const rater = startRating(app);
  const started = Date.now();
  const sampler = memorySampler(horde, started);
  // A worker that stops by itself (an error, maintenance) would stall a user's machine: note it.
  const states = new Map<string, number>();
  const unsubscribe = app.events.subscribe((name, payload) => {
    if (name !== 'worker.status') return;
    const { state } = payload as WorkerStatusDto;
    states.set(state, (states.get(state) ?? 0) + 1);
  });
  await sampler.take();
  const handlesAtStart = handles();
  const injected = await injectFaults(steps, { horde, app }, started, started + opts.minutes * 60_000, sampler);

  console.log(`[soak ${Math.round((Date.now() - started) / 1000)} s] draining`);
  const ratingStatus = await drain(horde, app, rater);
  await sampler.take();
  const handlesAtEnd = handles();
  const workerStats = app.worker.status().stats;
  const history = await app.handlers['rating.history']({ limit: 200, offset: 0, state: 'refused', minRating: 1, maxRating: 10 });
  const counted = countAtHorde(await horde.report(), rater.rated);

  unsubscribe();
  await app.close();
  await horde.close();
  // Closed sockets leave the list once their close events have run.
  await sleep(200);
  const handlesAfterClose = handles();

  const work = { counted, states, workerStats, ratedCount: rater.rated.size, refused: history.total, pending: ratingStatus.pendingSync };
  const rows = [
    { what: 'minutes', value: +((Date.now() - started) / 60_000).toFixed(1) },
    { what: 'faults injected', value: injected.length },
    ...workRows(work),
    ...memoryRows(sampler.samples),
    { what: 'open handles at start', value: `${handlesAtStart.total} (${handlesAtStart.text})` },
    { what: 'open handles before close', value: `${handlesAtEnd.total} (${handlesAtEnd.text})` },
    { what: 'open handles after close', value: `${handlesAfterClose.total} (${handlesAfterClose.text})` },
  ];
  return { rows, failures: failuresOf(counted) };
}

/** What the soak counts about the work: at the stand-in, and as the app saw it. */
interface WorkCounts {
  counted: HordeCounts;
  states: Map<string, number>;
  workerStats: { jobsDone: number; jobsFaulted: number; jobsDropped: number };
  ratedCount: number;
  refused: number;
  pending: number;
}

function workRows({ counted, states, workerStats, ratedCount, refused, pending }: WorkCounts): Row[] {
  const { jobs } = counted;
  const stats = workerStats;
  return [
    { what: 'jobs popped (the pop answer reached the app)', value: jobs.length },
    { what: 'jobs whose pop answer was dropped (never reached the app)', value: counted.orphans },
    { what: 'jobs done (ok)', value: jobs.filter((job) => job.state === 'done').length },
    { what: 'jobs faulted (submitted as faulted)', value: jobs.filter((job) => job.state === 'faulted').length },
    { what: 'jobs lost (popped, never submitted)', value: counted.jobsLost.length },
    { what: 'jobs duplicated (submitted again after an answer)', value: counted.jobsDuplicated.length },
    { what: 'worker states seen (status events)', value: [...states].map(([state, n]) => `${state} ${n}`).join(', ') },
    { what: 'worker: done / faulted / refused by the horde', value: `${stats.jobsDone} / ${stats.jobsFaulted} / ${stats.jobsDropped}` },
    { what: 'ratings sent (rated in the app)', value: ratedCount },
    { what: 'ratings lost (not at the service)', value: counted.ratingsLost.length },
    { what: 'ratings duplicated (sent again after an answer)', value: counted.ratingsDuplicated.length },
    { what: 'ratings the app marked refused (e.g. "already rated" after a lost answer)', value: refused },
    { what: 'ratings still pending after the drain', value: pending },
  ];
}

/** The app's memory over the run (its own process), and the stand-in's apart. */
function memoryRows(samples: Sample[]): Row[] {
  const first = samples[0];
  const last = samples.at(-1);
  const series = (pick: (s: Sample) => number): string =>
    pickSamples(samples)
      .map((s) => `${s.s}:${pick(s)}`)
      .join(' ');
  // Start-up (model load, the first fault cycle) is not growth: trends are fitted after it.
  const settled = samples.filter((s) => s.s >= 120);
  return [
    { what: "the app's RSS MB start → end", value: `${first?.rss ?? '?'} → ${last?.rss ?? '?'}` },
    { what: "the app's heap MB start → end", value: `${first?.heap ?? '?'} → ${last?.heap ?? '?'}` },
    { what: "the app's RSS MB samples (s:MB)", value: series((s) => s.rss) },
    { what: "the app's external (Buffers, native) MB samples (s:MB)", value: series((s) => s.external) },
    {
      what: "the app's RSS trend after the first 2 min (MB per 10 min, least squares)",
      value: trend(settled.map((s) => ({ s: s.s, mb: s.rss }))),
    },
    { what: "the app's heap trend after the first 2 min (MB per 10 min)", value: trend(settled.map((s) => ({ s: s.s, mb: s.heap }))) },
    // The stand-in keeps every uploaded image, as a horde's storage does: its growth is expected.
    { what: "the stand-in's RSS MB samples (its own process; s:MB)", value: series((s) => s.hordeRss) },
    { what: "the stand-in's stored images MB samples (s:MB)", value: series((s) => s.hordeStored) },
  ];
}

/** Lost or duplicated work: what makes the soak fail. */
function failuresOf(counted: HordeCounts): string[] {
  const { jobsLost, jobsDuplicated, ratingsLost, ratingsDuplicated } = counted;
  const failures: string[] = [];
  if (jobsLost.length)
    failures.push(
      `${jobsLost.length} job(s) lost: ${jobsLost
        .slice(0, 5)
        .map((j) => `${j.id} ${j.state}`)
        .join(', ')}`,
    );
  if (jobsDuplicated.length)
    failures.push(
      `${jobsDuplicated.length} job(s) duplicated: ${jobsDuplicated
        .slice(0, 5)
        .map((j) => j.id)
        .join(', ')}`,
    );
  if (ratingsLost.length) failures.push(`${ratingsLost.length} rating(s) lost: ${ratingsLost.slice(0, 5).join(', ')}`);
  if (ratingsDuplicated.length)
    failures.push(`${ratingsDuplicated.length} rating(s) duplicated: ${ratingsDuplicated.slice(0, 5).join(', ')}`);
  return failures;
}

/** Least-squares slope over time, in MB per 10 minutes ('n/a' with too few samples). */
function trend(samples: { s: number; mb: number }[]): string {
  if (samples.length < 3) return 'n/a';
  const n = samples.length;
  const mt = samples.reduce((a, p) => a + p.s, 0) / n;
  const mr = samples.reduce((a, p) => a + p.mb, 0) / n;
  const cov = samples.reduce((a, p) => a + (p.s - mt) * (p.mb - mr), 0);
  const vt = samples.reduce((a, p) => a + (p.s - mt) ** 2, 0);
  return vt === 0 ? 'n/a' : ((cov / vt) * 600).toFixed(1);
}

/** About eight samples spread over the run, first and last included. */
function pickSamples<T>(samples: T[]): T[] {
  if (samples.length <= 8) return samples;
  const step = (samples.length - 1) / 7;
  return Array.from({ length: 8 }, (_, i) => samples[Math.round(i * step)] as T);
}
