import { UserFacingError } from '../../common/result';
import { formatSeconds, ServiceApiError, ServiceProtocolError, ServiceUnreachableError, type ServiceApiErrorInit } from './serviceErrors';

// Every horde failure becomes one of three errors, so callers decide on retry and wording by
// class: the horde said no (HordeApiError), the horde said something unreadable
// (HordeProtocolError), or the horde said nothing (HordeUnreachableError). Their shapes, the
// Retry-After parser and the key redaction are shared with the ratings client (./serviceErrors).

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

/** The horde answered with an error status; `endpoint` is "METHOD /v2/path". */
export class HordeApiError extends ServiceApiError {
  /** The horde's return code (e.g. "InvalidAPIKey"); absent on validation errors, 429 and 5xx. */
  readonly rc: string | undefined;
  /** The horde's own sentence, API key removed. */
  readonly hordeMessage: string | undefined;
  constructor(
    init: ServiceApiErrorInit & {
      code: HordeErrorCode;
      message: string;
      rc: string | undefined;
      hordeMessage: string | undefined;
      fields?: Record<string, string>;
    },
  ) {
    super(init.code, init.message, init, init.fields);
    this.name = 'HordeApiError';
    this.rc = init.rc;
    this.hordeMessage = init.hordeMessage;
  }
}

/** The horde answered, but not with JSON of the shape the protocol promises. */
export class HordeProtocolError extends ServiceProtocolError {
  static override readonly service = 'horde';
}

/** No answer from the horde: the request timed out or the connection failed. Usually worth retrying later. */
export class HordeUnreachableError extends ServiceUnreachableError {
  static override readonly service = 'horde';
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
