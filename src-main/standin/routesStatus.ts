import type { Job, JobBoard, WaitingRequest } from './queue';
import { hordeError, json, type Answer, type Route } from './router';
import type { StandinState } from './state';

// What a requester reads of its request: `GET /v2/generate/check/{id}` (counts only) and
// `GET /v2/generate/status/{id}` (the counts plus the images), in the keys and order of the
// recorded answers (horde-exchange 10_check.json, 11_status.json). The counts follow the horde's
// waiting prompt (H:`classes/base/waiting_prompt.py` count_processing_gens, is_completed): a job a
// worker faulted or let time out is "restarted", and its image goes back to "waiting" until the
// request has faulted too often. Left simple: `wait_time` is 0, `is_possible` is true, and `kudos`
// is what the requester was charged: the rewards of the delivered images, rounded, where a censored
// image counts 0 (H:`classes/base/processing_generation.py` adjust_user_kudos). Each generation
// carries `censored` and the `gen_metadata` its worker submitted (H:`classes/stable/processing_generation.py` get_details).

/** The counts both routes answer. */
export interface RequestCounts {
  finished: number;
  processing: number;
  restarted: number;
  waiting: number;
  done: boolean;
  faulted: boolean;
  wait_time: number;
  queue_position: number;
  kudos: number;
  is_possible: boolean;
}

/** The counts of one request, after the abort sweep. */
export function requestCounts(board: JobBoard, wp: WaitingRequest): RequestCounts {
  board.sweep();
  // Jobs a worker was given are the horde's processing generations; waiting ids are not.
  const given = board.jobsOf(wp).filter((job) => job.workerId !== null);
  const finished = given.filter((job) => job.state === 'done').length;
  const restarted = given.filter((job) => job.state === 'faulted' || job.state === 'aborted').length;
  const waiting = board.jobsOf(wp, 'waiting').length;
  // is_completed: a faulted request is complete; otherwise nothing may wait and every image must be
  // accounted for by a finished or faulted generation (the horde counts both).
  const done = wp.faulted || (waiting === 0 && finished + restarted >= wp.request.n);
  const open = [...board.requests.values()].filter((other) => !other.faulted && board.jobsOf(other, 'waiting').length > 0);
  const position = open.findIndex((other) => other.id === wp.id);
  const charged = (job: Job): number => (job.state === 'done' && job.censorship === null ? (job.reward ?? 0) : 0);
  const kudos = given.reduce((sum, job) => sum + charged(job), 0);
  return {
    finished,
    processing: given.filter((job) => job.state === 'processing').length,
    restarted,
    waiting,
    done,
    faulted: wp.faulted,
    wait_time: 0,
    queue_position: position + 1,
    kudos: Math.round(kudos),
    is_possible: true,
  };
}

function notFound(id: string): Answer {
  return hordeError(404, 'RequestNotFound', `Waiting Prompt with ID '${id}' not found.`);
}

/** One delivered image as the status lists it: a download URL for r2 requests, base64 otherwise. */
function generation(state: StandinState, wp: WaitingRequest, job: Job): Record<string, unknown> {
  const board = state.board;
  const worker = job.workerId ? board.workers.get(job.workerId) : undefined;
  const bytes = board.uploads.get(job.id);
  return {
    img: wp.request.r2 ? board.uploadUrl(job.id) : (bytes?.toString('base64') ?? ''),
    seed: String(job.seed ?? 0),
    id: job.id,
    censored: job.censorship !== null,
    gen_metadata: job.genMetadata,
    worker_id: job.workerId,
    worker_name: worker?.name ?? null,
    model: job.model,
    state: job.submitState ?? 'ok',
  };
}

const check: Route<StandinState> = {
  method: 'GET',
  pattern: 'generate/check/:id',
  handle(req, state) {
    const id = req.params.id ?? '';
    const wp = state.board.requests.get(id);
    return wp ? json(200, requestCounts(state.board, wp)) : notFound(id);
  },
};

const status: Route<StandinState> = {
  method: 'GET',
  pattern: 'generate/status/:id',
  handle(req, state) {
    const id = req.params.id ?? '';
    const wp = state.board.requests.get(id);
    if (!wp) return notFound(id);
    const counts = requestCounts(state.board, wp);
    const generations = state.board.jobsOf(wp, 'done').map((job) => generation(state, wp, job));
    return json(200, { generations, shared: false, ...counts });
  },
};

/** The requester's read routes, mounted under `/api/v2`. */
export const statusRoutes: readonly Route<StandinState>[] = [check, status];
