import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { createRedactor, type Logger } from '../../src-main/core/log';
import type { SecretStorePort } from '../../src-main/core/secrets';
import { createFileLogger } from '../../src-main/node/system/logger';
import { testApp } from '../helpers/app';

// Every place a log line can end up (the area's file, the console echo of headless, child
// areas such as the process guard's) must never show the API key: not in the message, not in
// an error's message or stack, not in its cause chain, not deep in a detail object.

const KEY = 'Zq9_secretKEY-0123456789';

/** Logs the key in every shape a careless caller might hand the logger. */
function logEveryShape(log: Logger, key: string): void {
  log.info(`plain message with ${key} inside`);
  log.warn('a detail string', `the key was ${key}`);
  log.error('an error', new Error(`refused key ${key}`));
  const withCause = new Error('outer failure', { cause: new Error(`inner failure for ${key}`) });
  log.error('an error with a cause', withCause);
  log.error('an error caused by an object', new Error('request failed', { cause: { request: { headers: { apikey: key } } } }));
  log.warn('a detail object', { call: { url: 'https://aihorde.net/api/v2/find_user', headers: { apikey: key, 'Client-Agent': 'x' } } });
  const looped = new Error(`loop ${key}`);
  (looped as { cause?: unknown }).cause = looped;
  log.error('an error whose cause is itself', looped);
  const stackOnly = new Error('no key in the message');
  stackOnly.stack = `Error: no key in the message\n    at handler (/srv/${key}/app.js:1:1)`;
  log.error('a stack carrying it', stackOnly);
  log.child('process').error('a child area', new Error(key));
}

const LINES_WITH_KEY = 9;

function logFiles(dir: string): string {
  return readdirSync(dir)
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('\n');
}

describe('log redaction, per sink', () => {
  test('the file sink (every area file) never holds the key, and says where it was', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hordedesk-logs-'));
    logEveryShape(createFileLogger(dir, 'app', createRedactor([KEY])), KEY);
    const text = logFiles(dir);
    expect(readdirSync(dir).sort()).toEqual(['app.log', 'process.log']);
    expect(text).not.toContain(KEY);
    expect(text.match(/\[redacted\]/g)?.length).toBeGreaterThanOrEqual(LINES_WITH_KEY);
    expect(text).toContain('inner failure for [redacted]');
    expect(text).toContain('/srv/[redacted]/app.js');
  });

  test('the console echo never shows the key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hordedesk-logs-'));
    const echoed: string[] = [];
    logEveryShape(
      createFileLogger(dir, 'app', createRedactor([KEY]), (line) => echoed.push(line)),
      KEY,
    );
    expect(echoed.length).toBeGreaterThanOrEqual(LINES_WITH_KEY);
    expect(echoed.join('\n')).not.toContain(KEY);
  });

  test('a key-like value next to its name is removed even when nobody registered it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hordedesk-logs-'));
    const echoed: string[] = [];
    createFileLogger(dir, 'app', createRedactor(), (line) => echoed.push(line)).warn('sent', { apikey: 'Unregistered_key_123456' });
    expect(echoed.join('\n')).not.toContain('Unregistered_key_123456');
  });
});

describe('the app redacts with the key it holds, read once per change', () => {
  /** A secret store that counts how often the key is read (safeStorage decrypts on each read). */
  function countingStore(initial: string | null) {
    const state = { key: initial, reads: 0 };
    let urls: ReturnType<SecretStorePort['getKeyUrls']> = null;
    const store: SecretStorePort = {
      protection: 'in memory',
      getApiKey: () => (state.reads++, state.key),
      setApiKey: (k) => void (state.key = k),
      clearApiKey: () => void (state.key = null),
      getKeyUrls: () => urls,
      setKeyUrls: (u) => void (urls = u),
    };
    return { store, state };
  }

  test('file and echo sinks of a running app, before and after the key changes', async () => {
    const { store, state } = countingStore(KEY);
    const echoed: string[] = [];
    const app = testApp({ secrets: store, echoLog: (line) => echoed.push(line) });
    try {
      logEveryShape(app.log, KEY);
      logEveryShape(app.log.child('worker'), KEY);
      const NEXT = 'Next_key_abcdefghijklmn';
      app.secrets.setApiKey(NEXT);
      logEveryShape(app.log.child('rating'), NEXT);
      const files = logFiles(join(app.dataDir, 'logs'));
      for (const key of [KEY, NEXT]) {
        expect(files).not.toContain(key);
        expect(echoed.join('\n')).not.toContain(key);
      }
      expect(echoed.length).toBeGreaterThanOrEqual(3 * LINES_WITH_KEY);
      // Dozens of lines, one key change: the store was read once, at start.
      expect(state.reads).toBe(1);
      app.secrets.clearApiKey();
      app.log.info('after clearing');
      expect(state.reads).toBe(1);
    } finally {
      await app.close();
    }
  });
});
