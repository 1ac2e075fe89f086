// The port through which core code speaks HTTP. Adapters (src-main/node/system/http.ts, test fakes)
// implement it; core stays free of fetch, timers and Node.

/** One HTTP exchange as core code sees it: text in, text out, no streaming. */
export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
  /** Most bytes of the answer's body the adapter reads; default {@link DEFAULT_MAX_BODY_BYTES}. */
  maxBytes?: number;
}

/** Body limit of a JSON call unless the caller asks for more: far above any horde answer. */
export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;

/** The answer; header names are lower-case. Any status counts as an answer, 5xx included. */
export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends requests. Rejects with an {@link HttpTransportError} when no answer arrives, and with an
 * {@link HttpBodyTooLargeError} when the body passes `maxBytes`. A request carrying an `apikey`
 * header is never redirected: a 3xx comes back as the answer, so the key cannot follow it.
 */
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

/** The answer's body is larger than the request allowed; the rest was not read. */
export class HttpBodyTooLargeError extends Error {
  readonly status: number;
  readonly limitBytes: number;
  constructor(status: number, limitBytes: number) {
    super(`The answer is larger than the ${formatBytes(limitBytes)} HordeDesk reads from it.`);
    this.name = 'HttpBodyTooLargeError';
    this.status = status;
    this.limitBytes = limitBytes;
  }
}

/** Bytes in the unit a person reads quickly (KiB, MiB, GiB). */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${+(bytes / 1024 ** 3).toFixed(1)} GiB`;
  if (bytes >= 1024 ** 2) return `${+(bytes / 1024 ** 2).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}

/** True when a request carries the API key (header names compare without case). */
export function carriesApiKey(headers: Record<string, string>): boolean {
  return headerValue(headers, 'apikey') !== undefined;
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
