import type { ApiKeyStatus } from '../common/contract';
import { UserFacingError } from '../common/result';
import type { SettingsPatch } from '../common/settings';
import type { HordeClient } from './horde/client';
import { HordeApiError } from './horde/errors';
import type { KeyBinding } from './keyBinding';
import type { PendingOrigin } from './keyOrigin';
import type { Logger } from './log';
import { checkApiKeyShape } from './secrets';

/** What the Settings page does with the API key; each answer is the key's status (never the key). */
export interface ApiKeyService {
  status(): ApiKeyStatus;
  /** Checks the key's shape, then with the horde; a key the horde does not know is not kept. */
  set(apiKey: string): Promise<ApiKeyStatus>;
  /** Sends the key to the origins the settings show now. */
  confirmOrigins(): ApiKeyStatus;
  /** Puts the service URLs back to those the key was confirmed for. */
  revertOrigins(): ApiKeyStatus;
  clear(): ApiKeyStatus;
}

/** What the key service needs: the key binding, the horde to ask who owns a key, and the settings to put URLs back. */
export interface ApiKeyServiceDeps {
  keys: KeyBinding;
  horde: Pick<HordeClient, 'findUser'>;
  settings: { update(patch: SettingsPatch): unknown };
  log: Pick<Logger, 'info' | 'warn'>;
  /** A key or origin change may fix what failed: the rater retries at once. */
  onKeyUsable: () => void;
}

interface KeyOwner {
  username: string;
  kudos: number | null;
  trusted: boolean | null;
}

/** The settings change that points each pending service back at the URL the key was confirmed for. */
export function revertPatch(pending: readonly PendingOrigin[]): SettingsPatch {
  const back: { hordeUrl?: string; ratingsUrl?: string } = {};
  for (const p of pending) back[p.service === 'horde' ? 'hordeUrl' : 'ratingsUrl'] = p.previousUrl;
  return back;
}

/**
 * The API key commands over the key binding. Setting a key stores it (confirming the origins the
 * settings show now) and asks the horde whose it is: a key the horde does not know (401/404) is
 * rolled back to the previous key and origins; offline, the key is kept unchecked.
 */
export function createApiKeyService(deps: ApiKeyServiceDeps): ApiKeyService {
  const { keys, log } = deps;
  let owner: KeyOwner | null = null;

  const status = (): ApiKeyStatus => ({
    set: keys.apiKey() !== null,
    protection: keys.store.protection,
    username: owner?.username ?? null,
    kudos: owner?.kudos ?? null,
    trusted: owner?.trusted ?? null,
    pendingOrigins: keys.pending(),
  });

  async function checkOwner(): Promise<void> {
    const details = await deps.horde.findUser();
    owner = {
      username: details.username,
      kudos: typeof details.kudos === 'number' ? details.kudos : null,
      trusted: typeof details.trusted === 'boolean' ? details.trusted : null,
    };
  }

  return {
    status,
    async set(apiKey) {
      const problem = checkApiKeyShape(apiKey);
      if (problem) throw new UserFacingError('invalid-api-key', problem, { fields: { apiKey: problem } });
      const previous = keys.snapshot();
      keys.set(apiKey);
      try {
        await checkOwner();
      } catch (error) {
        if (error instanceof HordeApiError && (error.status === 401 || error.status === 404)) {
          keys.restore(previous);
          throw new UserFacingError('unknown-api-key', 'The horde does not know this API key. Check it at aihorde.net/register.', {
            fields: { apiKey: 'unknown to the horde' },
          });
        }
        owner = null;
        log.warn(`kept the API key without checking it: ${error instanceof Error ? error.message : String(error)}`);
      }
      deps.onKeyUsable();
      return status();
    },
    confirmOrigins() {
      const pending = keys.pending();
      keys.confirm();
      if (pending.length) log.info(`the user confirmed sending the API key to ${pending.map((p) => p.origin).join(' and ')}`);
      deps.onKeyUsable();
      return status();
    },
    revertOrigins() {
      const back = revertPatch(keys.pending());
      if (Object.keys(back).length) deps.settings.update(back);
      return status();
    },
    clear() {
      keys.clear();
      owner = null;
      return status();
    },
  };
}
