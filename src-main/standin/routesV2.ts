import { hordeError, intArg, isAnswer, json, type Answer, type Route, type RouteRequest } from './router';
import { activeModelBody, HORDE_VERSION, type StandinState } from './state';
import { detailsAt } from './users';

// The main API under /api/v2, following the horde's handlers (horde/apis/v2/base.py) as
// summarised in HORDE-PROTOCOL.md §1 and §2.12. The worker side lives beside it: routesAsync.ts
// (generate/async), routesPop.ts (generate/pop), routesSubmit.ts (generate/submit and the upload
// URLs) and routesWorkers.ts (workers); server.ts mounts them all under /api/v2.

/** The horde's text for a key that matches nobody (exceptions.InvalidAPIKey). */
export const INVALID_API_KEY_MESSAGE =
  'No user matching sent API Key. Have you remembered to register at https://stablehorde.net/register ?';

/** 401 InvalidAPIKey, as every endpoint that needs a known key answers an unknown one. */
export function invalidApiKey(): Answer {
  return hordeError(401, 'InvalidAPIKey', INVALID_API_KEY_MESSAGE);
}

/** The placeholder agent from the horde's own docs, which it bans on `/generate/async` (§1.2). */
export const BANNED_CLIENT_AGENT = 'My-Project:v0.0.1:My-Contact';

/**
 * 403 BannedClientAgent for the banned placeholder agent, else undefined. Only `POST
 * /v2/generate/async` checks it in the horde (routesAsync.ts).
 */
export function rejectBannedClientAgent(req: RouteRequest): Answer | undefined {
  if (req.header('client-agent') !== BANNED_CLIENT_AGENT) return undefined;
  return hordeError(
    403,
    'BannedClientAgent',
    "This Client-Agent appears badly designed and is causing too many warnings. First ensure it provides a proper name and contact details. Then contact us on Discord to discuss the issue it's creating.",
  );
}

const heartbeat: Route<StandinState> = {
  method: 'GET',
  pattern: 'status/heartbeat',
  handle(_req, state) {
    const health = state.faults.current().heartbeat;
    return json(200, {
      message: health,
      version: HORDE_VERSION,
      queue: health === 'OVERLOADED' ? 4 : 0,
      threads: 16,
      active_count: 1,
      db_connection: health !== 'DOWN',
    });
  },
};

/** `raid_mode` is shown to moderators only; any other key is refused (HordeModes.get). */
const modes: Route<StandinState> = {
  method: 'GET',
  pattern: 'status/modes',
  handle(req, state) {
    const body: Record<string, boolean> = { maintenance_mode: state.faults.current().maintenance, invite_only_mode: false };
    const key = req.header('apikey');
    if (key) {
      const user = state.users.byKey(key);
      if (!user) return invalidApiKey();
      if (!user.moderator) return hordeError(403, 'NotModerator', "You're not a mod. BTFO!");
      body.raid_mode = false;
    }
    return json(200, body);
  },
};

/**
 * FindUser.get: the header is optional in its parser, so a missing or empty key is refused
 * by the handler itself with 401 InvalidAPIKey (not a 400 validation error), and a key that
 * matches nobody is 404 UserNotFound whose message repeats the key.
 */
const findUser: Route<StandinState> = {
  method: 'GET',
  pattern: 'find_user',
  handle(req, state) {
    const key = req.header('apikey');
    if (!key) return invalidApiKey();
    const user = state.users.byKey(key);
    if (!user) return hordeError(404, 'UserNotFound', `User with api_key '${key}' not found.`);
    return json(200, detailsAt(user, 1));
  },
};

/**
 * UserSingle.get: a non-numeric id is 404 (the horde passes its hint as the id, hence the odd
 * sentence); a key, when sent, must be valid and raises the privilege for its owner.
 */
const userSingle: Route<StandinState> = {
  method: 'GET',
  pattern: 'users/:id',
  handle(req, state) {
    const id = req.params.id ?? '';
    if (!/^\d+$/.test(id)) {
      return hordeError(
        404,
        'UserNotFound',
        "User with ID 'Please use only the numerical part of the userID. E.g. the '1' in 'db0#1'' not found.",
      );
    }
    let privilege: 0 | 1 | 2 = 0;
    const key = req.header('apikey');
    if (key) {
      const caller = state.users.byKey(key);
      if (!caller) return invalidApiKey();
      if (caller.moderator) privilege = 2;
      else if (String(caller.id) === id) privilege = 1;
    }
    const user = state.users.byId(Number(id));
    if (!user) return hordeError(404, 'UserNotFound', `User with ID '${id}' not found.`);
    return json(200, detailsAt(user, privilege));
  },
};

/** Models.get: reqparse reads the ints first, then the handler checks `model_state`. */
const statusModels: Route<StandinState> = {
  method: 'GET',
  pattern: 'status/models',
  handle(req, state) {
    const type = req.query.get('type') ?? 'image';
    const minCount = intArg(req.query, 'min_count', 'Filter only models that have at least this amount of threads serving.');
    if (isAnswer(minCount)) return minCount;
    const maxCount = intArg(req.query, 'max_count', 'Filter the models that have at most this amount of threads serving.');
    if (isAnswer(maxCount)) return maxCount;
    const modelState = req.query.get('model_state') ?? 'all';
    if (!['known', 'custom', 'all'].includes(modelState)) {
      return hordeError(400, 'BadRequest', "'model_state' needs to be one of ['known', 'custom', 'all']");
    }
    const models = state.models.filter(
      (m) =>
        m.type === type &&
        (minCount === undefined || m.count >= minCount) &&
        (maxCount === undefined || m.count <= maxCount) &&
        (modelState === 'all' || (modelState === 'known') === m.known),
    );
    return json(200, models.map(activeModelBody));
  },
};

/** Routes mounted under `/api/v2`. */
export const hordeV2Routes: readonly Route<StandinState>[] = [heartbeat, modes, findUser, userSingle, statusModels];
