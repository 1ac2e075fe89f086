import { UserFacingError } from '../../common/result';
import type { HttpTransportFailure } from './http';

// Every horde failure becomes one of three errors, so callers decide on retry and wording by
// class: the horde said no (HordeApiError), the horde said something unreadable
// (HordeProtocolError), or the horde said nothing (HordeUnreachableError).
// Messages are built only from redacted text: the horde echoes API keys in some messages
// (find_user's UserNotFound says "User with api_key '<key>' not found.").

/** What went wrong in a word, for the UI and for tests. */
export type HordeErrorCode =
  | 'horde.invalidApiKey'
  | 'horde.missingApiKey'
  | 'horde.maintenance'
  | 'horde.rateLimited'
  | 'horde.serverError'
  | 'horde.rejected'
  | 'horde.protocol'
  | 'horde.timeout'
  | 'horde.unreachable';

/** The horde answered with an error status. */
export class HordeApiError extends UserFacingError {
  /** HTTP status of the answer. */
  readonly status: number;
  /** The horde's return code (e.g. "InvalidAPIKey"); absent on validation errors, 429 and 5xx. */
  readonly rc: string | undefined;
  /** How long the horde asked us to wait, from `Retry-After`; undefined when it did not say. */
  readonly retryAfterMs: number | undefined;
  /** "METHOD /v2/path" of the call, for logs. */
  readonly endpoint: string;
  /** The horde's own sentence, API key removed. */
  readonly hordeMessage: string | undefined;
  constructor(init: {
    code: HordeErrorCode;
    message: string;
    status: number;
    rc: string | undefined;
    retryAfterMs: number | undefined;
    endpoint: string;
    hordeMessage: string | undefined;
    fields?: Record<string, string>;
  }) {
    super(init.code, init.message, init.fields ? { fields: init.fields } : undefined);
    this.name = 'HordeApiError';
    this.status = init.status;
    this.rc = init.rc;
    this.retryAfterMs = init.retryAfterMs;
    this.endpoint = init.endpoint;
    this.hordeMessage = init.hordeMessage;
  }
}

/** The horde answered, but not with JSON of the shape the protocol promises. */
export class HordeProtocolError extends UserFacingError {
  readonly endpoint: string;
  readonly status: number;
  constructor(endpoint: string, status: number, detail: string, options?: { cause?: unknown }) {
    super('horde.protocol', `The AI Horde sent an answer to ${endpoint} that HordeDesk does not understand: ${detail}`, options);
    this.name = 'HordeProtocolError';
    this.endpoint = endpoint;
    this.status = status;
  }
}

/** No answer: the request timed out or the connection failed. Usually worth retrying later. */
export class HordeUnreachableError extends UserFacingError {
  readonly endpoint: string;
  readonly reason: HttpTransportFailure;
  constructor(endpoint: string, reason: HttpTransportFailure, timeoutMs: number, options?: { cause?: unknown }) {
    const message =
      reason === 'timeout'
        ? `The AI Horde did not answer ${endpoint} within ${formatSeconds(timeoutMs)}. It may be busy; HordeDesk will try again later.`
        : `Could not reach the AI Horde for ${endpoint}. Check the internet connection and the horde URL in settings.`;
    super(reason === 'timeout' ? 'horde.timeout' : 'horde.unreachable', message, options);
    this.name = 'HordeUnreachableError';
    this.endpoint = endpoint;
    this.reason = reason;
  }
}

/** A call that needs the user's key was asked for while none is set; nothing was sent. */
export class HordeMissingKeyError extends UserFacingError {
  readonly endpoint: string;
  constructor(endpoint: string) {
    super('horde.missingApiKey', `HordeDesk needs an AI Horde API key for ${endpoint}. Enter one in settings.`);
    this.name = 'HordeMissingKeyError';
    this.endpoint = endpoint;
  }
}

/** The rcs of a pop refused because the worker (or its owner's account) is in maintenance. */
export const MAINTENANCE_RCS: readonly string[] = ['WorkerMaintenance', 'WorkerFlaggedMaintenance'];

/** Builds the user-facing error for an error status; every text argument must already be redacted. */
export function createHordeApiError(init: {
  endpoint: string;
  status: number;
  hordeMessage: string | undefined;
  rc: string | undefined;
  validationErrors: Record<string, string> | undefined;
  retryAfterMs: number | undefined;
}): HordeApiError {
  const { endpoint, status, hordeMessage, rc, validationErrors, retryAfterMs } = init;
  const code = errorCodeFor(status, rc);
  const said = hordeMessage ? ` The horde said: "${hordeMessage}"` : '';
  let message: string;
  if (code === 'horde.rateLimited') {
    const wait = retryAfterMs === undefined ? 'a little while' : formatSeconds(retryAfterMs);
    message = `The AI Horde is limiting how fast HordeDesk may call ${endpoint}; trying again in ${wait}.${said}`;
  } else if (code === 'horde.serverError') {
    message = `The AI Horde had a problem answering ${endpoint} (HTTP ${status}). Try again later.${said}`;
  } else if (code === 'horde.maintenance') {
    message = `The AI Horde has this worker in maintenance, so it gets no jobs.${said}`;
  } else if (code === 'horde.invalidApiKey') {
    message = `The AI Horde did not accept the API key.${said}`;
  } else {
    const details = validationErrors
      ? ` ${Object.entries(validationErrors)
          .map(([field, problem]) => `${field}: ${problem}`)
          .join('; ')}`
      : '';
    message = `The AI Horde refused ${endpoint} (HTTP ${status}${rc ? `, ${rc}` : ''}).${said}${details}`;
  }
  return new HordeApiError({ code, message, status, rc, retryAfterMs, endpoint, hordeMessage, fields: validationErrors });
}

function errorCodeFor(status: number, rc: string | undefined): HordeErrorCode {
  if (status === 429) return 'horde.rateLimited';
  if (status >= 500) return 'horde.serverError';
  if (status === 401 || rc === 'InvalidAPIKey') return 'horde.invalidApiKey';
  if (status === 403 && rc !== undefined && MAINTENANCE_RCS.includes(rc)) return 'horde.maintenance';
  return 'horde.rejected';
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

function formatSeconds(ms: number): string {
  const seconds = Math.max(1, Math.round(ms / 1000));
  return seconds === 1 ? '1 second' : `${seconds} seconds`;
}
