import type { z } from 'zod';
import {
  activeModelListSchema,
  heartbeatSchema,
  hordeErrorBodySchema,
  userDetailsSchema,
  type ActiveModel,
  type Heartbeat,
  type UserDetails,
} from '../../common/horde';
import { createHordeApiError, HordeProtocolError, HordeUnreachableError, parseRetryAfter, redactSecret } from './errors';
import { headerValue, transportFailureOf, type HttpPort, type HttpResponse } from './http';

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
  /** Per-request limit; default 20 s. */
  timeoutMs?: number;
  /** Clock for `Retry-After` dates; injectable for tests. */
  now?: () => number;
}

const DEFAULT_TIMEOUT_MS = 20_000;

/** Creates a horde client that validates every answer and throws only the errors in ./errors. */
export function createHordeClient(opts: HordeClientOptions): HordeClient {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const now = opts.now ?? (() => Date.now());

  async function get<T>(path: string, schema: z.ZodType<T>): Promise<T> {
    const endpoint = `GET /v2/${path.split('?')[0] ?? path}`;
    const apiKey = opts.apiKey();
    const headers: Record<string, string> = { 'Client-Agent': opts.clientAgent, Accept: 'application/json' };
    if (apiKey !== undefined && apiKey !== '') headers.apikey = apiKey;
    const url = `${opts.baseUrl().replace(/\/+$/, '')}/v2/${path}`;

    let response: HttpResponse;
    try {
      response = await opts.http.request({ method: 'GET', url, headers, timeoutMs });
    } catch (error) {
      // The port's own error never carries headers, but its message is rewritten anyway so a
      // future adapter that echoes the request cannot leak the key through `cause`.
      const reason = transportFailureOf(error);
      const detail = error instanceof Error ? redactSecret(error.message, apiKey) : 'no answer';
      throw new HordeUnreachableError(endpoint, reason, timeoutMs, { cause: new Error(detail) });
    }

    if (response.status < 200 || response.status >= 300) throw errorFromResponse(endpoint, response, apiKey, now());
    let parsed: unknown;
    try {
      parsed = JSON.parse(response.body);
    } catch {
      throw new HordeProtocolError(endpoint, response.status, 'the answer is not JSON.');
    }
    const result = schema.safeParse(parsed);
    if (!result.success) {
      throw new HordeProtocolError(endpoint, response.status, redactSecret(describeIssues(result.error), apiKey));
    }
    return result.data;
  }

  return {
    heartbeat: () => get('status/heartbeat', heartbeatSchema),
    findUser: () => get('find_user', userDetailsSchema),
    statusModels: (query) => get(`status/models${modelsQueryString(query)}`, activeModelListSchema),
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

function describeIssues(error: z.ZodError): string {
  const shown = error.issues.slice(0, 3).map((issue) => {
    const where = issue.path.length ? issue.path.map(String).join('.') : '(whole answer)';
    return `${where}: ${issue.message}`;
  });
  const more = error.issues.length > 3 ? ` (and ${error.issues.length - 3} more)` : '';
  return `${shown.join('; ')}${more}.`;
}
