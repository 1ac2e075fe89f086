import { resolveBridge } from './bridges';
import { safeAmount } from './kudos';
import { fakeFor, fakePop, tricked } from './pause';
import { emptyAnswer, jobAnswer, matchRequest, payloadFor, type SkipReason } from './popMatch';
import type { Job, WaitingRequest } from './queue';
import { hordeError, isAnswer, json, type Answer, type Route, type RouteRequest } from './router';
import { invalidApiKey } from './routesV2';
import { inpaintingModelNames, type StandinState } from './state';
import type { StandinUser } from './users';
import { keyedBody, type BodySpec } from './validate';
import { OWNER_MAINTENANCE_MESSAGE, type StandinWorker, type WorkerConfig } from './workers';

// `POST /v2/generate/pop` (HORDE-PROTOCOL.md §2.2, §2.3, §2.7, §2.9, §2.11), in the horde's order:
// body validation, key, account checks, worker name (created on first use, 403 for another
// owner's name), check-in (models, uptime), then the queue: the owner's and priority users'
// requests first, then everyone's in arrival order. No job and the worker in maintenance → 403.

/** `PopInputStable` as validated by flask-restx; the reqparse defaults are applied afterwards. */
const POP_SPEC: BodySpec = {
  name: { type: 'string', required: true },
  priority_usernames: { type: 'string[]' },
  nsfw: { type: 'boolean' },
  models: { type: 'string[]', itemMinLength: 3, itemMaxLength: 255 },
  bridge_agent: { type: 'string', maxLength: 1000 },
  threads: { type: 'integer', min: 1, max: 50 },
  require_upfront_kudos: { type: 'boolean' },
  amount: { type: 'integer', min: 1, max: 20 },
  extra_slow_worker: { type: 'boolean' },
  max_pixels: { type: 'integer' },
  blacklist: { type: 'string[]' },
  allow_img2img: { type: 'boolean' },
  allow_painting: { type: 'boolean' },
  allow_unsafe_ipaddr: { type: 'boolean' },
  allow_post_processing: { type: 'boolean' },
  allow_controlnet: { type: 'boolean' },
  allow_sdxl_controlnet: { type: 'boolean' },
  allow_lora: { type: 'boolean' },
  limit_max_steps: { type: 'boolean' },
};

/** The reqparse defaults (§2.2), several of which differ from the swagger ones. */
function popConfig(body: Record<string, unknown>): WorkerConfig {
  const pick = <T>(key: string, fallback: T): T => (body[key] === undefined ? fallback : (body[key] as T));
  return {
    nsfw: pick('nsfw', true),
    models: pick<string[]>('models', []),
    bridge_agent: pick('bridge_agent', 'unknown:0:unknown'),
    threads: pick('threads', 1),
    require_upfront_kudos: pick('require_upfront_kudos', false),
    amount: pick('amount', 1),
    extra_slow_worker: pick('extra_slow_worker', false),
    max_pixels: pick('max_pixels', 262144),
    blacklist: pick<string[]>('blacklist', []).slice(0, 200),
    priority_usernames: pick<string[]>('priority_usernames', []),
    allow_img2img: pick('allow_img2img', true),
    allow_painting: pick('allow_painting', true),
    allow_unsafe_ipaddr: pick('allow_unsafe_ipaddr', true),
    allow_post_processing: pick('allow_post_processing', true),
    allow_controlnet: pick('allow_controlnet', false),
    allow_sdxl_controlnet: pick('allow_sdxl_controlnet', false),
    allow_lora: pick('allow_lora', false),
    limit_max_steps: pick('limit_max_steps', false),
  };
}

/** The pop handler's checks up to a checked-in worker, or the answer that ends it early. */
function admitWorker(req: RouteRequest, state: StandinState): { worker: StandinWorker; user: StandinUser } | Answer {
  const opened = keyedBody(req, POP_SPEC, 'The API Key corresponding to a registered user.');
  if (isAnswer(opened)) return opened;
  const { body, key } = opened;
  const config = popConfig(body);
  // Checked before the key, as the horde's handler starts with it.
  if (config.priority_usernames.some((name) => !/#\d+$/.test(name))) {
    return hordeError(
      400,
      'InvalidPriorityUsername',
      "Priority usernames need to be provided in the form of 'alias#number'. Example: 'db0#1'",
    );
  }
  const user = state.users.byKey(key);
  if (!user) return invalidApiKey();
  if (user.details.flagged === true) {
    return hordeError(
      403,
      'WorkerFlaggedMaintenance',
      'Your user has been flagged by our community for suspicious activity. Please contact us on discord: https://discord.gg/3DxrhksKzn',
    );
  }
  if (user.id === 0) return hordeError(403, 'AnonForbiddenWorker', 'Anonymous user is forbidden from performing this operation');
  // bleach.clean + trim, reduced to the trim and tag stripping a test could notice.
  const name = String(body.name)
    .replace(/<[^>]*>/g, '')
    .trim();
  const board = state.board;
  const now = board.nowS();
  const bridge = resolveBridge(config.bridge_agent, board.bridges);
  let worker = board.workers.named(name);
  if (!worker) {
    const banned = /colab|tpu|google/i.exec(name);
    if (banned) return hordeError(400, 'BadRequest', `To avoid unwanted attention, please do not use '${banned[0]}' in your worker names.`);
    worker = board.workers.create(name, user.id, config, bridge, now);
  }
  if (worker.ownerId !== user.id) return hordeError(403, 'WrongCredentials', 'Wrong credentials to submit as this worker.');
  // Unknown models are dropped unless the user is a customizer; none left is a 400 (§2.2 `models`).
  const known = config.models.filter((m) => user.details.customizer === true || state.models.some((x) => x.name === m && x.known));
  if (known.length === 0)
    return hordeError(400, 'BadRequest', 'Unfortunately we cannot accept workers serving unrecognised models at this time');
  board.workers.checkIn(worker, { ...config, models: known.slice(0, 300) }, bridge, now);
  return { worker, user };
}

const pop: Route<StandinState> = {
  method: 'POST',
  pattern: 'generate/pop',
  async handle(req, state) {
    const admitted = admitWorker(req, state);
    if (isAnswer(admitted)) return admitted;
    const { worker, user } = admitted;
    const board = state.board;
    // Requests' sources are in R2 before they can be popped (the horde stores them when queuing).
    await board.sources.ready();
    const faults = state.faults.current();
    board.sweep();
    board.counters.pops += 1;
    const inMaintenance = worker.maintenance || faults.workerMaintenance;
    const skipped: Partial<Record<SkipReason, number>> = {};
    if (!faults.popEmpty) {
      for (const wp of queueOrder(state, user.id, worker.config.priority_usernames)) {
        if (tricked(worker, wp)) continue;
        const match = matchRequest(wp, worker, inMaintenance, state.users, inpaintingModelNames(state));
        if (!match.ok) {
          if (match.reason) skipped[match.reason] = (skipped[match.reason] ?? 0) + 1;
          continue;
        }
        if (fakeFor(worker, wp)) return json(200, fakePop(state, wp, worker, match.models));
        const jobs = startJobs(state, wp, worker, match.models);
        return { ...json(200, jobs.answer), onSent: () => jobs.assigned.forEach((job) => (job.popDelivered = true)) };
      }
    }
    board.counters.emptyPops += 1;
    if (inMaintenance) return hordeError(403, 'WorkerMaintenance', worker.maintenance ? worker.maintenanceMsg : OWNER_MAINTENANCE_MESSAGE);
    return json(200, emptyAnswer(skipped));
  },
};

/** Requests with waiting images: the owner's and the priority users' first, then the rest, oldest first. */
function queueOrder(state: StandinState, ownerId: number, priorityUsernames: readonly string[]): WaitingRequest[] {
  const board = state.board;
  const priority = new Set([ownerId, ...priorityUsernames.map((name) => Number(name.split('#').pop()))]);
  const open = [...board.requests.values()].filter((wp) => !wp.faulted && board.jobsOf(wp, 'waiting').length > 0);
  return [...open.filter((wp) => priority.has(wp.ownerId)), ...open.filter((wp) => !priority.has(wp.ownerId))];
}

/** Assigns up to the safe amount of a request's images and builds the pop answer. */
function startJobs(
  state: StandinState,
  wp: WaitingRequest,
  worker: StandinWorker,
  models: string[],
): { answer: Record<string, unknown>; assigned: Job[] } {
  const board = state.board;
  const r = wp.request;
  const count = safeAmount({
    maxPixels: worker.config.max_pixels,
    amount: worker.config.amount,
    width: r.width,
    height: r.height,
    postProcessing: r.postProcessing,
    transparent: r.transparent,
    waiting: board.jobsOf(wp, 'waiting').length,
    disableBatching: r.body.disable_batching ?? false,
  });
  const model = models[Math.floor(board.random() * models.length)] ?? models[0] ?? '';
  const jobs = board.assign(wp, worker, count, model, r.r2);
  // One seed per assignment: the request's (plus seed_variation per image index) or a fresh random one.
  const base = wp.seed ?? Math.floor(board.random() * 4294967296);
  const seed = (base + (r.params.seed_variation ?? 0) * (jobs[0]?.index ?? 0)) % 4294967296;
  const sources = board.popSources(wp, worker.bridge.has('r2_source'));
  return { answer: jobAnswer(wp, jobs, payloadFor(wp, seed, jobs.length), (id) => board.uploadUrl(id), sources), assigned: jobs };
}

/** The pop route, mounted under `/api/v2`. */
export const popRoutes: readonly Route<StandinState>[] = [pop];
