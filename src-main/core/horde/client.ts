import type { z } from 'zod';
import {
  activeModelListSchema,
  heartbeatSchema,
  hordeErrorBodySchema,
  modifyWorkerResponseSchema,
  popResponseSchema,
  submitResponseSchema,
  userDetailsSchema,
  workerDetailsSchema,
  type ActiveModel,
  type Heartbeat,
  type ModifyWorkerRequest,
  type ModifyWorkerResponse,
  type PopRequest,
  type PopResponse,
  type SubmitRequest,
  type SubmitResponse,
  type UserDetails,
  type WorkerDetails,
} from '../../common/horde';
import { createHordeApiError, HordeMissingKeyError, HordeProtocolError, HordeUnreachableError, parseRetryAfter, redactSecret } from './errors';
import { headerValue, type HttpPort, type HttpRequest, type HttpResponse } from './http';
import { sendJson } from './jsonCall';

export { isMaintenanceError, isRetryable, retryAfterMsOf, submitOutcome, type SubmitOutcome } from './classify';

/** Filters of `GET /v2/status/models`; the horde's defaults are type "image" and state "all". */
export interface StatusModelsQuery {
  type?: 'image' | 'text';
  /** Only models served by at least this many threads. */
  minCount?: number;
  /** Only models served by at most this many threads. */
  maxCount?: number;
  /** "known": in the model reference; "custom": not in it. */
  modelState?: 'known' | 'custom' | 'all';
}

/** The typed calls HordeDesk makes to the AI Horde's main API. */
export interface HordeClient {
  /** Whether the horde node is up; never rate-limited by the horde. */
  heartbeat(): Promise<Heartbeat>;
  /** The account behind the configured API key (the anonymous key answers as Anonymous#0). */
  findUser(): Promise<UserDetails>;
  /** Models currently served, with demand figures. */
  statusModels(query?: StatusModelsQuery): Promise<ActiveModel[]>;
  /** Checks the worker in and asks for up to `amount` images of one request; needs the key. */
  pop(body: PopRequest, call?: CallOptions): Promise<PopResponse>;
  /** Hands in one image (or reports it faulted); needs the key of the worker's owner. */
  submit(body: SubmitRequest, call?: CallOptions): Promise<SubmitResponse>;
  /** One worker by its UUID; moderators see more fields, the owner does not. */
  getWorker(id: string, call?: CallOptions): Promise<WorkerDetails>;
  /** One worker by its exact, case-sensitive name. */
  getWorkerByName(name: string, call?: CallOptions): Promise<WorkerDetails>;
  /** Changes maintenance, info, name or team of a worker; needs the owner's (or a moderator's) key. */
  modifyWorker(id: string, body: ModifyWorkerRequest, call?: CallOptions): Promise<ModifyWorkerResponse>;
}

/** Per-call settings. */
export interface CallOptions {
  /** Overrides the client's limit for this one request. */
  timeoutMs?: number;
}

/** How to reach the horde; getters are read on every call so settings changes apply at once. */
export interface HordeClientOptions {
  /** Main API root, e.g. "https://aihorde.net/api" (no "/v2"). */
  baseUrl: () => string;
  http: HttpPort;
  /** "HordeDesk:<version>:<contact>", sent as `Client-Agent` on every call. */
  clientAgent: string;
  /** The user's key, or undefined to send none. */
  apiKey: () => string | undefined;
  /**
   * The horde URL whose origin the user confirmed for the key (see core/keyOrigin); a call with
   * the key to another origin is refused. Absent: no binding (tests, tools).
   */
  confirmedKeyUrl?: () => string | null;
  /** Per-request limit; default 20 s. */
  timeoutMs?: number;
  /** Limit for pops, which page through the queue on the horde and answer slower; default 40 s. */
  popTimeoutMs?: number;
  /** Clock for `Retry-After` dates; injectable for tests. */
  now?: () => number;
}

const DEFAULT_TIMEOUT_MS = 20_000;
const DEFAULT_POP_TIMEOUT_MS = 40_000;

interface Call<T> {
  method: HttpRequest['method'];
  path: string;
  schema: z.ZodType<T>;
  body?: unknown;
  /** Fail before sending when no key is set: the horde would answer an unhelpful 400. */
  needsKey?: boolean;
  /** Never send the key: the answer is the same for everyone. */
  keyless?: boolean;
  timeoutMs: number;
}

/** Creates a horde client that validates every answer and throws only the errors in ./errors. */
export function createHordeClient(opts: HordeClientOptions): HordeClient {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const popTimeoutMs = opts.popTimeoutMs ?? DEFAULT_POP_TIMEOUT_MS;
  const now = opts.now ?? (() => Date.now());

  async function send<T>(call: Call<T>): Promise<T> {
    const endpoint = `${call.method} /v2/${call.path.split('?')[0] ?? call.path}`;
    const apiKey = call.keyless ? undefined : opts.apiKey();
    const hasKey = apiKey !== undefined && apiKey !== '';
    if (call.needsKey && !hasKey) throw new HordeMissingKeyError(endpoint);
    return sendJson(
      opts.http,
      {
        method: call.method,
        url: `${opts.baseUrl().replace(/\/+$/, '')}/v2/${call.path}`,
        clientAgent: opts.clientAgent,
        apiKey,
        body: call.body,
        timeoutMs: call.timeoutMs,
        schema: call.schema,
        confirmedKeyUrl: opts.confirmedKeyUrl?.(),
        serviceName: 'the AI Horde',
      },
      {
        unreachable: (reason, detail) => new HordeUnreachableError(endpoint, reason, call.timeoutMs, { cause: new Error(detail) }),
        status: (response) => errorFromResponse(endpoint, response, apiKey, now()),
        protocol: (status, detail) => new HordeProtocolError(endpoint, status, detail),
      },
    );
  }

  const limit = (call: CallOptions | undefined, fallback: number) => call?.timeoutMs ?? fallback;
  const get = <T>(path: string, schema: z.ZodType<T>, call?: CallOptions, keyless = false) => send({ method: 'GET', path, schema, keyless, timeoutMs: limit(call, timeoutMs) });

  return {
    heartbeat: () => get('status/heartbeat', heartbeatSchema, undefined, true),
    findUser: () => get('find_user', userDetailsSchema),
    statusModels: (query) => get(`status/models${modelsQueryString(query)}`, activeModelListSchema, undefined, true),
    pop: (body, call) => send({ method: 'POST', path: 'generate/pop', schema: popResponseSchema, body, needsKey: true, timeoutMs: limit(call, popTimeoutMs) }),
    submit: (body, call) => send({ method: 'POST', path: 'generate/submit', schema: submitResponseSchema, body, needsKey: true, timeoutMs: limit(call, timeoutMs) }),
    getWorker: (id, call) => get(`workers/${encodeURIComponent(id)}`, workerDetailsSchema, call),
    getWorkerByName: (name, call) => get(`workers/name/${encodeURIComponent(name)}`, workerDetailsSchema, call),
    modifyWorker: (id, body, call) =>
      send({ method: 'PUT', path: `workers/${encodeURIComponent(id)}`, schema: modifyWorkerResponseSchema, body, needsKey: true, timeoutMs: limit(call, timeoutMs) }),
  };
}

function errorFromResponse(endpoint: string, response: HttpResponse, apiKey: string | undefined, now: number) {
  // Proxies in front of the horde answer 502/503/504 with HTML and flask-limiter's 429 may not be
  // JSON, so a body that does not parse still yields an API error with the status.
  let body: z.infer<typeof hordeErrorBodySchema> | undefined;
  try {
    const result = hordeErrorBodySchema.safeParse(JSON.parse(response.body));
    if (result.success) body = result.data;
  } catch {
    body = undefined;
  }
  const validationErrors = body?.errors
    ? Object.fromEntries(Object.entries(body.errors).map(([field, text]) => [field, redactSecret(text, apiKey)]))
    : undefined;
  return createHordeApiError({
    endpoint,
    status: response.status,
    hordeMessage: body ? redactSecret(body.message, apiKey) : undefined,
    rc: body?.rc,
    validationErrors,
    retryAfterMs: parseRetryAfter(headerValue(response.headers, 'retry-after'), now),
  });
}

function modelsQueryString(query: StatusModelsQuery | undefined): string {
  if (!query) return '';
  const pairs: [string, string | number | undefined][] = [
    ['type', query.type],
    ['min_count', query.minCount],
    ['max_count', query.maxCount],
    ['model_state', query.modelState],
  ];
  const parts = pairs
    .filter((pair): pair is [string, string | number] => pair[1] !== undefined)
    .map(([key, value]) => `${key}=${encodeURIComponent(String(value))}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

