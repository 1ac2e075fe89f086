import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CONTROL_PREFIX, controlAnswer, type RequestLogEntry } from './control';
import type { FaultPatch, StandinFaults } from './faults';
import { createJobsApi, type StandinJobsApi } from './jobsHandle';
import { closeServer, listenLocal } from './listen';
import type { MixedOptions } from './mixed';
import type { JobsOptions } from './queue';
import type { RatingsOptions } from './ratingsBoard';
import { isRatingsPath, RATINGS_IMAGE_PREFIX } from './ratingsFaults';
import { createRatingsApi, type StandinRatingsApi } from './ratingsHandle';
import { ratingsImageRoutes } from './ratingsImages';
import { json, matchRoute, methodNotAllowedAnswer, notFoundAnswer, type Answer, type Mount, type RouteRequest } from './router';
import { asyncRoutes } from './routesAsync';
import { popRoutes } from './routesPop';
import { statusRoutes } from './routesStatus';
import { sourceRoutes } from './routesSource';
import { submitRoutes, uploadRoutes } from './routesSubmit';
import { ratingsV1Routes } from './routesV1';
import { hordeV2Routes } from './routesV2';
import { workerRoutes } from './routesWorkers';
import { createStandinState, type StandinState } from './state';
import type { UserTable } from './users';

// A local AI Horde for tests and demos: node:http on 127.0.0.1, answering like the horde does
// (HORDE-PROTOCOL.md), with switches to make it fail the ways the real one fails.

export type { RequestLogEntry } from './control';
export type { FaultPatch, StandinFaults } from './faults';
export { STANDIN_KEYS, type StandinUser } from './users';
export { BANNED_CLIENT_AGENT } from './routesV2';
export type { JobInfo, RequestInfo, StandinJobsApi, StandinStats, WaitingOutlook } from './jobsHandle';
export type { MixedOptions } from './mixed';
export { STANDIN_KINDS, type KindRequestOptions, type StandinKind } from './kinds';
export type { JobsOptions, JobState } from './queue';
export type { GenerationRequestBody } from './requests';
export type { EnqueueResult } from './routesAsync';
export type { RatingsOptions } from './ratingsBoard';
export type { RatingImageInfo, RatingInfo, RatingsStats, StandinRatingsApi } from './ratingsHandle';

/** Options of {@link startStandin}. */
export interface StandinOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Faults switched on from the first request. */
  faults?: FaultPatch;
  /** Time scale, ttl override, abort sweep and bridge table of the worker side (queue.ts). */
  jobs?: JobsOptions;
  /** Defaults for `enqueueMixed` (sizes, models, shares); its models join the known ones. */
  mixed?: MixedOptions;
  /** More model names the stand-in's reference knows, so pops may serve them (e.g. a test model). */
  models?: readonly string[];
  /**
   * More model names the reference knows and marks `inpainting` (as `stable_diffusion_inpainting`):
   * the horde sends inpainting and outpainting requests only to workers that serve one.
   */
  inpaintingModels?: readonly string[];
  /** Cadence of validation images of the ratings service (ratingsBoard.ts). */
  ratings?: RatingsOptions;
  /** How many requests `requests` keeps, the newest (default MAX_REQUEST_LOG). */
  requestLogLimit?: number;
}

/** A running stand-in. The worker-side methods are in jobsHandle.ts, the ratings ones in ratingsHandle.ts. */
export interface StandinHandle extends StandinJobsApi, StandinRatingsApi {
  /** e.g. "http://127.0.0.1:41234" */
  url: string;
  /** What the app's "horde URL" setting takes: `url + "/api"`. */
  hordeApiUrl: string;
  /** The ratings API root: `url + "/api/v1"`. */
  ratingsApiUrl: string;
  /** Every horde request so far, oldest first (control endpoints excluded). */
  readonly requests: readonly RequestLogEntry[];
  /** The accounts; tests may add users or change their details. */
  readonly users: UserTable;
  /** Current fault switches. */
  faults(): StandinFaults;
  /** Merges fault switches in (validated); returns the result. */
  setFaults(patch: FaultPatch): StandinFaults;
  /** Back to a healthy horde. */
  resetFaults(): void;
  clearRequests(): void;
  /** Stops listening and drops open connections, including answers still being delayed. */
  close(): Promise<void>;
  /**
   * A horde restart: stops listening and drops every connection, stays down `downMs`, then
   * listens on the same port again. What it knows (queue, jobs, ratings) survives, as the real
   * one's database does.
   */
  restart(downMs?: number): Promise<void>;
}

/** Starts a stand-in with fresh, seeded state. */
export async function startStandin(opts: StandinOptions = {}): Promise<StandinHandle> {
  const state = createStandinState(opts.jobs, [...(opts.models ?? []), ...(opts.mixed?.models ?? [])], opts.inpaintingModels);
  if (opts.faults) state.faults.set(opts.faults);
  const jobsApi = createJobsApi(state, opts.mixed);
  state.ratings.configure(opts.ratings);
  const log: RequestLogEntry[] = [];
  const delays = createDelays();
  const handle = createRequestHandler({ state, jobsApi, log, delays, logLimit: opts.requestLogLimit ?? MAX_REQUEST_LOG });
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      console.error('stand-in failed', error);
      send(res, json(500, { message: 'Internal Server Error' }));
    });
  });
  const stop = () => {
    delays.finishAll();
    return closeServer(server);
  };
  const url = await listenLocal(server, opts.port ?? 0);
  const { port } = server.address() as AddressInfo;
  state.board.baseUrl = url;
  // The horde's abort thread (§2.10); reads through the handle also sweep, so tests need not wait for it.
  const sweepMs = opts.jobs?.sweepIntervalMs ?? 100;
  const sweeper = sweepMs > 0 ? setInterval(() => state.board.sweep(), sweepMs) : undefined;
  sweeper?.unref();

  return {
    ...jobsApi,
    ...createRatingsApi(state),
    url,
    hordeApiUrl: `${url}/api`,
    ratingsApiUrl: `${url}/api/v1`,
    requests: log,
    users: state.users,
    faults: () => state.faults.current(),
    setFaults: (patch) => state.faults.set(patch),
    resetFaults: () => state.faults.reset(),
    clearRequests: () => {
      log.length = 0;
    },
    close: () => {
      clearInterval(sweeper);
      return stop();
    },
    async restart(downMs = 0) {
      await stop();
      if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
      await listenLocal(server, port);
    },
  };
}

/** How many requests the log keeps (the oldest go first), so a demo running for days stays small. */
export const MAX_REQUEST_LOG = 10_000;

/** The horde's routes by prefix. */
const MOUNTS: Mount<StandinState>[] = [
  { prefix: '/api/v2', routes: [...hordeV2Routes, ...asyncRoutes, ...statusRoutes, ...popRoutes, ...submitRoutes, ...workerRoutes] },
  { prefix: '/api/v1', routes: ratingsV1Routes },
  // The presigned upload URLs handed out in pops (r2_upload); the real ones point at R2.
  { prefix: '/upload', routes: uploadRoutes },
  // The presigned source downloads handed to bridges with r2_source; the real ones point at R2.
  { prefix: '/source', routes: sourceRoutes },
  // The image URLs the ratings API hands out; the real ones point at the service's storage.
  { prefix: RATINGS_IMAGE_PREFIX, routes: ratingsImageRoutes },
];

/** Waits the stand-in is in the middle of (slow answers); `finishAll` ends them when it stops. */
interface Delays {
  delay(ms: number): Promise<void>;
  finishAll(): void;
}

function createDelays(): Delays {
  const pending = new Set<() => void>();
  return {
    delay: (ms) =>
      new Promise((resolve) => {
        const finish = () => {
          clearTimeout(timer);
          pending.delete(finish);
          resolve();
        };
        const timer = setTimeout(finish, ms);
        pending.add(finish);
      }),
    finishAll() {
      for (const finish of [...pending]) finish();
    },
  };
}

/** One HTTP request: control endpoints, the request log, the faults in force, then the route. */
function createRequestHandler(ctx: {
  state: StandinState;
  jobsApi: StandinJobsApi;
  log: RequestLogEntry[];
  delays: Delays;
  logLimit: number;
}) {
  const { state, log, delays } = ctx;
  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const receivedAt = performance.now();
    const url = new URL(req.url ?? '/', 'http://standin.invalid');
    const method = req.method ?? 'GET';
    const rawBody = await readBody(req);
    const body = rawBody.toString('utf8');
    if (url.pathname.startsWith(CONTROL_PREFIX)) {
      send(res, controlAnswer(method, url.pathname, body, { state, log, jobs: ctx.jobsApi }));
      return;
    }
    const header = (name: string) => headerOf(req, name);
    const entry: RequestLogEntry = {
      method,
      path: url.pathname,
      query: url.search,
      clientAgent: header('client-agent') ?? null,
      apikeyPresent: header('apikey') !== undefined,
      status: null,
    };
    log.push(entry);
    if (log.length > ctx.logLimit) log.splice(0, log.length - ctx.logLimit);
    if (method === 'PUT') state.board.noteUploadAttempt(url.pathname);
    // `ratingsDown`: no HTTP answer at all, as when the service's host is unreachable.
    if (state.faults.current().ratingsDown && isRatingsPath(url.pathname)) {
      res.destroy();
      return;
    }
    const drop = state.faults.takeDrop(url.pathname);
    if (drop && !drop.afterRoute) {
      res.destroy();
      return;
    }
    const slowMs = state.faults.current().slowMs;
    if (slowMs > 0) await delays.delay(slowMs);
    const answer = state.faults.intercept(url.pathname) ?? (await routeAnswer(state, method, url, { body, rawBody, header, receivedAt }));
    if (drop) {
      res.destroy();
      return;
    }
    if (answer.delayMs) await delays.delay(answer.delayMs);
    entry.status = answer.status;
    send(res, answer);
  };
}

async function routeAnswer(
  state: StandinState,
  method: string,
  url: URL,
  request: Pick<RouteRequest, 'body' | 'rawBody' | 'header' | 'receivedAt'>,
): Promise<Answer> {
  const match = matchRoute(MOUNTS, method, url.pathname);
  if (match.kind === 'none') return notFoundAnswer();
  if (match.kind === 'wrongMethod') return methodNotAllowedAnswer(match.allowed);
  try {
    return await match.route.handle({ method, params: match.params, query: url.searchParams, ...request }, state);
  } catch (error) {
    console.error('stand-in route failed', error);
    return json(500, { message: 'Internal Server Error' });
  }
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, answer: Answer): void {
  // A client that gave up (timeout) has closed the socket; there is no one left to answer.
  if (res.destroyed || res.writableEnded) return;
  if (answer.raw !== undefined) {
    res.writeHead(answer.status, { ...answer.headers, 'Content-Length': Buffer.byteLength(answer.raw) });
    res.end(answer.raw);
    answer.onSent?.();
    return;
  }
  const payload = JSON.stringify(answer.body);
  res.writeHead(answer.status, {
    ...answer.headers,
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(payload),
  });
  res.end(payload);
  answer.onSent?.();
}
