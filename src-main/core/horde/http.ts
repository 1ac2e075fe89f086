// The port through which core code speaks HTTP. Adapters (src-main/node/http.ts, test fakes)
// implement it; core stays free of fetch, timers and Node.

/** One HTTP exchange as core code sees it: text in, text out, no streaming. */
export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
}

/** The answer; header names are lower-case. Any status counts as an answer, 5xx included. */
export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends requests. Rejects with an {@link HttpTransportError} when no answer arrives. */
export interface HttpPort {
  request(req: HttpRequest): Promise<HttpResponse>;
}

/** Why no answer arrived: the time ran out, or the connection could not be made or broke. */
export type HttpTransportFailure = 'timeout' | 'network';

/** Thrown by an {@link HttpPort} when there is no HTTP answer at all. */
export class HttpTransportError extends Error {
  readonly code: HttpTransportFailure;
  constructor(code: HttpTransportFailure, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HttpTransportError';
    this.code = code;
  }
}

/**
 * Reads the failure kind off anything a port threw. Ports written elsewhere may throw plain
 * errors carrying `code`; anything unrecognised counts as a network failure.
 */
export function transportFailureOf(error: unknown): HttpTransportFailure {
  if (typeof error === 'object' && error !== null && 'code' in error && error.code === 'timeout') return 'timeout';
  return 'network';
}

/** Finds a header regardless of the case the adapter used for its name. */
export function headerValue(headers: Record<string, string>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}
