import { hordeError, isAnswer, json, type Route } from './router';
import { invalidApiKey } from './routesV2';
import type { StandinState } from './state';
import { keyedBody, type BodySpec } from './validate';
import type { StandinWorker, WorkerRegistry } from './workers';

// Worker records (HORDE-PROTOCOL.md §2.12, §3.5): `GET /v2/workers/{id}`, `GET /v2/workers/name/{name}`,
// `GET /v2/workers?name=&type=` and `PUT /v2/workers/{id}`. Details are marshalled with skip_none,
// so `info` only appears once set; the key set otherwise matches the recorded 14_worker.json.
// Owner-only fields (`owner`, `messages`) need `public_workers` (the owner gets no privilege here).

/** `WorkerDetails` at a privilege level: 0 anyone, 2 a moderator. */
export function workerDetails(state: StandinState, worker: StandinWorker, privilege: 0 | 2): Record<string, unknown> {
  const board = state.board;
  const c = worker.config;
  const owner = state.users.byId(worker.ownerId);
  const samples = worker.speedSamples;
  const speed = samples.length ? samples.reduce((a, b) => a + b, 0) / samples.length : 1;
  const details: Record<string, unknown> = {
    requests_fulfilled: worker.requestsFulfilled,
    kudos_rewards: worker.kudosGenerated + (worker.kudosUptime ?? 0),
    kudos_details: { generated: worker.kudosGenerated, uptime: worker.kudosUptime },
    performance: `${speed.toFixed(1)} megapixelsteps per second`,
    threads: c.threads,
    uptime: Math.floor(worker.uptime),
    maintenance_mode: worker.maintenance,
    ...(worker.info !== null ? { info: worker.info } : {}),
    nsfw: c.nsfw,
    trusted: owner?.details.trusted === true,
    flagged: owner?.details.flagged === true,
    uncompleted_jobs: worker.uncompletedJobs,
    models: c.models,
    team: { name: null, id: null },
    bridge_agent: c.bridge_agent,
    max_pixels: c.max_pixels,
    megapixelsteps_generated: worker.megapixelstepsGenerated,
    // The horde reports img2img/painting as false when the bridge lacks the capability.
    img2img: c.allow_img2img && worker.bridge.has('img2img'),
    painting: c.allow_painting && worker.bridge.has('inpainting'),
    'post-processing': c.allow_post_processing,
    lora: c.allow_lora,
    controlnet: c.allow_controlnet,
    sdxl_controlnet: c.allow_sdxl_controlnet,
    type: 'image',
    name: worker.name,
    id: worker.id,
    online: board.workers.online(worker, board.nowS()),
  };
  if (owner?.publicWorkers || privilege >= 2) {
    details.owner = String(owner?.details.username ?? '');
    details.messages = [];
  }
  // Only moderators see a pause: the owner's own key gets no `paused` (§2.12, §3.5).
  if (privilege >= 2) Object.assign(details, { paused: worker.paused, suspicious: 0, ipaddr: '127.0.0.1' });
  return details;
}

/** Privilege of an optional key on the worker GETs: only moderators get more (§2.12). */
function privilegeOf(state: StandinState, key: string | undefined): 0 | 2 {
  return key && state.users.byKey(key)?.moderator ? 2 : 0;
}

function notFound(id: string) {
  return hordeError(404, 'WorkerNotFound', `Worker with ID '${id}' not found.`);
}

/** `GET` of one worker, found by `find` from the path's `:param`; 404 WorkerNotFound names what was asked for. */
function oneWorker(
  pattern: string,
  param: string,
  find: (workers: WorkerRegistry, value: string) => StandinWorker | undefined,
): Route<StandinState> {
  return {
    method: 'GET',
    pattern,
    handle(req, state) {
      const value = req.params[param] ?? '';
      const worker = find(state.board.workers, value);
      return worker ? json(200, workerDetails(state, worker, privilegeOf(state, req.header('apikey')))) : notFound(value);
    },
  };
}

const single = oneWorker('workers/:id', 'id', (workers, id) => workers.get(id));
const byName = oneWorker('workers/name/:name', 'name', (workers, name) => workers.named(name));

/** Active (online) workers; `name` matches case-insensitively, as the horde filters its cache. */
const list: Route<StandinState> = {
  method: 'GET',
  pattern: 'workers',
  handle(req, state) {
    const board = state.board;
    const name = req.query.get('name')?.toLowerCase();
    const type = req.query.get('type');
    const privilege = privilegeOf(state, req.header('apikey'));
    const workers = board.workers
      .all()
      .filter((w) => board.workers.online(w, board.nowS()))
      .filter((w) => (name ? w.name.toLowerCase() === name : type ? type === 'image' : true));
    return json(
      200,
      workers.map((w) => workerDetails(state, w, privilege)),
    );
  },
};

const MODIFY_SPEC: BodySpec = {
  maintenance: { type: 'boolean' },
  maintenance_msg: { type: 'string' },
  paused: { type: 'boolean' },
  info: { type: 'string' },
  name: { type: 'string', minLength: 5, maxLength: 100 },
  team: { type: 'string' },
};

/**
 * `PUT /v2/workers/{id}`: the owner (or a moderator) sets maintenance and info (else 403 NotOwner),
 * name and team (else 403 NotModerator); `paused` is for moderators. Answers the changed fields.
 * The stand-in has no teams: "" leaves the team ("None"), any id is 404 TeamNotFound.
 */
const modify: Route<StandinState> = {
  method: 'PUT',
  pattern: 'workers/:id',
  handle(req, state) {
    const id = req.params.id ?? '';
    const registry = state.board.workers;
    const worker = registry.get(id);
    if (!worker) return notFound(id);
    const opened = keyedBody(req, MODIFY_SPEC, 'The Moderator or Owner API key.');
    if (isAnswer(opened)) return opened;
    const { body, key } = opened;
    const admin = state.users.byKey(key);
    if (!admin) return invalidApiKey();
    const allowed = admin.moderator || admin.id === worker.ownerId;
    const notOwner = hordeError(403, 'NotOwner', "You're not an admin. Sod off!");
    const notModerator = hordeError(403, 'NotModerator', "You're not a mod. BTFO!");
    const anon = hordeError(403, 'AnonForbiddenWorker', 'Anonymous user is forbidden from performing this operation');
    const changed: Record<string, unknown> = {};
    if (typeof body.maintenance === 'boolean') {
      if (!allowed) return notOwner;
      registry.setMaintenance(worker, body.maintenance, typeof body.maintenance_msg === 'string' ? body.maintenance_msg : undefined);
      changed.maintenance = worker.maintenance;
    }
    if (typeof body.info === 'string') {
      if (!allowed) return notOwner;
      if (admin.id === 0) return anon;
      if (body.info.length > 1000)
        return hordeError(400, 'TooLongWorkerName', 'The specified worker info is too long. Please stay below 1000');
      worker.info = body.info;
      changed.info = worker.info;
    }
    if (typeof body.paused === 'boolean') {
      if (!admin.moderator) return notModerator;
      worker.paused = body.paused;
      changed.paused = worker.paused;
    }
    if (typeof body.name === 'string') {
      if (!allowed) return notModerator;
      if (admin.id === 0) return anon;
      const taken = registry.named(body.name);
      if (taken && taken !== worker) {
        return hordeError(400, 'WorkerNameAlreadyExists', `The specified worker name '${body.name}' is already taken!`);
      }
      worker.name = body.name;
      changed.name = worker.name;
    }
    if (typeof body.team === 'string') {
      if (!allowed) return notModerator;
      if (admin.id === 0) return anon;
      if (body.team !== '') return hordeError(404, 'TeamNotFound', `Team with ID '${body.team}' not found.`);
      changed.team = 'None';
    }
    if (Object.keys(changed).length === 0) return hordeError(400, 'NoWorkerModSelected', 'No worker modification selected!');
    return json(200, changed);
  },
};

/** Worker routes, mounted under `/api/v2`. */
export const workerRoutes: readonly Route<StandinState>[] = [list, byName, single, modify];
