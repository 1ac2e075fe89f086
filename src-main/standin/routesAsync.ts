import { requestKudos } from './queue';
import { resolveRequest, type ResolvedRequest } from './requests';
import { hordeError, isAnswer, json, type Answer, type Route } from './router';
import { invalidApiKey, rejectBannedClientAgent } from './routesV2';
import type { StandinState } from './state';
import { keyedBody } from './validate';

// `POST /v2/generate/async` (HORDE-PROTOCOL.md §2.13), kept minimal: it validates the body loosely
// (requests.ts), refuses the banned placeholder agent, horde-wide maintenance and unknown keys,
// and queues the request. No kudos are charged to the requester and no concurrency limit applies.
// The answer is `{id, kudos}`, the key set of the recorded r2/05 answer; the "no worker can serve
// this" warning of b64/05 is left out.

/** What the async endpoint and `handle.enqueue` answer. */
export interface EnqueueResult {
  id: string;
  /**
   * The request's kudos estimate: per-image value × n, rounded to whole kudos (inferred from the
   * recorded exchange, where a 6.24-kudos image was announced as 6.0).
   */
  kudos: number;
}

function estimate(request: ResolvedRequest): number {
  return Math.round(requestKudos(request) * request.n);
}

/** Validates and queues a request for `ownerId`; an Answer says why it was refused. */
export function enqueueRequest(state: StandinState, body: unknown, ownerId: number): EnqueueResult | Answer {
  const request = resolveRequest(body);
  if (isAnswer(request)) return request;
  const wp = state.board.enqueue(request, ownerId);
  return { id: wp.id, kudos: estimate(request) };
}

const generateAsync: Route<StandinState> = {
  method: 'POST',
  pattern: 'generate/async',
  handle(req, state) {
    // The body is validated later and loosely (requests.ts), so no model here.
    const opened = keyedBody(req, undefined, 'The API Key corresponding to a registered user.');
    if (isAnswer(opened)) return opened;
    const { body, key } = opened;
    const banned = rejectBannedClientAgent(req);
    if (banned) return banned;
    if (state.faults.current().maintenance) {
      return hordeError(400, 'MaintenanceMode', 'AI Horde has entered maintenance mode. Please try again later.');
    }
    const user = state.users.byKey(key);
    if (!user) return invalidApiKey();
    if (body.dry_run === true) {
      const request = resolveRequest(body);
      return isAnswer(request) ? request : json(200, { kudos: estimate(request) });
    }
    const result = enqueueRequest(state, body, user.id);
    return isAnswer(result) ? result : json(202, result);
  },
};

/** The async route, mounted under `/api/v2`. */
export const asyncRoutes: readonly Route<StandinState>[] = [generateAsync];
