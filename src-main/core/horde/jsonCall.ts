import type { z } from 'zod';
import { keyDestinationProblem } from '../keyOrigin';
import {
  headerValue,
  HttpBodyTooLargeError,
  transportFailureOf,
  type HttpPort,
  type HttpRequest,
  type HttpResponse,
  type HttpTransportFailure,
} from './http';
import { parseRetryAfter, redactSecret, serviceName, type ServiceId } from './serviceErrors';

// The request plumbing both horde services share (the main API in ./client, the ratings API in
// core/rating/client): a client describes its calls and its errors, and the caller built here sends
// them, checks the answers and turns every failure into one of the client's own errors.

/** How to reach a horde service; getters are read on every call so settings changes apply at once. */
export interface ServiceClientOptions {
  /** API root, e.g. "https://aihorde.net/api" (the main API, no "/v2") or "https://ratings.aihorde.net/api/v1". */
  baseUrl: () => string;
  http: HttpPort;
  /** "HordeDesk:<version>:<contact>", sent as `Client-Agent` on every call. */
  clientAgent: string;
  /** The user's key, or undefined to send none. */
  apiKey: () => string | undefined;
  /**
   * The service URL whose origin the user confirmed for the key (see core/keyOrigin); a call with
   * the key to another origin is refused. Absent: no binding (tests, tools).
   */
  confirmedKeyUrl?: () => string | null;
  /** Per-request limit; default 20 s. */
  timeoutMs?: number;
  /** Clock for `Retry-After` dates; injectable for tests. */
  now?: () => number;
}

/** One call of a service client. */
export interface ServiceCall<T> {
  method: JsonCall<T>['method'];
  /** Below the API root and the service's path prefix, query included: "find_user", "image/ratings/x?format=json". */
  path: string;
  schema: z.ZodType<T>;
  body?: unknown;
  timeoutMs: number;
  /** Never send the key: the answer is the same for everyone. */
  keyless?: boolean;
  /** Fail before sending when no key is set (with the service's `missingKey` error). */
  needsKey?: boolean;
}

/** A service client's own errors for each kind of failure; `endpoint` is "METHOD /prefix/path". */
export interface ServiceErrors {
  /** The answer is not the JSON the call expects (or a redirect, or too large). */
  protocol: new (endpoint: string, status: number, detail: string) => Error;
  /** No answer; `cause` carries the transport's (redacted) words. */
  unreachable: new (endpoint: string, reason: HttpTransportFailure, timeoutMs: number, options: { cause: unknown }) => Error;
  /** An error status; every text taken from the answer must be redacted with `apiKey`. */
  status(endpoint: string, response: HttpResponse, apiKey: string | undefined, now: number): Error;
  /** For a `needsKey` call while no key is set; nothing is sent. */
  missingKey?(endpoint: string): Error;
}

/** What a service client tells the caller about its service. */
export interface ServiceDescription {
  /** Which service: names it in refusals. */
  id: ServiceId;
  /** Between the API root and each call's path: "v2/" for the main API, "" for the ratings API. */
  pathPrefix: string;
  errors: ServiceErrors;
}

/** Builds the function a service client sends every call through (see {@link sendJson}). */
export function serviceCaller(opts: ServiceClientOptions, service: ServiceDescription): <T>(call: ServiceCall<T>) => Promise<T> {
  const now = opts.now ?? (() => Date.now());
  const { errors } = service;
  return async (call) => {
    const path = `${service.pathPrefix}${call.path}`;
    const endpoint = `${call.method} /${path.split('?')[0] ?? path}`;
    const apiKey = call.keyless ? undefined : opts.apiKey();
    if (call.needsKey && (apiKey === undefined || apiKey === '') && errors.missingKey) throw errors.missingKey(endpoint);
    return sendJson(
      opts.http,
      {
        method: call.method,
        url: `${opts.baseUrl().replace(/\/+$/, '')}/${path}`,
        clientAgent: opts.clientAgent,
        apiKey,
        body: call.body,
        timeoutMs: call.timeoutMs,
        schema: call.schema,
        confirmedKeyUrl: opts.confirmedKeyUrl?.(),
        serviceName: serviceName(service.id),
      },
      {
        unreachable: (reason, detail) => new errors.unreachable(endpoint, reason, call.timeoutMs, { cause: new Error(detail) }),
        status: (response) => errors.status(endpoint, response, apiKey, now()),
        protocol: (status, detail) => new errors.protocol(endpoint, status, detail),
      },
    );
  };
}

/**
 * What an error answer says: its body when it is JSON of the service's error shape (else
 * undefined), and its `Retry-After` in milliseconds from `now`. Proxies answer 502/503/504 with
 * HTML and a limiter's 429 may not be JSON, so the status alone must still make an error.
 */
export function readErrorAnswer<T>(
  response: HttpResponse,
  schema: z.ZodType<T>,
  now: number,
): { body: T | undefined; retryAfterMs: number | undefined } {
  let body: T | undefined;
  try {
    const result = schema.safeParse(JSON.parse(response.body));
    if (result.success) body = result.data;
  } catch {
    body = undefined;
  }
  return { body, retryAfterMs: parseRetryAfter(headerValue(response.headers, 'retry-after'), now) };
}

/** One JSON call to a horde service (the main API or the ratings API). */
export interface JsonCall<T> {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  clientAgent: string;
  /** Sent as `apikey` when set; also redacted from every error text. */
  apiKey: string | undefined;
  body?: unknown;
  timeoutMs: number;
  /** Most bytes of the answer read; the port's default (8 MiB) when absent. */
  maxBytes?: number;
  schema: z.ZodType<T>;
  /**
   * The URL whose origin the user confirmed for the key. When set and `url` has another origin,
   * the call is refused before anything is sent; undefined skips this check (no binding).
   */
  confirmedKeyUrl?: string | null;
  /** The service in the user's words ("the AI Horde"), for refusals. */
  serviceName: string;
}

/** How each service turns the three kinds of failure into its own typed errors. */
export interface JsonCallFailures {
  unreachable(reason: 'timeout' | 'network', detail: string): Error;
  status(response: HttpResponse): Error;
  protocol(status: number, detail: string): Error;
}

/** The first zod issues as one sentence, naming where in the answer they are. */
export function describeIssues(error: z.ZodError): string {
  const shown = error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.length ? issue.path.map(String).join('.') : '(whole answer)'}: ${issue.message}`);
  const more = error.issues.length > 3 ? ` (and ${error.issues.length - 3} more)` : '';
  return `${shown.join('; ')}${more}.`;
}

/**
 * Sends one request with `Client-Agent` (and `apikey` when set), then checks the status, parses
 * the JSON and validates it with the schema. Every failure becomes one of the service's own
 * errors; the key never appears in their text. A call with the key is refused before sending
 * (a {@link KeyDestinationError}) when its URL is plain http to another machine or leaves the
 * origin the user confirmed. A redirect is never followed: it is an error naming where it points.
 */
export async function sendJson<T>(http: HttpPort, call: JsonCall<T>, fail: JsonCallFailures): Promise<T> {
  const headers: Record<string, string> = { 'Client-Agent': call.clientAgent, Accept: 'application/json' };
  if (call.apiKey !== undefined && call.apiKey !== '') {
    const refusal = keyDestinationProblem(call.url, call.confirmedKeyUrl, call.serviceName);
    if (refusal) throw refusal;
    headers.apikey = call.apiKey;
  }
  const request: HttpRequest = { method: call.method, url: call.url, headers, timeoutMs: call.timeoutMs };
  if (call.maxBytes !== undefined) request.maxBytes = call.maxBytes;
  if (call.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    request.body = JSON.stringify(call.body);
  }
  let response: HttpResponse;
  try {
    response = await http.request(request);
  } catch (error) {
    if (error instanceof HttpBodyTooLargeError) throw fail.protocol(error.status, error.message);
    // The port's own error never carries headers, but its text is redacted anyway so a future
    // adapter that echoes the request cannot leak the key through `cause`.
    throw fail.unreachable(transportFailureOf(error), error instanceof Error ? redactSecret(error.message, call.apiKey) : 'no answer');
  }
  if (response.status >= 300 && response.status < 400) {
    const location = headerValue(response.headers, 'location');
    const where = location ? ` to ${redactSecret(location.slice(0, 300), call.apiKey)}` : '';
    throw fail.protocol(
      response.status,
      `it redirects${where} (HTTP ${response.status}). HordeDesk does not follow redirects, so your API key stays where you sent it; if ${call.serviceName} has moved, put its new address in Settings.`,
    );
  }
  if (response.status < 200 || response.status >= 300) throw fail.status(response);
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.body);
  } catch {
    throw fail.protocol(response.status, 'the answer is not JSON.');
  }
  const result = call.schema.safeParse(parsed);
  if (!result.success) throw fail.protocol(response.status, redactSecret(describeIssues(result.error), call.apiKey));
  return result.data;
}
