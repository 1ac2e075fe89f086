import type { z } from 'zod';
import { keyDestinationProblem } from '../keyOrigin';
import { redactSecret } from './errors';
import { headerValue, HttpBodyTooLargeError, transportFailureOf, type HttpPort, type HttpRequest, type HttpResponse } from './http';

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
  const shown = error.issues.slice(0, 3).map((issue) => `${issue.path.length ? issue.path.map(String).join('.') : '(whole answer)'}: ${issue.message}`);
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
    throw fail.protocol(response.status, `it redirects${where} (HTTP ${response.status}). HordeDesk does not follow redirects, so your API key stays where you sent it; if ${call.serviceName} has moved, put its new address in Settings.`);
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
