import { kindRequest, STANDIN_KINDS, type KindRequestOptions, type StandinKind } from './kinds';
import { mixedRequests, type MixedOptions } from './mixed';
import { matchRequest, type SkipReason } from './popMatch';
import type { Job, JobState, ProblemJob } from './queue';
import type { GenerationRequestBody } from './requests';
import { isAnswer } from './router';
import { enqueueRequest, type EnqueueResult } from './routesAsync';
import { workerDetails } from './routesWorkers';
import { addKnownModel, inpaintingModelNames, type StandinState } from './state';
import { STANDIN_KEYS } from './users';

// What tests see of the worker side of the stand-in, and how they steer it. Every read first runs
// the abort sweep, so a test with an injected clock sees late jobs aborted without waiting for
// the timer.

/** One image id as tests see it. */
export interface JobInfo {
  id: string;
  requestId: string;
  state: JobState;
  /** Name of the worker it was popped by; null while waiting. */
  worker: string | null;
  model: string | null;
  /** The ttl its pop reported. */
  ttl: number | null;
  /** Whether its pop gave an R2 upload URL. */
  r2: boolean;
  /** Whether the pop answer that assigned it reached the worker (false: lost on the way, or still waiting). */
  popDelivered: boolean;
  /** Submits that reached this id, whatever their outcome (faults intercepted before the route excluded). */
  submitCount: number;
  /** Submits that arrived after an earlier submit's answer had been written to the worker: true duplicates. */
  resubmitsAfterAnswer: number;
  /** Stored uploads, and every PUT to its upload path (refused and faulted ones too). */
  uploadCount: number;
  uploadAttempts: number;
  /** The submit's reward (0 when aborted or faulted); null before. */
  reward: number | null;
  submitState: string | null;
  /** What the accepted submit's gen_metadata said of censorship (the horde reads nothing else); null when none. */
  censorship: Job['censorship'];
  /** The accepted submit's gen_metadata. */
  genMetadata: unknown[];
  abortReason: Job['abortReason'];
}

/** One queued request. "faulted": given up after too many faulted jobs. */
export interface RequestInfo {
  id: string;
  state: 'waiting' | 'processing' | 'done' | 'faulted';
  ownerId: number;
  n: number;
  waiting: number;
  processing: number;
  done: number;
  faults: number;
  models: string[];
  r2: boolean;
  /** Per-image value before the baseline multiplier. */
  kudos: number;
}

/** One request with waiting images, as a named worker's next pop would judge it. */
export interface WaitingOutlook {
  id: string;
  /** Images still waiting. */
  waiting: number;
  /** Stand-in seconds since it was queued. */
  ageS: number;
  /** Whether the worker's last pop (its models, flags and bridge) could take it. */
  servable: boolean;
  /** Why not, under the horde's `skipped` key; null when servable or filtered silently. */
  reason: SkipReason | null;
}

/** Totals since start. */
export interface StandinStats {
  requests: number;
  jobs: Record<JobState, number>;
  pops: number;
  emptyPops: number;
  submits: number;
  uploads: number;
  refusedUploads: number;
  /** Sum of submit rewards (before bridge multipliers). */
  rewards: number;
  workers: number;
  /** Downloads of source images and masks from their presigned URLs (faulted ones included). */
  sourceDownloads: number;
}

/** The handle methods for the worker side. */
export interface StandinJobsApi {
  /** Queues a request as the requester (or the user of `apikey`); throws when it is invalid. */
  enqueue(body: GenerationRequestBody, opts?: { apikey?: string }): EnqueueResult;
  /**
   * Queues one request of a kind (kinds.ts) as a requester sends it: img2img, inpainting with a mask
   * or with the source's alpha, outpainting, hires_fix, tiling (or plain txt2img), with a picture the
   * stand-in draws as the source; throws when it is refused.
   */
  enqueueKind(kind: StandinKind, opts?: KindRequestOptions & { apikey?: string }): EnqueueResult;
  /** Queues one request of every kind; the results by kind. */
  enqueueKinds(opts?: KindRequestOptions & { apikey?: string }): Record<StandinKind, EnqueueResult>;
  /** Queues `count` realistic requests drawn deterministically from `seed` (mixed.ts); their models become known. */
  enqueueMixed(count: number, seed: number | string, opts?: MixedOptions & { apikey?: string }): EnqueueResult[];
  jobs(): JobInfo[];
  job(id: string): JobInfo | undefined;
  queue(): RequestInfo[];
  stats(): StandinStats;
  /** WorkerDetails of every registered worker, online or not. */
  workers(): Record<string, unknown>[];
  worker(name: string): Record<string, unknown> | undefined;
  /** Sets or clears a worker's maintenance, as its owner's PUT would; throws for an unknown name. */
  setWorkerMaintenance(name: string, on: boolean, message?: string): void;
  /** CSAM submits recorded against their requesters (the horde's problem jobs), oldest first. */
  problemJobs(): ProblemJob[];
  /** The last image delivered for a job (uploaded, or decoded from a base64 submit). */
  image(id: string): Buffer | undefined;
  /** Runs the abort sweep now; returns the ids it aborted. */
  sweep(): string[];
  /** Deletes a request and its jobs as if it had expired; later submits for them get 404. */
  expireRequest(id: string): boolean;
  /**
   * Whether the named worker is done with the queue: none of its jobs is processing and no waiting
   * image is one its last pop could take (requests it may not serve are left waiting, as the horde
   * leaves them). False for an unknown name.
   */
  drained(workerName: string): boolean;
  /**
   * Every request with waiting images as the named worker's next pop would judge it (from what
   * its last pop declared), oldest first; null for a worker that never popped.
   */
  outlook(workerName: string): WaitingOutlook[] | null;
}

/** Builds the worker-side handle methods over one stand-in's state. */
export function createJobsApi(state: StandinState, mixedDefaults: MixedOptions = {}): StandinJobsApi {
  const board = state.board;
  const enqueue: StandinJobsApi['enqueue'] = (body, opts = {}) => enqueueAs(state, body, opts);
  const jobs = (): JobInfo[] => jobInfos(state);

  const enqueueKind: StandinJobsApi['enqueueKind'] = (kind, opts = {}) => enqueue(kindRequest(kind, opts), opts);
  return {
    enqueue,
    enqueueKind,
    enqueueKinds: (opts = {}) =>
      Object.fromEntries(STANDIN_KINDS.map((kind) => [kind, enqueueKind(kind, opts)])) as Record<StandinKind, EnqueueResult>,
    enqueueMixed(count, seed, opts = {}) {
      const options = { ...mixedDefaults, ...opts };
      for (const model of options.models ?? []) addKnownModel(state.models, model);
      return mixedRequests(count, seed, options).map((body) => enqueue(body, opts));
    },
    jobs,
    job: (id) => jobs().find((job) => job.id === id),
    queue: () => queueInfo(state),
    stats: () => statsOf(state),
    workers: () => board.workers.all().map((w) => workerDetails(state, w, 0)),
    worker(name) {
      const worker = board.workers.named(name);
      return worker && workerDetails(state, worker, 0);
    },
    setWorkerMaintenance(name, on, message) {
      const worker = board.workers.named(name);
      if (!worker) throw new Error(`setWorkerMaintenance: no worker named "${name}"`);
      board.workers.setMaintenance(worker, on, message);
    },
    problemJobs: () => [...board.problemJobs],
    image: (id) => board.uploads.get(id),
    sweep: () => board.sweep(),
    expireRequest: (id) => board.expire(id),
    drained: (workerName) => drainedFor(state, workerName),
    outlook: (workerName) => outlookFor(state, workerName),
  };
}

/** The id of the stand-in user who owns `apikey` (the requester when none is given); throws for an unknown key. */
function ownerOf(state: StandinState, apikey: string | undefined): number {
  const user = state.users.byKey(apikey ?? STANDIN_KEYS.requester);
  if (!user) throw new Error('enqueue: no stand-in user has that API key');
  return user.id;
}

/** Queues a request as the owner of `opts.apikey` (handle.enqueue()); throws when the stand-in refuses it. */
function enqueueAs(state: StandinState, body: GenerationRequestBody, opts: { apikey?: string }): EnqueueResult {
  const result = enqueueRequest(state, body, ownerOf(state, opts.apikey));
  if (isAnswer(result)) throw new Error(`enqueue: the stand-in refused the request: ${JSON.stringify(result.body)}`);
  return result;
}

/** One job as tests see it, with the name of the worker that popped it. */
function jobInfo(state: StandinState, job: Job): JobInfo {
  const worker = job.workerId ? state.board.workers.get(job.workerId) : undefined;
  const {
    id,
    requestId,
    state: jobState,
    model,
    ttl,
    r2,
    popDelivered,
    submitCount,
    resubmitsAfterAnswer,
    uploadCount,
    uploadAttempts,
    reward,
    submitState,
    censorship,
    genMetadata,
    abortReason,
  } = job;
  return {
    id,
    requestId,
    state: jobState,
    worker: worker?.name ?? null,
    model,
    ttl,
    r2,
    popDelivered,
    submitCount,
    resubmitsAfterAnswer,
    uploadCount,
    uploadAttempts,
    reward,
    submitState,
    censorship,
    genMetadata: [...genMetadata],
    abortReason,
  };
}

/** Every job after the abort sweep (handle.jobs()). */
function jobInfos(state: StandinState): JobInfo[] {
  state.board.sweep();
  return [...state.board.jobs.values()].map((job) => jobInfo(state, job));
}

/** Totals since start, jobs counted by state after the abort sweep (handle.stats()). */
function statsOf(state: StandinState): StandinStats {
  const board = state.board;
  const byState = { waiting: 0, processing: 0, done: 0, faulted: 0, aborted: 0 };
  for (const job of jobInfos(state)) byState[job.state] += 1;
  const { pops, emptyPops, submits, uploads, refusedUploads, rewards, sourceDownloads } = board.counters;
  return {
    requests: board.requests.size,
    jobs: byState,
    pops,
    emptyPops,
    submits,
    uploads,
    refusedUploads,
    rewards,
    workers: board.workers.all().length,
    sourceDownloads,
  };
}

/** The queued requests with their job counts (handle.queue()). */
function queueInfo(state: StandinState): RequestInfo[] {
  const board = state.board;
  board.sweep();
  return [...board.requests.values()].map((wp) => {
    const count = (s: JobState) => board.jobsOf(wp, s).length;
    const [waiting, processing, done] = [count('waiting'), count('processing'), count('done')];
    const derived = wp.faulted ? 'faulted' : waiting ? 'waiting' : processing ? 'processing' : 'done';
    const r = wp.request;
    return {
      id: wp.id,
      state: derived,
      ownerId: wp.ownerId,
      n: r.n,
      waiting,
      processing,
      done,
      faults: wp.faults,
      models: r.models,
      r2: r.r2,
      kudos: wp.kudos,
    };
  });
}

/** Whether the named worker holds no job and no waiting request would match it (handle.drained()). */
function drainedFor(state: StandinState, workerName: string): boolean {
  const board = state.board;
  board.sweep();
  const worker = board.workers.named(workerName);
  if (!worker) return false;
  if ([...board.jobs.values()].some((job) => job.state === 'processing' && job.workerId === worker.id)) return false;
  const inMaintenance = worker.maintenance || state.faults.current().workerMaintenance;
  return [...board.requests.values()].every(
    (wp) =>
      wp.faulted ||
      board.jobsOf(wp, 'waiting').length === 0 ||
      !matchRequest(wp, worker, inMaintenance, state.users, inpaintingModelNames(state)).ok,
  );
}

/** The waiting requests as the named worker sees them (handle.outlook()); null for an unknown worker. */
function outlookFor(state: StandinState, workerName: string): WaitingOutlook[] | null {
  const board = state.board;
  board.sweep();
  const worker = board.workers.named(workerName);
  if (!worker) return null;
  const inMaintenance = worker.maintenance || state.faults.current().workerMaintenance;
  const now = board.nowS();
  return [...board.requests.values()]
    .filter((wp) => !wp.faulted && board.jobsOf(wp, 'waiting').length > 0)
    .map((wp) => {
      const match = matchRequest(wp, worker, inMaintenance, state.users, inpaintingModelNames(state));
      return {
        id: wp.id,
        waiting: board.jobsOf(wp, 'waiting').length,
        ageS: now - wp.createdAt,
        servable: match.ok,
        reason: match.ok ? null : match.reason,
      };
    });
}
