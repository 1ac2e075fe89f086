import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseKeyUrls } from '../../core/keyOrigin';
import type { SecretStorePort } from '../../core/secrets';

/** Encrypts and decrypts the key file's contents (Electron safeStorage); absent in headless mode. */
export interface SecretCipher {
  encrypt(plain: string): Buffer;
  decrypt(data: Buffer): string;
}

/**
 * The API key in `<dataDir>/secrets/`, the folder 0700 and the file 0600 (only this user can read
 * it). In Electron the contents are also encrypted with the OS key store through `cipher`. The
 * service URLs confirmed for the key sit in a second file there, protected the same way.
 */
export function createFileSecretStore(dataDir: string, cipher: SecretCipher | null = null): SecretStorePort {
  const dir = join(dataDir, 'secrets');
  const file = join(dir, cipher ? 'apikey.enc' : 'apikey');
  const urlsFile = join(dir, cipher ? 'apikey-origins.enc' : 'apikey-origins.json');
  const read = (path: string): string | null => {
    if (!existsSync(path)) return null;
    const raw = readFileSync(path);
    return cipher ? cipher.decrypt(raw) : raw.toString('utf8');
  };
  const write = (path: string, text: string): void => {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    writeFileSync(path, cipher ? cipher.encrypt(text) : text, { mode: 0o600 });
    chmodSync(path, 0o600);
  };
  return {
    protection: cipher ? 'encrypted with your system key store' : `in ${file}, readable only by your user account`,
    getApiKey() {
      const key = read(file)?.trim() ?? '';
      return key === '' ? null : key;
    },
    setApiKey: (key) => write(file, key),
    clearApiKey() {
      rmSync(file, { force: true });
    },
    getKeyUrls() {
      const text = read(urlsFile);
      return text === null ? null : parseKeyUrls(text);
    },
    setKeyUrls(urls) {
      if (urls === null) rmSync(urlsFile, { force: true });
      else write(urlsFile, JSON.stringify(urls));
    },
  };
}
