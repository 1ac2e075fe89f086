import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BroadcastChannel } from 'node:worker_threads';
import type { WorkerStatusDto } from '../src-main/common/contract';
import type { RatingStatus } from '../src-main/common/ratings';
import { createApp, type HordeDeskApp } from '../src-main/node/app';
import { headlessConfFactory } from '../src-main/node/system/settingsStore';
import { TINY_MODEL_NAME, writeTinyModel } from '../src-main/node/models/tinyModel';
import { createDemoFeed, demoMixed } from '../src-main/standin/demoFeed';
import { ratingsImageCacheBytes } from '../src-main/standin/ratingsImages';
import { startStandin, STANDIN_KEYS, type FaultPatch, type StandinHandle } from '../src-main/standin/server';
import { SOAK_CRASH_CHANNEL } from './soakChannel';

// `npm run bench -- soak --minutes N`: the demo's stream (stand-in, the headless app's core with
// the tiny model in its worker thread, the rater) for N minutes with faults injected on a
// two-minute cycle, then a drain. Lost and duplicated are counted from the stand-in's side:
// every job the worker popped must end submitted exactly once, and every rating sent exactly
// once. A retry of a request whose answer never reached the app is not a duplicate (it cannot
// know); a submit after an answer did reach it is.

type Row = Record<string, string | number>;

const WORKER = 'HordeDesk Soak Worker';
const CYCLE_S = 120;
const RATE_EVERY_MS = 1500;
const SAMPLE_EVERY_MS = 15_000;
const DRAIN_LIMIT_MS = 180_000;

/** One fault of the cycle: when (seconds into it), what, and for how long (switched off after). */
interface FaultStep {
  at: number;
  what: string;
  run(ctx: { standin: StandinHandle; app: HordeDeskApp }): Promise<void> | void;
  /** Seconds until the patch is undone; counted faults switch themselves off. */
  forS?: number;
  undo?: FaultPatch;
}

const CYCLE: FaultStep[] = [
  { at: 5, what: '5xx ×8', run: ({ standin }) => void standin.setFaults({ error5xx: { status: 503, count: 8 } }) },
  { at: 15, what: '429 ×4 (Retry-After 2 s)', run: ({ standin }) => void standin.setFaults({ rateLimit: { retryAfterS: 2, count: 4 } }) },
  { at: 25, what: 'dropped connections ×6 (before the horde acts)', run: ({ standin }) => void standin.setFaults({ dropConnections: { count: 6 } }) },
  { at: 35, what: 'dropped connections ×4 (after the horde acted)', run: ({ standin }) => void standin.setFaults({ dropConnections: { count: 4, afterRoute: true } }) },
  // Every answer 21 s late: submits and ratings (20 s) time out after the horde booked them.
  { at: 45, what: 'timeouts (every answer 21 s late, for 25 s)', run: ({ standin }) => void standin.setFaults({ slowMs: 21_000 }), forS: 25, undo: { slowMs: 0 } },
  { at: 80, what: 'inference worker thread crash', run: crashInference },
  { at: 95, what: 'stand-in restart (down 3 s)', run: ({ standin }) => standin.restart(3000) },
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
  const text = [...counts].sort((a, b) => b[1] - a[1]).map(([kind, n]) => `${kind} ${n}`).join(', ');
  return { total: [...counts.values()].reduce((a, b) => a + b, 0), text };
}

/** What a soak run found; `failures` is empty when nothing was lost or duplicated. */
export interface SoakResult {
  rows: Row[];
  failures: string[];
}

/** Runs the soak for `minutes` (fractions allowed), then drains and counts. */
export async function soakBench(opts: { minutes: number; without?: string[] }): Promise<SoakResult> {
  const steps = CYCLE.filter((step) => !(opts.without ?? []).some((word) => step.what.includes(word)));
  const dataDir = mkdtempSync(join(tmpdir(), 'hd-soak-'));
  // Honest faults (hires_fix, samplers it lacks) count as aborts on the horde; the maintenance
  // rule (20 an hour) is not what this measures, so it is out of reach here.
  const standin = await startStandin({ mixed: demoMixed([TINY_MODEL_NAME, 'tiny-sd-checkpoint']), jobs: { maintenanceAbortThreshold: 1_000_000 } });
  const app = createApp({
    shell: 'headless',
    dataDir,
    settingsFactory: headlessConfFactory,
    startScheduler: false,
    inferenceWorkerUrl: new URL('./soakInference.worker.ts', import.meta.url),
  });
  app.settings.update({ hordeUrl: standin.hordeApiUrl, ratingsUrl: standin.ratingsApiUrl, workerName: WORKER, onboarded: true });
  // After the URLs: setting the key confirms it for the stand-in's origin.
  app.secrets.setApiKey(STANDIN_KEYS.workerOwner);
  await writeTinyModel(app.generation.modelsDir);
  const feed = createDemoFeed(standin, { workerName: () => WORKER, models: [TINY_MODEL_NAME] });
  feed.tick();
  const feeder = setInterval(() => feed.tick(), 2000);
  await app.worker.start();

  const rated = new Map<string, number>();
  let rating = true;
  const rater = (async () => {
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

  const started = Date.now();
  const endAt = started + opts.minutes * 60_000;
  const samples: { s: number; rss: number; heap: number; external: number; standin: number; jobs: number }[] = [];
  // The stand-in runs in this process and keeps every uploaded image (as a horde's storage would)
  // and up to 512 generated rating images: its memory, not the app's, so it is measured apart.
  const standinStored = (): number => ratingsImageCacheBytes() + standin.jobs().reduce((sum, job) => sum + (standin.image(job.id)?.length ?? 0), 0);
  const sample = (): void => {
    // With `node --expose-gc` (NODE_OPTIONS), collect first: then `external` counts only live
    // Buffers, not ones V8 has not got round to freeing (a small, steady heap rarely triggers it).
    (globalThis as { gc?: () => void }).gc?.();
    const { rss, heapUsed, external } = process.memoryUsage();
    samples.push({ s: Math.round((Date.now() - started) / 1000), rss: mb(rss), heap: mb(heapUsed), external: mb(external), standin: mb(standinStored()), jobs: app.worker.status().stats.jobsDone });
  };
  // A worker that stops by itself (an error, maintenance) would stall a user's machine: note it.
  const states = new Map<string, number>();
  const unsubscribe = app.events.subscribe((name, payload) => {
    if (name !== 'worker.status') return;
    const { state } = payload as WorkerStatusDto;
    states.set(state, (states.get(state) ?? 0) + 1);
  });
  sample();
  const handlesAtStart = handles();
  const injected: string[] = [];
  let nextSample = started + SAMPLE_EVERY_MS;
  const undo: { at: number; patch: FaultPatch }[] = [];
  for (let cycle = 0; ; cycle += 1) {
    let over = false;
    for (const step of steps) {
      const at = started + (cycle * CYCLE_S + step.at) * 1000;
      if (at > endAt) {
        over = true;
        break;
      }
      while (Date.now() < at) {
        await sleep(Math.min(1000, at - Date.now()));
        if (Date.now() >= nextSample) {
          sample();
          nextSample += SAMPLE_EVERY_MS;
        }
        for (const due of undo.filter((u) => Date.now() >= u.at)) {
          standin.setFaults(due.patch);
          undo.splice(undo.indexOf(due), 1);
        }
      }
      console.log(`[soak ${Math.round((Date.now() - started) / 1000)} s] ${step.what}`);
      await step.run({ standin, app });
      injected.push(step.what);
      if (step.forS && step.undo) undo.push({ at: Date.now() + step.forS * 1000, patch: step.undo });
    }
    if (over) break;
  }
  while (Date.now() < endAt) {
    await sleep(Math.min(1000, endAt - Date.now()));
    if (Date.now() >= nextSample) {
      sample();
      nextSample += SAMPLE_EVERY_MS;
    }
  }

  // Drain: a healthy horde, no new work, every job and rating delivered.
  console.log(`[soak ${Math.round((Date.now() - started) / 1000)} s] draining`);
  standin.resetFaults();
  clearInterval(feeder);
  rating = false;
  await rater;
  // "Finish, then pause": every job in hand is generated and delivered first.
  app.worker.pause();
  const drainEnd = Date.now() + DRAIN_LIMIT_MS;
  const settled = (): boolean => {
    const status = app.worker.status();
    return status.state !== 'running' && status.state !== 'pausing' && status.inFlight === 0;
  };
  while (Date.now() < drainEnd && !settled()) await sleep(500);
  while (Date.now() < drainEnd && (await app.handlers['rating.status']({})).pendingSync > 0) await sleep(500);
  const ratingStatus: RatingStatus = await app.handlers['rating.status']({});
  sample();
  const handlesAtEnd = handles();
  const workerStats = app.worker.status().stats;
  const history = await app.handlers['rating.history']({ limit: 200, offset: 0, state: 'refused', minRating: 1, maxRating: 10 });

  // Counted at the stand-in.
  // A job counts as popped once the pop's answer reached the app; one assigned by a pop whose
  // answer was dropped never reached it (the horde times it out), so it is counted apart.
  const assigned = standin.jobs().filter((job) => job.worker === WORKER);
  const jobs = assigned.filter((job) => job.popDelivered);
  const orphans = assigned.filter((job) => !job.popDelivered);
  const jobsLost = jobs.filter((job) => job.state === 'processing' || job.state === 'aborted' || job.submitCount === 0);
  const jobsDuplicated = jobs.filter((job) => job.resubmitsAfterAnswer > 0);
  const images = new Map(standin.ratings().map((image) => [image.id, image]));
  const me = standin.users.byKey(STANDIN_KEYS.workerOwner)?.id;
  const ratingsLost = [...rated.keys()].filter((id) => !(images.get(id)?.ratings.some((r) => r.userId === me) ?? false));
  const ratingsDuplicated = [...rated.keys()].filter((id) => {
    const image = images.get(id);
    return image !== undefined && (image.resubmitsAfterAnswer > 0 || image.ratings.filter((r) => r.userId === me).length > 1);
  });

  unsubscribe();
  await app.close();
  await standin.close();
  // Closed sockets leave the list once their close events have run.
  await sleep(200);
  const handlesAfterClose = handles();

  const first = samples[0];
  const last = samples.at(-1);
  const rows: Row[] = [
    { what: 'minutes', value: +((Date.now() - started) / 60_000).toFixed(1) },
    { what: 'faults injected', value: injected.length },
    { what: 'jobs popped (the pop answer reached the app)', value: jobs.length },
    { what: 'jobs whose pop answer was dropped (never reached the app)', value: orphans.length },
    { what: 'jobs done (ok)', value: jobs.filter((job) => job.state === 'done').length },
    { what: 'jobs faulted (submitted as faulted)', value: jobs.filter((job) => job.state === 'faulted').length },
    { what: 'jobs lost (popped, never submitted)', value: jobsLost.length },
    { what: 'jobs duplicated (submitted again after an answer)', value: jobsDuplicated.length },
    { what: 'worker states seen (status events)', value: [...states].map(([state, n]) => `${state} ${n}`).join(', ') },
    { what: 'worker: done / faulted / refused by the horde', value: `${workerStats.jobsDone} / ${workerStats.jobsFaulted} / ${workerStats.jobsDropped}` },
    { what: 'ratings sent (rated in the app)', value: rated.size },
    { what: 'ratings lost (not at the service)', value: ratingsLost.length },
    { what: 'ratings duplicated (sent again after an answer)', value: ratingsDuplicated.length },
    { what: 'ratings the app marked refused (e.g. "already rated" after a lost answer)', value: history.total },
    { what: 'ratings still pending after the drain', value: ratingStatus.pendingSync },
    { what: 'RSS MB start → end', value: `${first?.rss ?? '?'} → ${last?.rss ?? '?'}` },
    { what: 'heap MB start → end', value: `${first?.heap ?? '?'} → ${last?.heap ?? '?'}` },
    { what: 'RSS MB samples (s:MB)', value: pickSamples(samples).map((s) => `${s.s}:${s.rss}`).join(' ') },
    { what: 'external (Buffers, native) MB samples (s:MB)', value: pickSamples(samples).map((s) => `${s.s}:${s.external}`).join(' ') },
    // Start-up (model load, first fault cycle) is not growth: the trend is fitted after it.
    { what: "the stand-in's stored images MB samples (s:MB; same process)", value: pickSamples(samples).map((s) => `${s.s}:${s.standin}`).join(' ') },
    { what: 'RSS trend after the first 2 min (MB per 10 min, least squares)', value: rssTrend(samples.filter((s) => s.s >= 120)) },
    { what: "RSS trend less the stand-in's stored images (the app's own)", value: rssTrend(samples.filter((s) => s.s >= 120).map((s) => ({ s: s.s, rss: s.rss - s.standin }))) },
    { what: 'open handles at start', value: `${handlesAtStart.total} (${handlesAtStart.text})` },
    { what: 'open handles before close', value: `${handlesAtEnd.total} (${handlesAtEnd.text})` },
    { what: 'open handles after close', value: `${handlesAfterClose.total} (${handlesAfterClose.text})` },
  ];
  const failures: string[] = [];
  if (jobsLost.length) failures.push(`${jobsLost.length} job(s) lost: ${jobsLost.slice(0, 5).map((j) => `${j.id} ${j.state}`).join(', ')}`);
  if (jobsDuplicated.length) failures.push(`${jobsDuplicated.length} job(s) duplicated: ${jobsDuplicated.slice(0, 5).map((j) => j.id).join(', ')}`);
  if (ratingsLost.length) failures.push(`${ratingsLost.length} rating(s) lost: ${ratingsLost.slice(0, 5).join(', ')}`);
  if (ratingsDuplicated.length) failures.push(`${ratingsDuplicated.length} rating(s) duplicated: ${ratingsDuplicated.slice(0, 5).join(', ')}`);
  return { rows, failures };
}

/** About eight samples spread over the run, first and last included. */
/** Least-squares slope of RSS over time, in MB per 10 minutes ('n/a' with too few samples). */
function rssTrend(samples: { s: number; rss: number }[]): string {
  if (samples.length < 3) return 'n/a';
  const n = samples.length;
  const mt = samples.reduce((a, p) => a + p.s, 0) / n;
  const mr = samples.reduce((a, p) => a + p.rss, 0) / n;
  const cov = samples.reduce((a, p) => a + (p.s - mt) * (p.rss - mr), 0);
  const vt = samples.reduce((a, p) => a + (p.s - mt) ** 2, 0);
  return vt === 0 ? 'n/a' : ((cov / vt) * 600).toFixed(1);
}

function pickSamples<T>(samples: T[]): T[] {
  if (samples.length <= 8) return samples;
  const step = (samples.length - 1) / 7;
  return Array.from({ length: 8 }, (_, i) => samples[Math.round(i * step)] as T);
}
