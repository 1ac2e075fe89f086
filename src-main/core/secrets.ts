import type { KeyUrls } from './keyOrigin';

/**
 * Where the API key lives: Electron safeStorage in the app, a 0600 file in headless mode. Never
 * in settings JSON, never in a log line, never sent to the renderer (it only learns whether a key
 * is set). The service URLs the user confirmed for the key live beside it, so a settings file
 * cannot move them.
 */
export interface SecretStorePort {
  getApiKey(): string | null;
  setApiKey(key: string): void;
  clearApiKey(): void;
  /** The horde and ratings URLs whose origins the key is confirmed for; null when none were stored. */
  getKeyUrls(): KeyUrls | null;
  /** Stores the confirmed URLs; null forgets them. */
  setKeyUrls(urls: KeyUrls | null): void;
  /** Plain words on how the key is protected, for the Settings page. */
  readonly protection: string;
}

/** Horde keys are 22 URL-safe characters (HORDE-PROTOCOL §1.2); the anonymous key cannot run a worker. */
export function checkApiKeyShape(key: string): string | null {
  if (key === '0000000000') return 'The anonymous key cannot run a worker or earn kudos: use your own key from aihorde.net/register.';
  if (!/^[A-Za-z0-9_-]{22}$/.test(key)) return 'An AI Horde API key is 22 letters, digits, - or _ (copy it from aihorde.net/register).';
  return null;
}
