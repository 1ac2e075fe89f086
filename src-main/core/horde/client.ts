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
import { createHordeApiError, HordeMissingKeyError, HordeProtocolError, HordeUnreachableError } from './errors';
import type { HttpResponse } from './http';
import { readErrorAnswer, serviceCaller, type ServiceClientOptions, type ServiceDescription } from './jsonCall';
import { redactSecret } from './serviceErrors';

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

/**
 * How to reach the horde: `baseUrl` is the main API root, e.g. "https://aihorde.net/api" (no
 * "/v2"); `confirmedKeyUrl` the horde URL the user confirmed for the key.
 */
export interface HordeClientOptions extends ServiceClientOptions {
  /** Limit for pops, which page through the queue on the horde and answer slower; default 40 s. */
  popTimeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 20_000;
const DEFAULT_POP_TIMEOUT_MS = 40_000;

/** The main API below "/v2/"; a keyed call without a key fails before sending (the horde would answer an unhelpful 400). */
const HORDE_SERVICE: ServiceDescription = {
  id: 'horde',
  pathPrefix: 'v2/',
  errors: {
    protocol: HordeProtocolError,
    unreachable: HordeUnreachableError,
    status: errorFromResponse,
    missingKey: (endpoint) => new HordeMissingKeyError(endpoint),
  },
};

/** Creates a horde client that validates every answer and throws only the errors in ./errors. */
export function createHordeClient(opts: HordeClientOptions): HordeClient {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const popTimeoutMs = opts.popTimeoutMs ?? DEFAULT_POP_TIMEOUT_MS;
  const send = serviceCaller(opts, HORDE_SERVICE);

  const limit = (call: CallOptions | undefined, fallback: number) => call?.timeoutMs ?? fallback;
  const get = <T>(path: string, schema: z.ZodType<T>, call?: CallOptions, keyless = false) =>
    send({ method: 'GET', path, schema, keyless, timeoutMs: limit(call, timeoutMs) });

  return {
    heartbeat: () => get('status/heartbeat', heartbeatSchema, undefined, true),
    findUser: () => get('find_user', userDetailsSchema),
    statusModels: (query) => get(`status/models${modelsQueryString(query)}`, activeModelListSchema, undefined, true),
    pop: (body, call) =>
      send({ method: 'POST', path: 'generate/pop', schema: popResponseSchema, body, needsKey: true, timeoutMs: limit(call, popTimeoutMs) }),
    submit: (body, call) =>
      send({
        method: 'POST',
        path: 'generate/submit',
        schema: submitResponseSchema,
        body,
        needsKey: true,
        timeoutMs: limit(call, timeoutMs),
      }),
    getWorker: (id, call) => get(`workers/${encodeURIComponent(id)}`, workerDetailsSchema, call),
    getWorkerByName: (name, call) => get(`workers/name/${encodeURIComponent(name)}`, workerDetailsSchema, call),
    modifyWorker: (id, body, call) =>
      send({
        method: 'PUT',
        path: `workers/${encodeURIComponent(id)}`,
        schema: modifyWorkerResponseSchema,
        body,
        needsKey: true,
        timeoutMs: limit(call, timeoutMs),
      }),
  };
}

function errorFromResponse(endpoint: string, response: HttpResponse, apiKey: string | undefined, now: number) {
  // A body that is not the horde's error JSON (a proxy's page, flask-limiter's 429) still yields an API error with the status.
  const { body, retryAfterMs } = readErrorAnswer(response, hordeErrorBodySchema, now);
  const validationErrors = body?.errors
    ? Object.fromEntries(Object.entries(body.errors).map(([field, text]) => [field, redactSecret(text, apiKey)]))
    : undefined;
  return createHordeApiError({
    endpoint,
    status: response.status,
    hordeMessage: body ? redactSecret(body.message, apiKey) : undefined,
    rc: body?.rc,
    validationErrors,
    retryAfterMs,
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
