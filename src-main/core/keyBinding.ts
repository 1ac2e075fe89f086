import { defaultSettings } from '../common/settings';
import { pendingOrigins, type KeyService, type KeyUrls, type PendingOrigin } from './keyOrigin';
import type { SecretStorePort } from './secrets';

/** The key and the URLs it is confirmed for, to put back when a new key is refused. */
export interface KeySnapshot {
  key: string | null;
  urls: KeyUrls | null;
}

/**
 * The API key as the rest of the app sees it: read from the secret store once and again only
 * after a change made here, and bound to the horde and ratings origins the user confirmed.
 */
export interface KeyBinding {
  /** The key, or null; no store read. */
  apiKey(): string | null;
  /** The URL whose origin the key is confirmed for; null when no key is set. */
  confirmedUrl(service: KeyService): string | null;
  /** The services the settings now point at an unconfirmed origin (empty without a key). */
  pending(): PendingOrigin[];
  /** Stores a key and confirms the origins the settings show now. */
  set(key: string): void;
  /** Forgets the key and its origins. */
  clear(): void;
  /** Confirms the origins the settings show now. */
  confirm(): void;
  snapshot(): KeySnapshot;
  restore(snapshot: KeySnapshot): void;
  /** The binding as a {@link SecretStorePort}, for code that only needs the key. */
  readonly store: SecretStorePort;
}

/**
 * The URLs a key stored before origins were recorded counts as confirmed for: the services'
 * defaults. A user with other URLs is asked once; nobody is silently trusted on an import.
 */
export function legacyKeyUrls(): KeyUrls {
  const defaults = defaultSettings();
  return { horde: defaults.hordeUrl, ratings: defaults.ratingsUrl };
}

/**
 * Binds the key in `store` to the service URLs the settings show (`currentUrls`). `onKeyChange`
 * runs once at start and after every change of the key (the log redaction keeps its copy).
 * A store that cannot be read counts as holding no key; `onReadError` hears why.
 */
export function createKeyBinding(
  store: SecretStorePort,
  currentUrls: () => KeyUrls,
  onKeyChange: (key: string | null) => void,
  onReadError: (error: unknown) => void = () => undefined,
): KeyBinding {
  let key: string | null = null;
  let urls: KeyUrls | null = null;
  try {
    key = store.getApiKey();
    urls = key === null ? null : (store.getKeyUrls() ?? legacyKeyUrls());
  } catch (error) {
    onReadError(error);
  }
  onKeyChange(key);

  const binding: KeyBinding = {
    apiKey: () => key,
    confirmedUrl: (service) => (key === null || urls === null ? null : urls[service]),
    pending: () => (key === null || urls === null ? [] : pendingOrigins(currentUrls(), urls)),
    set(next) {
      const confirmed = currentUrls();
      store.setApiKey(next);
      store.setKeyUrls(confirmed);
      key = next;
      urls = { ...confirmed };
      onKeyChange(key);
    },
    clear() {
      store.clearApiKey();
      store.setKeyUrls(null);
      key = null;
      urls = null;
      onKeyChange(null);
    },
    confirm() {
      if (key === null) return;
      const confirmed = currentUrls();
      store.setKeyUrls(confirmed);
      urls = { ...confirmed };
    },
    snapshot: () => ({ key, urls: urls && { ...urls } }),
    restore(snapshot) {
      if (snapshot.key === null) return binding.clear();
      store.setApiKey(snapshot.key);
      store.setKeyUrls(snapshot.urls);
      key = snapshot.key;
      urls = snapshot.urls ?? legacyKeyUrls();
      onKeyChange(key);
    },
    store: {
      protection: store.protection,
      getApiKey: () => key,
      setApiKey: (next) => binding.set(next),
      clearApiKey: () => binding.clear(),
      getKeyUrls: () => urls,
      setKeyUrls: (next) => {
        store.setKeyUrls(next);
        urls = next ?? (key === null ? null : legacyKeyUrls());
      },
    },
  };
  return binding;
}
