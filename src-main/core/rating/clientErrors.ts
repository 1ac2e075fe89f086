import { UserFacingError } from '../../common/result';
import {
  formatSeconds,
  ServiceApiError,
  ServiceProtocolError,
  ServiceUnreachableError,
  type ServiceApiErrorInit,
} from '../horde/serviceErrors';

// Every failure of a ratings call becomes one of these errors, as with the horde client (the
// shapes are shared: core/horde/serviceErrors): the service said no (RatingsApiError), said
// something unreadable (RatingsProtocolError), or said nothing (RatingsUnreachableError).
// RatingsInputError is thrown before sending anything. Messages are built only from redacted
// text, so the API key never reaches a log or the UI.

/** What went wrong in a word, for the UI and for tests. */
export type RatingsErrorCode =
  | 'ratings.invalidApiKey'
  | 'ratings.refused'
  | 'ratings.notFound'
  | 'ratings.rateLimited'
  | 'ratings.serverError'
  | 'ratings.rejected'
  | 'ratings.protocol'
  | 'ratings.timeout'
  | 'ratings.unreachable'
  | 'ratings.invalidInput';

/** Scores outside the scales (rating 1..10, artifacts 0..5, integers); nothing was sent. */
export class RatingsInputError extends UserFacingError {
  constructor(message: string) {
    super('ratings.invalidInput', message);
    this.name = 'RatingsInputError';
  }
}

/** The ratings service answered with an error status; `endpoint` is "METHOD /path" relative to the API root. */
export class RatingsApiError extends ServiceApiError {
  /** The service's own sentence (`{message}`), API key removed; undefined when the body had none. */
  readonly serviceMessage: string | undefined;
  constructor(init: ServiceApiErrorInit & { serviceMessage: string | undefined }) {
    const code = codeFor(init.status);
    super(code, messageFor(code, init.status, init.endpoint, init.serviceMessage, init.retryAfterMs), init);
    this.name = 'RatingsApiError';
    this.serviceMessage = init.serviceMessage;
  }
}

/** The service answered, but not with JSON of the promised shape (a proxy page, a changed API). */
export class RatingsProtocolError extends ServiceProtocolError {
  static override readonly service = 'ratings';
}

/** No answer from the ratings service: the request timed out or the connection failed. */
export class RatingsUnreachableError extends ServiceUnreachableError {
  static override readonly service = 'ratings';
}

function codeFor(status: number): RatingsErrorCode {
  if (status === 401) return 'ratings.invalidApiKey';
  if (status === 403) return 'ratings.refused';
  if (status === 404 || status === 410) return 'ratings.notFound';
  if (status === 429) return 'ratings.rateLimited';
  if (status >= 500) return 'ratings.serverError';
  return 'ratings.rejected';
}

function messageFor(
  code: RatingsErrorCode,
  status: number,
  endpoint: string,
  said: string | undefined,
  retryAfterMs: number | undefined,
): string {
  const quote = said ? ` The service said: "${said}"` : '';
  switch (code) {
    case 'ratings.invalidApiKey':
      return `The ratings service did not accept the API key.${quote}`;
    case 'ratings.refused':
      return `The ratings service will not take a rating for this image; it is skipped.${quote}`;
    case 'ratings.notFound':
      return `The ratings service no longer has this image.${quote}`;
    case 'ratings.rateLimited':
      return `The ratings service asks HordeDesk to slow down; trying again in ${retryAfterMs === undefined ? 'a minute' : formatSeconds(retryAfterMs)}.${quote}`;
    case 'ratings.serverError':
      return `The ratings service had a problem answering ${endpoint} (HTTP ${status}). Try again later.${quote}`;
    default:
      return `The ratings service refused ${endpoint} (HTTP ${status}).${quote}`;
  }
}

/** How a rater reacts to a failed call; `reason` is the error's user-facing sentence. */
export type RatingOutcome =
  /** Skip this image (403, or any other 4xx: sending the same again gets the same answer). */
  | { kind: 'refused'; reason: string }
  /** The image is gone (404, 410): drop it. */
  | { kind: 'gone'; reason: string }
  /** Rate limited (429): wait `retryAfterMs`, then try again. */
  | { kind: 'wait'; retryAfterMs: number; reason: string }
  /** Temporary (5xx, 408, no answer, unreadable answer): retry with backoff. */
  | { kind: 'retry'; reason: string }
  /** The key is refused (401): every call fails alike until the user acts. */
  | { kind: 'stop'; reason: string };

/** The wait for a 429 without `Retry-After`: ArtBot tells its users to try again in a minute. */
export const DEFAULT_RATE_LIMIT_WAIT_MS = 60_000;

/**
 * Classifies any error a ratings call threw. Errors this module does not know (bugs, other
 * layers) count as 'retry', as in the horde client: the caller backs off rather than losing a
 * rating the user made.
 */
export function ratingOutcome(error: unknown): RatingOutcome {
  const reason = error instanceof Error ? error.message : String(error);
  if (error instanceof RatingsInputError) return { kind: 'refused', reason };
  if (!(error instanceof RatingsApiError)) return { kind: 'retry', reason };
  const { status } = error;
  if (status === 401) return { kind: 'stop', reason };
  if (status === 404 || status === 410) return { kind: 'gone', reason };
  if (status === 429) return { kind: 'wait', retryAfterMs: error.retryAfterMs ?? DEFAULT_RATE_LIMIT_WAIT_MS, reason };
  if (status >= 500 || status === 408) return { kind: 'retry', reason };
  return { kind: 'refused', reason };
}
