import { HordeApiError, HordeMissingKeyError } from '../horde/errors';
import { KeyDestinationError } from '../keyOrigin';

/** Pop refusals that name the key: this key owns no such worker, or the anonymous key may not work. */
const KEY_RCS: readonly string[] = ['InvalidAPIKey', 'WrongCredentials', 'AnonForbiddenWorker'];

/**
 * Whether a refused pop is about the API key, so that a new key (or confirming where it may be
 * sent) can fix it: no key, a key held back from an unconfirmed address, or one the horde rejects
 * (401) or does not accept for this worker.
 */
export function isKeyProblem(error: unknown): boolean {
  if (error instanceof HordeMissingKeyError || error instanceof KeyDestinationError) return true;
  return error instanceof HordeApiError && (error.status === 401 || (error.rc !== undefined && KEY_RCS.includes(error.rc)));
}
