import type { WaitingRequest } from './queue';
import type { StandinState } from './state';
import type { StandinWorker } from './workers';
import { jobAnswer, payloadFor } from './popMatch';

// A moderator's pause (HORDE-PROTOCOL.md §2.7 item 8), as the horde runs it: the paused worker is
// never told. Its pops still get work, but from a request of someone else it gets one fake job: an
// id of its own with the request's payload, while the request's images keep waiting for others.
// The submit answers a reward as usual and nothing is credited (routesSubmit.ts). The worker is
// never offered that request again (the horde's skip reason "secret", which pops do not report),
// and a paused worker earns no uptime (workers.ts). Its own requests it may still serve for real.

/** Whether a pop of this worker gets a fake job of this request instead of its images. */
export function fakeFor(worker: StandinWorker, wp: WaitingRequest): boolean {
  return worker.paused && wp.ownerId !== worker.ownerId;
}

/** Whether the worker was already tricked with this request (then it is skipped silently). */
export function tricked(worker: StandinWorker, wp: WaitingRequest): boolean {
  return worker.tricked.has(wp.id);
}

/** The pop answer of a fake job: always one id, whatever `amount` the worker asked for. */
export function fakePop(state: StandinState, wp: WaitingRequest, worker: StandinWorker, models: string[]): Record<string, unknown> {
  const board = state.board;
  const model = models[Math.floor(board.random() * models.length)] ?? models[0] ?? '';
  const job = board.fakeJob(wp, worker, model);
  worker.tricked.add(wp.id);
  const seed = wp.seed ?? Math.floor(board.random() * 4294967296);
  const sources = board.popSources(wp, worker.bridge.has('r2_source'));
  return jobAnswer(wp, [job], payloadFor(wp, seed, 1), (id) => board.uploadUrl(id), sources);
}
