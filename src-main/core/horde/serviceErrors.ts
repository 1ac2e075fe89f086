import { UserFacingError } from '../../common/result';
import type { HttpTransportFailure } from './http';

// The failure shapes both horde services share (the main API: ./errors; the ratings API:
// core/rating/clientErrors): the service said no (a ServiceApiError), said something unreadable
// (a ServiceProtocolError), or said nothing (a ServiceUnreachableError). Each service subclasses
// them (HordeApiError, RatingsProtocolError, …), so a caller tells a horde failure from a ratings
// failure by class. Messages are built only from redacted text: the services echo API keys in some
// messages (find_user's UserNotFound says "User with api_key '<key>' not found.").

/** The two horde services; also the prefix of their error codes ("horde.timeout", "ratings.protocol"). */
export type ServiceId = 'horde' | 'ratings';

/** Each service in the user's words, for the sentences its protocol and unreachable errors say. */
const SERVICE_WORDS: Readonly<Record<ServiceId, { name: string; afterTimeout: string; afterNetworkFailure: string }>> = {
  horde: {
    name: 'the AI Horde',
    afterTimeout: 'It may be busy; HordeDesk will try again later.',
    afterNetworkFailure: 'Check the internet connection and the horde URL in settings.',
  },
  ratings: {
    name: 'the ratings service',
    afterTimeout: 'HordeDesk will try again later.',
    afterNetworkFailure: 'Check the internet connection; HordeDesk will try again later.',
  },
};

/** The service in the user's words, as inside a sentence: "the AI Horde", "the ratings service". */
export function serviceName(service: ServiceId): string {
  return SERVICE_WORDS[service].name;
}

/** What every error status of a service carries. */
export interface ServiceApiErrorInit {
  /** HTTP status of the answer. */
  status: number;
  /** How long the service asked us to wait, from `Retry-After`; undefined when it did not say. */
  retryAfterMs: number | undefined;
  /** "METHOD /path" of the call, for logs. */
  endpoint: string;
}

/** The service answered with an error status. */
export class ServiceApiError extends UserFacingError {
  /** HTTP status of the answer. */
  readonly status: number;
  /** How long the service asked us to wait, from `Retry-After`; undefined when it did not say. */
  readonly retryAfterMs: number | undefined;
  /** "METHOD /path" of the call, for logs. */
  readonly endpoint: string;
  constructor(code: string, message: string, init: ServiceApiErrorInit, fields?: Record<string, string>) {
    super(code, message, fields ? { fields } : undefined);
    this.name = 'ServiceApiError';
    this.status = init.status;
    this.retryAfterMs = init.retryAfterMs;
    this.endpoint = init.endpoint;
  }
}

/**
 * A call to a service that failed without an error status: its protocol and unreachable errors.
 * Each service has its own subclass of those, which names the service in `static service`; the
 * code ("horde.timeout") and the class name ("HordeUnreachableError") follow from it.
 */
abstract class ServiceCallError extends UserFacingError {
  /** The service called; set by each service's subclass. */
  declare static readonly service: ServiceId;
  /** "METHOD /path" of the call, for logs. */
  readonly endpoint: string;
  constructor(
    init: { service: ServiceId; kind: 'Protocol' | 'Unreachable'; code: string; message: string; endpoint: string },
    options?: { cause?: unknown },
  ) {
    super(`${init.service}.${init.code}`, init.message, options);
    this.name = `${sentenceStart(init.service)}${init.kind}Error`;
    this.endpoint = init.endpoint;
  }
}

/** The service answered, but not with JSON of the shape its protocol promises (a proxy page, a changed API). */
export abstract class ServiceProtocolError extends ServiceCallError {
  readonly status: number;
  constructor(endpoint: string, status: number, detail: string, options?: { cause?: unknown }) {
    const { service } = new.target;
    const message = `${sentenceStart(SERVICE_WORDS[service].name)} sent an answer to ${endpoint} that HordeDesk does not understand: ${detail}`;
    super({ service, kind: 'Protocol', code: 'protocol', message, endpoint }, options);
    this.status = status;
  }
}

/** No answer: the request timed out or the connection failed. Usually worth retrying later. */
export abstract class ServiceUnreachableError extends ServiceCallError {
  readonly reason: HttpTransportFailure;
  constructor(endpoint: string, reason: HttpTransportFailure, timeoutMs: number, options?: { cause?: unknown }) {
    const { service } = new.target;
    const words = SERVICE_WORDS[service];
    const message =
      reason === 'timeout'
        ? `${sentenceStart(words.name)} did not answer ${endpoint} within ${formatSeconds(timeoutMs)}. ${words.afterTimeout}`
        : `Could not reach ${words.name} for ${endpoint}. ${words.afterNetworkFailure}`;
    super({ service, kind: 'Unreachable', code: reason === 'timeout' ? 'timeout' : 'unreachable', message, endpoint }, options);
    this.reason = reason;
  }
}

/**
 * Parses `Retry-After`: delta seconds or an HTTP date (RFC 9110 §10.2.3). Returns milliseconds
 * from `now`, never negative; undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  let ms: number;
  if (/^\d+$/.test(trimmed)) ms = Number(trimmed) * 1000;
  else {
    const at = Date.parse(trimmed);
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  // A server (or a proxy) asking for days or "for ever" would park the worker or the rater
  // unattended; an hour is the most we honour before asking again.
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}

/** The longest Retry-After wait honoured (1 hour). */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/** Replaces every occurrence of the secret; short secrets are left alone to keep text readable. */
export function redactSecret(text: string, secret: string | undefined): string {
  if (!secret || secret.length < 4) return text;
  return text.split(secret).join('[api key]');
}

/** A wait in whole seconds for a sentence: "1 second", "20 seconds" (never "0 seconds"). */
export function formatSeconds(ms: number): string {
  const seconds = Math.max(1, Math.round(ms / 1000));
  return seconds === 1 ? '1 second' : `${seconds} seconds`;
}

function sentenceStart(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
