import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SecretStorePort } from '../core/secrets';

/** Encrypts and decrypts the key file's contents (Electron safeStorage); absent in headless mode. */
export interface SecretCipher {
  encrypt(plain: string): Buffer;
  decrypt(data: Buffer): string;
}

/**
 * The API key in `<dataDir>/secrets/`, the folder 0700 and the file 0600 (only this user can read
 * it). In Electron the contents are also encrypted with the OS key store through `cipher`.
 */
export function createFileSecretStore(dataDir: string, cipher: SecretCipher | null = null): SecretStorePort {
  const dir = join(dataDir, 'secrets');
  const file = join(dir, cipher ? 'apikey.enc' : 'apikey');
  return {
    protection: cipher ? 'encrypted with your system key store' : `in ${file}, readable only by your user account`,
    getApiKey() {
      if (!existsSync(file)) return null;
      const raw = readFileSync(file);
      const key = (cipher ? cipher.decrypt(raw) : raw.toString('utf8')).trim();
      return key === '' ? null : key;
    },
    setApiKey(key) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      chmodSync(dir, 0o700);
      writeFileSync(file, cipher ? cipher.encrypt(key) : key, { mode: 0o600 });
      chmodSync(file, 0o600);
    },
    clearApiKey() {
      rmSync(file, { force: true });
    },
  };
}
