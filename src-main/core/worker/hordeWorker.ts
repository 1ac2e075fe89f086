import { UserFacingError } from '../../common/result';
import { backoffMs, type BackoffPolicy } from '../backoff';
import { isMaintenanceError, isRetryable } from '../horde/client';
import { HordeApiError } from '../horde/errors';
import { checkJob, parsePop, type HordeJob } from './job';
import { fetchSources } from './jobSources';
import { createDelivery, type Delivered } from './delivery';
import type { RawImage, WorkerDeps } from './ports';
import { isKeyProblem } from './keyProblem';
import { safetyGate, type SafetyGate } from './safetyGate';
import { describeNoJobs, readSkipCounts, type NoJobs } from './skipped';
import { emptyStats, type WorkerStats } from './stats';
import { expectedPostProcessingMs, runPostProcessing, type PostProcessed, type PostProcessingSpeeds } from './postProcessing';
import { addonFetchBudgetMs, popLane, type FetchedAddons, type PopLane } from '../lora/addons';
import { hasAddons } from '../lora/request';

/** Waits between failed pops: 1 s, 2 s, 4 s … 30 s, or the horde's Retry-After up to 5 minutes. */
export const POP_RETRY: BackoffPolicy = { baseMs: 1_000, capMs: 30_000, retryAfterCapMs: 5 * 60_000 };

/** What the worker is doing, for the tray, the dashboard and the tests. */
export type WorkerState = 'stopped' | 'running' | 'pausing' | 'paused' | 'stopping' | 'maintenance' | 'error';

export interface CurrentJob {
  jobId: string;
  model: string;
  phase: string;
  image: number;
  images: number;
  step: number;
  steps: number;
}

/** The horde has not answered the worker's pops since `since` (local ms); HordeDesk keeps retrying. */
export interface Outage {
  since: number;
  /** Why the last pop failed. */
  message: string;
}

export interface WorkerStatus {
  state: WorkerState;
  /** The horde's own words (maintenance) or ours (errors); null when all is well. */
  message: string | null;
  current: CurrentJob | null;
  /** Jobs popped and not yet submitted. */
  inFlight: number;
  /** Why the last pops found no job (the horde's `skipped`, in words); null once a job arrives. */
  noJobs: NoJobs | null;
  /** Set while pops get no answer (network, timeout, 5xx, unreadable); null once one is answered. */
  outage: Outage | null;
  /** Why the worker may not pop for want of its safety check (missing, loading, failed); null while it is ready. */
  safety: SafetyGate | null;
  stats: WorkerStats;
}

/** Seconds to keep between the end of generation and the ttl, for upload and submit. */
const SUBMIT_RESERVE_MS = 15_000;
const IDLE_POP_MS = 2_000;

/** A stage of a job that failed for a reason already worded for the log and the faulted submit. */
class JobStageError extends Error {}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * The horde worker loop: pop → check → generate → (WebP, upload, submit, ledger) with one job
 * popped ahead while the current one generates, and delivery running beside the next job, so
 * the GPU does not wait on the network. Every popped job is submitted, ok or faulted, before
 * its ttl; nothing is dropped silently.
 */
export class HordeWorker {
  private state: WorkerState = 'stopped';
  private message: string | null = null;
  private current: CurrentJob | null = null;
  private noJobs: NoJobs | null = null;
  private outage: Outage | null = null;
  private stats: WorkerStats = emptyStats();
  private loop: Promise<void> | null = null;
  private ahead: Promise<HordeJob | null> | null = null;
  private cancelReason: string | null = null;
  /** The error state came from a refused key: a new key may lift it (see leaveKeyError). */
  private stoppedForKey = false;
  private readonly delivery;
  private readonly inFlightIds = new Set<string>();
  /** Source downloads started when their job was accepted, by first job id: they overlap the job before. */
  private readonly sourceDownloads = new Map<string, Promise<HordeJob>>();
  /** LoRA and TI fetches started when their job was accepted, by first job id; each ends by its deadline. */
  private readonly addonFetches = new Map<string, Promise<FetchedAddons>>();
  /** Pops sent, for the LoRA lane that every other pop takes while the offered models are mixed (popLane). */
  private popTurn = 0;
  /** How fast each post-processor ran here last (ms per input megapixel), for the next job's budget. */
  private readonly postSpeeds: PostProcessingSpeeds = new Map();

  constructor(
    private readonly deps: WorkerDeps,
    private readonly onStatus: (status: WorkerStatus) => void,
  ) {
    this.delivery = createDelivery(deps, {
      onDelivered: (result) => this.finished(result),
    });
  }

  status(): WorkerStatus {
    return {
      state: this.state,
      message: this.message,
      current: this.current,
      inFlight: this.inFlightIds.size,
      noJobs: this.noJobs,
      outage: this.outage,
      safety: safetyGate(this.deps.safety.status()),
      stats: { ...this.stats },
    };
  }

  /** Starts popping jobs. Refused (with a sentence for the user) when no model is ready or the safety model is not installed. */
  start(): void {
    if (this.state === 'running') return;
    if (this.deps.generator.readyModels().length === 0) {
      throw new UserFacingError('no-model-ready', 'No model is ready yet: install or create one before starting the worker.');
    }
    const gate = safetyGate(this.deps.safety.status());
    if (gate?.state === 'missing') throw new UserFacingError('safety-missing', gate.message);
    if (this.loop && (this.state === 'pausing' || this.state === 'stopping')) {
      this.setState('running', null);
      return;
    }
    this.stats.startedAt ??= this.deps.clock.now();
    this.noJobs = null;
    this.outage = null;
    this.setState('running', null);
    this.loop = this.run().finally(() => {
      this.loop = null;
    });
  }

  /** Stops popping; jobs already popped are generated and submitted, then the worker is paused. */
  pause(): void {
    if (this.state === 'running') this.setState('pausing', null);
  }

  /** Stops at once: the job being generated and the one popped ahead are submitted as faulted. */
  stopNow(): void {
    if (this.state === 'stopped' || this.state === 'paused' || this.state === 'maintenance' || this.state === 'error') return;
    this.setState('stopping', null);
    this.cancelReason = 'the worker was stopped by its owner';
    if (this.current) {
      this.deps.generator.cancel(this.current.jobId);
      this.deps.postProcessors?.cancel(this.current.jobId);
    }
    for (const jobId of this.addonFetches.keys()) this.deps.addons?.cancel(jobId);
  }

  /**
   * After an error caused by the key (rejected, missing, held back), a changed key may fix it: the
   * worker goes back to stopped, so whoever started it can start it again. True when it did.
   */
  leaveKeyError(): boolean {
    if (this.state !== 'error' || !this.stoppedForKey) return false;
    this.stoppedForKey = false;
    this.setState('stopped', null);
    return true;
  }

  /** Resolves when no job is popped, generating or being delivered. */
  async whenIdle(): Promise<void> {
    while (this.loop) await this.loop;
    await this.delivery.drain();
  }

  private setState(state: WorkerState, message: string | null): void {
    if (state !== 'error') this.stoppedForKey = false;
    // Only a worker that pops can be waiting for the horde.
    if (state !== 'running' && state !== 'pausing') this.outage = null;
    this.state = state;
    this.message = message;
    this.emit();
  }

  private emit(): void {
    this.onStatus(this.status());
  }

  private wantsMoreJobs(): boolean {
    return this.state === 'running';
  }

  private async run(): Promise<void> {
    let job: HordeJob | null = null;
    while (this.wantsMoreJobs() || job) {
      job ??= await this.popOne();
      if (!job) continue;
      const next = await this.process(job);
      job = next;
    }
    await this.delivery.drain();
    if (this.state === 'pausing') this.setState('paused', null);
    else if (this.state === 'stopping' || this.state === 'running') this.setState('stopped', null);
    this.cancelReason = null;
  }

  /** Pops once; handles "no job", bad payloads, maintenance and errors. Null when there is no job. */
  private async popOne(): Promise<HordeJob | null> {
    let attempt = 0;
    while (this.wantsMoreJobs()) {
      if (!(await this.safetyReady())) return null;
      const models = this.deps.generator.readyModels();
      const lane = this.nextLane(models);
      const body = this.deps.popBody(lane.models, { loras: lane.loras });
      let raw: unknown;
      try {
        raw = await this.deps.horde.pop(body);
        attempt = 0;
        this.noteOutage(null);
      } catch (error) {
        if (isMaintenanceError(error)) {
          this.deps.log.warn(`the horde put this worker in maintenance: ${(error as Error).message}`);
          this.setState('maintenance', (error as Error).message);
          return null;
        }
        if (isRetryable(error)) {
          const wait = backoffMs(POP_RETRY, attempt, (error as { retryAfterMs?: number | null }).retryAfterMs);
          attempt += 1;
          this.deps.log.warn(`pop failed (${(error as Error).message}); retrying in ${Math.round(wait / 1000)} s`);
          this.noteOutage(error);
          await this.deps.clock.sleep(wait);
          continue;
        }
        this.deps.log.error('pop refused', error);
        this.stoppedForKey = isKeyProblem(error);
        this.setState('error', error instanceof Error ? error.message : String(error));
        return null;
      }
      const parsed = parsePop(raw, this.deps.clock.now());
      // An empty pop of the LoRA lane is followed at once by a pop of every model, whose counts are the ones shown.
      if (parsed.kind === 'none' && !lane.counts) continue;
      if (parsed.kind === 'none') this.noteNoJob(parsed.skipped);
      else this.noJobs = null;
      if (parsed.kind === 'job') {
        parsed.job.workerNsfw = body.nsfw;
        const accepted = this.accept(parsed.job, models);
        if (accepted) return accepted;
        continue;
      }
      if (parsed.kind === 'invalid') {
        this.deps.log.warn(`the horde sent a job HordeDesk cannot read (${parsed.reason}); reporting it as faulted`);
        for (const id of parsed.ids) this.inFlightIds.add(id);
        this.delivery.faultIds(parsed.ids, parsed.reason, this.deps.clock.now() + 60_000);
        continue;
      }
      if (parsed.kind === 'garbage') this.deps.log.warn(`skipped an unreadable pop answer: ${parsed.reason}`);
      await this.deps.clock.sleep(IDLE_POP_MS);
    }
    return null;
  }

  /** The lane of the next pop (core/lora/addons.ts `popLane`). */
  private nextLane(models: string[]): PopLane {
    const port = this.deps.addons;
    if (!port) return { models, loras: false, counts: true };
    return popLane(models, (model) => port.addonFamily(model) !== null, port.capabilities().loras, this.popTurn++);
  }

  /** Checks a popped job against what this worker serves: the job (downloads started) or null (faulted with why). */
  private accept(job: HordeJob, models: string[]): HordeJob | null {
    for (const id of job.ids) this.inFlightIds.add(id);
    const kinds = (model: string) => this.deps.generator.modelKinds?.(model);
    const postProcessors = this.deps.postProcessors?.installed() ?? [];
    const port = this.deps.addons;
    const addons = port && { ...port.capabilities(), family: (model: string) => port.addonFamily(model) };
    const verdict = checkJob(job, { models, maxPixels: this.deps.maxPixels(), kinds, postProcessors, ...(addons ? { addons } : {}) });
    if (verdict.ok) return this.startDownloads(job);
    this.deps.log.warn(`cannot do job ${job.ids[0]}: ${verdict.reason}`);
    this.delivery.fault(job, verdict.reason);
    return null;
  }

  /**
   * Starts downloading the sources an accepted job names by URL (r2_source), so they arrive while
   * the job before it generates. They must be done within the first third of the job's ttl, which
   * leaves the rest for generation and delivery.
   */
  private startDownloads(job: HordeJob): HordeJob {
    this.startAddonFetch(job);
    const urls = job.sourceUrls ?? {};
    if (Object.keys(urls).length === 0) return job;
    const until = job.receivedAt + (job.ttlSeconds * 1000) / 3;
    const download = fetchSources({ params: job.params, sourceUrls: urls }, this.deps.sources, this.deps.clock, until).then((fetched) => {
      for (const failure of fetched.failures)
        this.deps.log.warn(`job ${job.ids[0]}: ${failure}; it runs on without it and the requester is told so`);
      return { ...job, params: fetched.params, sourceUrls: {}, notes: [...(job.notes ?? []), ...fetched.notes] };
    });
    this.sourceDownloads.set(job.ids[0] as string, download);
    return job;
  }

  /**
   * Starts fetching the job's LoRAs and textual inversions (CivitAI lookups, downloads or the cache), so they arrive
   * while the job before it generates. The fetch must end within the reference's waits (core/lora/addons.ts), else
   * it is cancelled and the job faulted: a job never waits on a download past its deadline.
   */
  private startAddonFetch(job: HordeJob): void {
    const port = this.deps.addons;
    if (!port || !job.addons || !hasAddons(job.addons)) return;
    const { clock } = this.deps;
    const jobId = job.ids[0] as string;
    const budgetMs = addonFetchBudgetMs(job.addons, job.ttlSeconds);
    const family = port.addonFamily(job.model) ?? 'sd1';
    const fetching = port.fetch(jobId, { ...job.addons, model: job.model, workerNsfw: job.workerNsfw ?? false, family });
    const timed = new Promise<FetchedAddons>((resolve, reject) => {
      const stop = clock.setTimer(Math.max(0, job.receivedAt + budgetMs - clock.now()), () => {
        port.cancel(jobId);
        reject(new JobStageError(`its LoRAs and textual inversions could not be fetched within ${Math.round(budgetMs / 1000)} s`));
      });
      fetching.then(
        (fetched) => {
          stop();
          resolve(fetched);
        },
        (error: unknown) => {
          stop();
          reject(new JobStageError(`its LoRAs and textual inversions could not be fetched: ${messageOf(error)}`));
        },
      );
    });
    // Awaited by process(); until then a rejection is not unhandled.
    timed.catch(() => undefined);
    this.addonFetches.set(jobId, timed);
  }

  /** The job with its fetched add-ons (and the notes on those left out); itself when it named none. */
  private async withAddons(job: HordeJob): Promise<HordeJob> {
    const jobId = job.ids[0] as string;
    const fetching = this.addonFetches.get(jobId);
    if (!fetching) return job;
    try {
      const fetched = await fetching;
      for (const note of fetched.notes)
        this.deps.log.warn(
          `job ${jobId}: ${note.type === 'ti' ? 'textual inversion' : 'LoRA'} "${note.ref ?? ''}" left out (${note.value}); the requester is told so`,
        );
      return { ...job, fetchedAddons: fetched, notes: [...(job.notes ?? []), ...fetched.notes] };
    } finally {
      this.addonFetches.delete(jobId);
    }
  }

  /** The job with its downloaded sources in its params (itself when it named none). */
  private async withSources(job: HordeJob): Promise<HordeJob> {
    const download = this.sourceDownloads.get(job.ids[0] as string);
    if (!download) return job;
    this.sourceDownloads.delete(job.ids[0] as string);
    return download;
  }

  /**
   * No check, no work: true once the safety model is loaded (loading it first if it is installed).
   * A missing model or one that will not load stops the popping with the reason as the error.
   */
  private async safetyReady(): Promise<boolean> {
    const { safety, log } = this.deps;
    const gate = safetyGate(safety.status());
    if (gate === null) return true;
    if (gate.state === 'missing') {
      this.setState('error', gate.message);
      return false;
    }
    this.emit();
    try {
      await safety.ensureLoaded();
    } catch (error) {
      log.error('the safety model could not be loaded; no jobs are taken', error);
      this.setState(
        'error',
        safetyGate({ state: 'failed', reason: error instanceof Error ? error.message : String(error) })?.message ?? null,
      );
      return false;
    }
    this.emit();
    return this.wantsMoreJobs();
  }

  /**
   * Keeps since when the horde has not answered (null: it answered). A 429 is an answer: the horde
   * is there and asked for a pause. Tells the user when the outage starts, ends or changes cause.
   */
  private noteOutage(error: unknown): void {
    if (error instanceof HordeApiError && error.status === 429) return;
    const message = error === null ? null : error instanceof Error ? error.message : String(error);
    if (message === (this.outage?.message ?? null)) return;
    if (message === null && this.outage) this.deps.log.info('the horde answers again');
    this.outage = message === null ? null : { since: this.outage?.since ?? this.deps.clock.now(), message };
    this.emit();
  }

  /** Keeps why the pop was empty; tells the user (and the log) when the reasons change. */
  private noteNoJob(skipped: unknown): void {
    const now = this.deps.clock.now();
    const counts = readSkipCounts(skipped);
    const text = describeNoJobs(counts, { maxPixels: this.deps.maxPixels() });
    const changed = this.noJobs?.text !== text;
    this.noJobs = { since: this.noJobs?.since ?? now, at: now, skipped: counts, text };
    if (!changed) return;
    this.deps.log.info(text);
    this.emit();
  }

  /** Generates one job (then post-processes it) and hands it to delivery; returns the job popped ahead meanwhile, if any. */
  private async process(popped: HordeJob): Promise<HordeJob | null> {
    const jobId = popped.ids[0] as string;
    try {
      return await this.processJob(popped);
    } finally {
      // The job's LoRA and TI files may be evicted from the cache again.
      this.addonFetches.delete(jobId);
      if (hasAddons(popped.addons)) this.deps.addons?.release(jobId);
    }
  }

  /** {@link process} itself: the fetched add-ons, the time budget, generation and post-processing. */
  private async processJob(popped: HordeJob): Promise<HordeJob | null> {
    const { clock, log } = this.deps;
    const jobId = popped.ids[0] as string;
    const sourced = await this.withSources(popped);
    if (this.state === 'stopping') {
      this.deps.addons?.cancel(jobId);
      this.delivery.fault(sourced, this.cancelReason ?? 'the worker was stopped');
      return null;
    }
    let job: HordeJob;
    try {
      job = await this.withAddons(sourced);
    } catch (error) {
      const reason = this.cancelReason ?? (error instanceof JobStageError ? error.message : `its add-ons failed: ${messageOf(error)}`);
      log.warn(`job ${jobId} faulted: ${reason}`);
      this.delivery.fault(sourced, reason);
      return this.takeAhead();
    }
    // The post-processors' time comes out of the ttl too: generation must leave it to them.
    const names = job.postProcessing ?? [];
    const size = { width: job.params.width, height: job.params.height, images: job.ids.length };
    const postMs = names.length ? expectedPostProcessingMs(this.postSpeeds, names, size) : 0;
    const budget = job.deadlineAt - SUBMIT_RESERVE_MS - postMs - clock.now();
    if (budget <= 0) {
      this.delivery.fault(
        job,
        postMs > 0 && budget + postMs > 0
          ? `its deadline leaves no time for post-processing (${names.join(' and ')}: about ${Math.ceil(postMs / 1000)} s here)`
          : 'the job waited too long in HordeDesk to finish before its deadline',
      );
      return this.takeAhead();
    }
    this.current = { jobId, model: job.model, phase: 'loading', image: 0, images: job.ids.length, step: 0, steps: job.params.steps };
    this.emit();
    const run = { prefetched: false };
    try {
      const { images, generationMs } = await this.generate(job, budget, run);
      const done = await this.postProcess(job, images);
      this.delivery.deliver(job, done.images, generationMs, done.ran);
    } catch (error) {
      const reason = this.cancelReason ?? (error instanceof JobStageError ? error.message : `generation failed: ${messageOf(error)}`);
      log.warn(`job ${jobId} faulted: ${reason}`);
      this.delivery.fault(job, reason);
    } finally {
      this.current = null;
      this.emit();
    }
    if (!run.prefetched && this.wantsMoreJobs()) return null;
    return this.takeAhead();
  }

  /** Runs the job through the generator, stopped after `budget` ms; pops the next job near its end (`run.prefetched`). */
  private async generate(
    job: HordeJob,
    budget: number,
    run: { prefetched: boolean },
  ): Promise<{ images: RawImage[]; generationMs: number }> {
    const { clock, generator, log } = this.deps;
    const jobId = job.ids[0] as string;
    let timedOut = false;
    const cancelTimer = clock.setTimer(budget, () => {
      timedOut = true;
      generator.cancel(jobId);
    });
    const started = clock.now();
    try {
      const images = await generator.generate(job, (p) => {
        this.current = { jobId, model: job.model, phase: p.phase, image: p.image, images: job.ids.length, step: p.step, steps: p.steps };
        // Pop the next job while the last image is being finished, so the GPU does not wait on the network.
        const lastImage = p.image === job.ids.length - 1;
        if (!run.prefetched && lastImage && (p.phase === 'decoding' || p.step * 2 >= p.steps)) {
          run.prefetched = true;
          this.prefetch();
        }
        this.emit();
      });
      const generationMs = clock.now() - started;
      this.stats.generationMs += generationMs;
      // The same change applies to every image of the job: said once here, told per image in gen_metadata.
      for (const change of new Set(images.flatMap((image) => image.changes ?? [])))
        log.warn(`job ${jobId}: ${change} The requester is told so with the image.`);
      return { images, generationMs };
    } catch (error) {
      if (timedOut) throw new JobStageError('generation would not have finished before the job deadline');
      throw error;
    } finally {
      cancelTimer();
    }
  }

  /**
   * Runs the job's post-processors on its images (postProcessing.ts: in the request's order, before the
   * safety check), stopped at the job's deadline less the time delivery needs.
   */
  private async postProcess(job: HordeJob, images: RawImage[]): Promise<PostProcessed> {
    const names = job.postProcessing ?? [];
    if (names.length === 0) return { images, ran: [] };
    const { clock, postProcessors: port } = this.deps;
    // checkJob declines post-processing without post-processors; this only keeps the types honest.
    if (!port) throw new JobStageError('post-processing failed: no post-processor is installed');
    const jobId = job.ids[0] as string;
    let late = false;
    const cancelTimer = clock.setTimer(Math.max(0, job.deadlineAt - SUBMIT_RESERVE_MS - clock.now()), () => {
      late = true;
      port.cancel(jobId);
    });
    try {
      return await runPostProcessing(port, { jobId, names }, images, {
        now: () => clock.now(),
        speeds: this.postSpeeds,
        onImage: (image, name) => {
          this.current = { jobId, model: job.model, phase: `post-processing (${name})`, image, images: job.ids.length, step: 0, steps: 0 };
          this.emit();
        },
      });
    } catch (error) {
      throw new JobStageError(
        late ? 'post-processing would not have finished before the job deadline' : `post-processing failed: ${messageOf(error)}`,
      );
    } finally {
      cancelTimer();
    }
  }

  private prefetch(): void {
    if (!this.wantsMoreJobs() || this.ahead) return;
    this.ahead = this.popOne();
  }

  private async takeAhead(): Promise<HordeJob | null> {
    const ahead = this.ahead;
    this.ahead = null;
    return ahead ? await ahead : null;
  }

  private finished(result: Delivered): void {
    for (const id of result.ids) this.inFlightIds.delete(id);
    if (result.state === 'ok') {
      this.stats.jobsDone += 1;
      this.stats.imagesDone += result.ids.length;
      this.stats.megapixelsteps += result.megapixelsteps;
    } else if (result.state === 'faulted') this.stats.jobsFaulted += 1;
    else this.stats.jobsDropped += 1;
    if (result.censorship === 'nsfw') this.stats.jobsCensored += 1;
    else if (result.censorship === 'csam') this.stats.jobsCsam += 1;
    this.stats.kudosSession += result.rewards;
    this.deps.log.info(
      `job ${result.ids[0]} ${result.state}${result.reason ? `: ${result.reason}` : ''}${result.rewards ? ` (+${result.rewards} kudos)` : ''}`,
    );
    this.emit();
  }
}
