import { UserFacingError } from '../common/result';
import { checkServiceUrl, originOf } from '../common/serviceUrl';

// Where the API key may go. The key is bound to the origins (scheme://host:port) of the horde
// and ratings URLs the user confirmed; a settings change or a settings file import that points
// a service elsewhere does not take the key with it until the user says so.

/** The services HordeDesk sends the API key to. */
export type KeyService = 'horde' | 'ratings';

/** Both services, in the order the UI names them. */
export const KEY_SERVICES: readonly KeyService[] = ['horde', 'ratings'];

/** The service URLs whose origins the user confirmed for the key (kept next to the key, never in settings). */
export type KeyUrls = Record<KeyService, string>;

/** The service in the words the UI uses. */
export const SERVICE_NAMES: Readonly<Record<KeyService, string>> = { horde: 'the AI Horde', ratings: 'the ratings service' };

/** A service now pointing at an origin the key is not confirmed for. */
export interface PendingOrigin {
  service: KeyService;
  /** Where the settings now point. */
  origin: string;
  /** The origin the key was confirmed for. */
  previousOrigin: string;
  /** The full URL confirmed last, which "Go back" restores. */
  previousUrl: string;
}

/** Why a call with the key was not sent: a plain-http remote URL, or an origin not confirmed. */
export class KeyDestinationError extends UserFacingError {
  /** The origin the call would have gone to (empty when the URL did not parse). */
  readonly origin: string;
  constructor(code: 'key.insecureUrl' | 'key.unconfirmedOrigin', message: string, origin: string) {
    super(code, message);
    this.name = 'KeyDestinationError';
    this.origin = origin;
  }
}

/** The origin of a URL, or '' when it is not a URL. */
function safeOrigin(url: string): string {
  try {
    return originOf(url);
  } catch {
    return '';
  }
}

/**
 * Checks a call that would carry the API key. Returns the error to throw instead of sending, or
 * null when it may go: the URL passes the service URL rule (https unless loopback) and, when a
 * confirmed URL is given, has the same origin as that URL.
 */
export function keyDestinationProblem(url: string, confirmedUrl: string | null | undefined, what: string): KeyDestinationError | null {
  const origin = safeOrigin(url);
  const problem = checkServiceUrl(url, what);
  if (problem !== undefined)
    return new KeyDestinationError('key.insecureUrl', `Your API key was not sent to ${origin || 'that address'}: ${problem}`, origin);
  if (confirmedUrl === undefined || confirmedUrl === null) return null;
  const confirmed = safeOrigin(confirmedUrl);
  if (origin === confirmed) return null;
  return new KeyDestinationError(
    'key.unconfirmedOrigin',
    `Your settings now send your API key to ${origin} instead of ${confirmed || 'the address you confirmed'}. Nothing is sent there until you confirm it in Settings.`,
    origin,
  );
}

/** The services whose current URL has another origin than the one confirmed for the key. */
export function pendingOrigins(current: KeyUrls, confirmed: KeyUrls): PendingOrigin[] {
  const pending: PendingOrigin[] = [];
  for (const service of KEY_SERVICES) {
    const origin = safeOrigin(current[service]);
    const previousOrigin = safeOrigin(confirmed[service]);
    if (origin !== previousOrigin) pending.push({ service, origin, previousOrigin, previousUrl: confirmed[service] });
  }
  return pending;
}

/** Parses stored confirmed URLs; null when the stored text is not what {@link KeyUrls} looks like. */
export function parseKeyUrls(text: string): KeyUrls | null {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return null;
    const { horde, ratings } = value as Record<string, unknown>;
    return typeof horde === 'string' && typeof ratings === 'string' ? { horde, ratings } : null;
  } catch {
    return null;
  }
}
