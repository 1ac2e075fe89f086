import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { defaultBridges, type BridgeSpec } from './bridges';
import { baselineMultiplier, imageKudos, jobTtl } from './kudos';
import { seedNumber, type ResolvedRequest } from './requests';
import { SourceStore, type SourceField } from './sources';
import type { StandinWorker, WorkerRegistry } from './workers';
import { mulberry32 } from '../inference/graph/weights';

// The horde's waiting prompts and their jobs (HORDE-PROTOCOL.md §2.1, §2.10): each image of a
// request is a job id from the start, "waiting" until a pop hands it to a worker. A job that is
// aborted (ttl passed) or faulted goes back to the queue as a fresh waiting id, until a request
// has faulted more than `maxFaultsPerRequest` times and is given up for good.

/** How the stand-in keeps time and gives up on jobs. */
export interface JobsOptions {
  /** Real seconds per stand-in second: 0.01 makes a 150 s ttl last 1.5 s. Applies to every horde duration. Default 1. */
  timeScale?: number;
  /** Replaces the §2.10 ttl formula for every job, in stand-in seconds (fractions allowed). */
  ttlOverrideSeconds?: number;
  /** Report the enforced ttl (rounded up, at least 1) in pops instead of the formula's value. Default false. */
  reportEffectiveTtl?: boolean;
  /** How often the abort sweep runs, in real ms; 0 turns the timer off (lazy sweeps still run). Default 100. */
  sweepIntervalMs?: number;
  /** The clock in ms; inject one to move time by hand. Default Date.now. */
  now?: () => number;
  /** A request whose jobs faulted more than this many times is faulted for good (§2.10). Default 2. */
  maxFaultsPerRequest?: number;
  /** More aborted jobs than this within an hour put a worker into maintenance (§2.7). Default 20. */
  maintenanceAbortThreshold?: number;
  /** Bridge table entries added to or replacing the defaults of bridges.ts. */
  bridges?: Record<string, BridgeSpec>;
  /** Seed of the stand-in's own random choices (seeds of requests without one, model picks). Default 1. */
  randomSeed?: number;
}

export type JobState = 'waiting' | 'processing' | 'done' | 'faulted' | 'aborted';

/** One image id. Times are stand-in seconds. */
export interface Job {
  id: string;
  requestId: string;
  /** Position of the image in its request (for seed_variation). */
  index: number;
  state: JobState;
  workerId: string | null;
  model: string | null;
  poppedAt: number | null;
  /** The ttl reported in the pop. */
  ttl: number | null;
  /** When the abort sweep gives up on it. */
  deadline: number | null;
  /** Whether the pop handed out an R2 upload URL for it. */
  r2: boolean;
  /** Whether the answer of the pop that assigned it reached the worker's socket (a dropped one did not). */
  popDelivered: boolean;
  /** Submits that reached this id (whatever their outcome). */
  submitCount: number;
  /** Submit answers written to the worker's socket, and submits that came after one had been. */
  submitsAnswered: number;
  /** performance.now() when the first submit answer was written to the worker; null before. */
  firstAnsweredAt: number | null;
  resubmitsAfterAnswer: number;
  /** Successful PUTs to its upload URL, and every PUT to its upload path (refused and faulted ones too). */
  uploadCount: number;
  uploadAttempts: number;
  reward: number | null;
  submitState: string | null;
  /**
   * What its accepted submit's gen_metadata said of censorship: the horde marks an image censored
   * from a `censorship` entry alone (`csam` for value csam, `nsfw` for any other); null when none.
   */
  censorship: 'nsfw' | 'csam' | null;
  /** The accepted submit's gen_metadata, as the requester's status shows it. */
  genMetadata: unknown[];
  /** The seed its accepted submit reported (the requester's status shows it); null before. */
  seed: number | null;
  /** Why a job ended without an image. */
  abortReason: 'ttl' | 'faulted' | 'request-faulted' | null;
}

/** A waiting prompt. */
export interface WaitingRequest {
  id: string;
  ownerId: number;
  request: ResolvedRequest;
  /** Per-image value before the baseline multiplier (§3.1). */
  kudos: number;
  seed: number | undefined;
  jobIds: string[];
  faults: number;
  faulted: boolean;
  createdAt: number;
}

/** The per-image value of a request (§3.1; see kudos.ts for the table and formula). */
export function requestKudos(request: ResolvedRequest): number {
  return imageKudos({
    width: request.width,
    height: request.height,
    steps: request.steps,
    sampler: request.sampler,
    karras: request.karras,
    cfgScale: request.cfgScale,
    hiresFix: request.hiresFix,
    postProcessing: request.postProcessing,
    controlType: request.controlType,
    returnControlMap: request.params.return_control_map ?? false,
    hasSourceImage: request.sourceImage !== null,
    loras: request.loras,
    tis: request.tis,
  });
}

/** Mulberry32: a small deterministic generator of floats in [0, 1), shared with the graph builder's test weights. */
export const createRng = mulberry32;

/**
 * A job submitted with `censorship/csam`, recorded against its requester as the horde's
 * `record_problem_job` does (H:`classes/base/user.py`): the user, the job, the worker, when.
 */
export interface ProblemJob {
  userId: number;
  jobId: string;
  workerId: string;
  /** Stand-in seconds. */
  at: number;
}

/** The queue of one stand-in. */
export class JobBoard {
  readonly requests = new Map<string, WaitingRequest>();
  readonly jobs = new Map<string, Job>();
  /** The bytes of the last successful upload per job id. */
  readonly uploads = new Map<string, Buffer>();
  /** The requests' source images and masks, as the horde keeps them in R2 (sources.ts). */
  readonly sources = new SourceStore();
  readonly bridges: Record<string, BridgeSpec>;
  readonly counters = { pops: 0, emptyPops: 0, submits: 0, uploads: 0, refusedUploads: 0, rewards: 0, sourceDownloads: 0 };
  /** The stand-in's own origin, set once it listens; upload URLs point here. */
  baseUrl = 'http://127.0.0.1';
  readonly random: () => number;
  /** CSAM submits recorded against their requesters, oldest first. */
  readonly problemJobs: ProblemJob[] = [];
  /** Ids of the fake jobs handed to paused workers (see fakeJob). */
  private readonly fakeIds = new Set<string>();
  private readonly secret = randomBytes(16);
  private readonly clock: () => number;
  private readonly timeScale: number;

  constructor(
    readonly opts: JobsOptions,
    readonly workers: WorkerRegistry,
    private readonly baselineOf: (model: string) => string,
  ) {
    this.clock = opts.now ?? Date.now;
    this.timeScale = opts.timeScale ?? 1;
    if (!(this.timeScale > 0)) throw new RangeError('timeScale must be > 0');
    this.bridges = { ...defaultBridges(), ...opts.bridges };
    this.random = createRng(opts.randomSeed ?? 1);
  }

  /** Stand-in seconds: real seconds divided by the time scale. */
  nowS(): number {
    return this.clock() / 1000 / this.timeScale;
  }

  enqueue(request: ResolvedRequest, ownerId: number): WaitingRequest {
    const wp: WaitingRequest = {
      id: randomUUID(),
      ownerId,
      request,
      jobIds: [],
      faults: 0,
      faulted: false,
      createdAt: this.nowS(),
      seed: seedNumber(request.params.seed),
      kudos: requestKudos(request),
    };
    this.requests.set(wp.id, wp);
    if (request.sourceImage !== null) this.sources.add(wp.id, 'source_image', request.sourceImage);
    if (request.sourceMask !== null) this.sources.add(wp.id, 'source_mask', request.sourceMask);
    for (let index = 0; index < request.n; index += 1) this.addJob(wp, index);
    return wp;
  }

  private addJob(wp: WaitingRequest, index: number): Job {
    const job: Job = {
      id: randomUUID(),
      requestId: wp.id,
      index,
      state: 'waiting',
      workerId: null,
      model: null,
      poppedAt: null,
      ttl: null,
      deadline: null,
      r2: false,
      popDelivered: false,
      submitCount: 0,
      submitsAnswered: 0,
      firstAnsweredAt: null,
      resubmitsAfterAnswer: 0,
      uploadCount: 0,
      uploadAttempts: 0,
      reward: null,
      submitState: null,
      censorship: null,
      genMetadata: [],
      seed: null,
      abortReason: null,
    };
    this.jobs.set(job.id, job);
    wp.jobIds.push(job.id);
    return job;
  }

  jobsOf(wp: WaitingRequest, state?: JobState): Job[] {
    const all = wp.jobIds.map((id) => this.jobs.get(id)).filter((job): job is Job => job !== undefined);
    return state ? all.filter((job) => job.state === state) : all;
  }

  /** The ttl a pop reports and the one enforced, in stand-in seconds. */
  ttlFor(wp: WaitingRequest, worker: StandinWorker): { reported: number; enforced: number } {
    const r = wp.request;
    const baselines = r.models.map((m) => this.baselineOf(m));
    const formula = jobTtl(r, baselines, worker.config.extra_slow_worker);
    const enforced = this.opts.ttlOverrideSeconds ?? formula;
    return { reported: this.opts.reportEffectiveTtl ? Math.max(1, Math.ceil(enforced)) : formula, enforced };
  }

  /** Hands waiting jobs of a request to a worker. */
  assign(wp: WaitingRequest, worker: StandinWorker, count: number, model: string, r2: boolean): Job[] {
    const now = this.nowS();
    const { reported, enforced } = this.ttlFor(wp, worker);
    const jobs = this.jobsOf(wp, 'waiting').slice(0, count);
    for (const job of jobs) {
      Object.assign(job, { state: 'processing', workerId: worker.id, model, poppedAt: now, ttl: reported, deadline: now + enforced, r2 });
    }
    return jobs;
  }

  /**
   * A paused worker's fake job (HORDE-PROTOCOL §2.7 item 8): an id of this request handed to the
   * worker alone, outside the request's images, so they keep waiting for a real worker. Its submit
   * is answered with a reward like any other, but the horde credits nothing for it.
   */
  fakeJob(wp: WaitingRequest, worker: StandinWorker, model: string): Job {
    const job = this.addJob(wp, 0);
    wp.jobIds.pop();
    this.fakeIds.add(job.id);
    const now = this.nowS();
    const { reported, enforced } = this.ttlFor(wp, worker);
    Object.assign(job, {
      state: 'processing',
      workerId: worker.id,
      model,
      poppedAt: now,
      ttl: reported,
      deadline: now + enforced,
      r2: wp.request.r2,
    });
    return job;
  }

  /** Whether a job id is a paused worker's fake job. */
  isFake(jobId: string): boolean {
    return this.fakeIds.has(jobId);
  }

  /** The reward a submit answers for a job: the request's value times the model's baseline multiplier. */
  rewardFor(job: Job): number {
    const wp = this.requests.get(job.requestId);
    if (!wp) return 0;
    const baseline = this.baselineOf(job.model ?? '');
    const mult = baselineMultiplier(baseline, { qrCode: wp.request.params.workflow === 'qr_code', hiresFix: wp.request.hiresFix });
    return Math.round(wp.kudos * mult * 100) / 100;
  }

  /**
   * Ends a processing job without an image: counts against its worker, and requeues the image
   * unless the request has now faulted too often.
   */
  abort(job: Job, reason: 'ttl' | 'faulted'): void {
    if (job.state !== 'processing') return;
    job.state = reason === 'ttl' ? 'aborted' : 'faulted';
    job.abortReason = reason;
    job.reward = 0;
    const worker = job.workerId ? this.workers.get(job.workerId) : undefined;
    if (worker) this.workers.recordAbort(worker, this.nowS());
    // A fake job was never one of the request's images: nothing goes back to its queue.
    if (this.fakeIds.has(job.id)) return;
    const wp = this.requests.get(job.requestId);
    if (!wp) return;
    wp.faults += 1;
    if (wp.faults > (this.opts.maxFaultsPerRequest ?? 2)) {
      wp.faulted = true;
      for (const waiting of this.jobsOf(wp, 'waiting')) Object.assign(waiting, { state: 'faulted', abortReason: 'request-faulted' });
    } else {
      this.addJob(wp, job.index);
    }
  }

  /** Aborts every processing job past its deadline; returns their ids. */
  sweep(): string[] {
    const now = this.nowS();
    const late = [...this.jobs.values()].filter((job) => job.state === 'processing' && job.deadline !== null && now > job.deadline);
    for (const job of late) this.abort(job, 'ttl');
    return late.map((job) => job.id);
  }

  /** Deletes a request and its jobs, as the horde does when a request expires (later submits: 404). */
  expire(requestId: string): boolean {
    const wp = this.requests.get(requestId);
    if (!wp) return false;
    for (const id of wp.jobIds) {
      this.jobs.delete(id);
      this.uploads.delete(id);
    }
    this.sources.drop(requestId);
    return this.requests.delete(requestId);
  }

  /** Counts a PUT to a job's upload path, whatever it will be answered (faults included). */
  noteUploadAttempt(path: string): void {
    const id = /^\/upload\/([0-9a-f-]{36})\.webp$/.exec(path)?.[1];
    const job = id ? this.jobs.get(id) : undefined;
    if (job) job.uploadAttempts += 1;
  }

  /** The presigned PUT URL of a job: under the stand-in's own origin, signed with a per-instance secret. */
  uploadUrl(jobId: string): string {
    return `${this.baseUrl}/upload/${jobId}.webp?sig=${this.signature(jobId)}`;
  }

  signature(jobId: string): string {
    return createHmac('sha256', this.secret).update(jobId).digest('hex').slice(0, 32);
  }

  /** The presigned GET URL of a request's stored source (what bridges with `r2_source` are given). */
  sourceUrl(requestId: string, field: SourceField): string {
    const key = `${requestId}-${field}`;
    return `${this.baseUrl}/source/${key}.webp?sig=${this.signature(key)}`;
  }

  /**
   * A request's sources as a pop hands them to a worker: URLs for bridges with `r2_source`, else
   * base64 WebP at quality 50; null where the request has none. Call after `sources.ready()`.
   */
  popSources(wp: WaitingRequest, r2Source: boolean): Record<SourceField, string | null> {
    const one = (field: SourceField): string | null => {
      const stored = this.sources.get(wp.id, field);
      if (!stored) return null;
      return r2Source ? this.sourceUrl(wp.id, field) : stored.inline;
    };
    return { source_image: one('source_image'), source_mask: one('source_mask') };
  }
}
