import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { safetyDirOf } from '../../src-main/node/safety/safetyModel';
import { writeTinySafetyModel } from '../../src-main/node/safety/tinySafetyModel';

/**
 * A data folder preset for a headless app: settings pointing at `hordeApiUrl`, an API key in the 0600 file,
 * and the tiny safety model (the worker takes no job without its check; random weights flag nothing).
 */
export function presetDataDir(dir: string, settings: { hordeUrl: string; ratingsUrl: string; workerName?: string }, apiKey: string): void {
  mkdirSync(join(dir, 'secrets'), { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, 'settings.json'), JSON.stringify({ schemaVersion: 1, workerName: '', ...settings }));
  writeFileSync(join(dir, 'secrets', 'apikey'), apiKey, { mode: 0o600 });
  chmodSync(join(dir, 'secrets', 'apikey'), 0o600);
  writeTinySafetyModel(safetyDirOf(dir));
  // The key is confirmed for these services, as if the user had set it with these URLs in place.
  writeFileSync(join(dir, 'secrets', 'apikey-origins.json'), JSON.stringify({ horde: settings.hordeUrl, ratings: settings.ratingsUrl }), {
    mode: 0o600,
  });
}

/** `npm run headless` as a separate process, and a WebSocket client of its contract. */
export interface HeadlessProcess {
  /** The page address it printed, token included. */
  url: string;
  call<T = unknown>(name: string, payload?: unknown): Promise<T>;
  /** Resolves with the first `rating.status`-like answer that satisfies `check` (polling the command). */
  waitFor<T>(name: string, check: (value: T) => boolean, pollMs?: number): Promise<T>;
  /** SIGKILL: no shutdown code runs, as in a crash or a power cut. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts a headless entry with tsx and waits for the address it prints (its output so far is in
 * the error if it exits first).
 */
export async function spawnHeadless(
  entry: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ child: ChildProcess; url: string }> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', entry, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /(http:\/\/127\.0\.0\.1:\d+\/#token=\S+)/.exec(output);
      if (match?.[1]) resolve(match[1]);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`headless exited with ${code}:\n${output}`)));
  });
  return { child, url };
}

/** `entry` runs another headless entry (e.g. the demo's) with extra `args`. */
export async function startHeadless(dataDir: string, opts: { entry?: string; args?: string[] } = {}): Promise<HeadlessProcess> {
  const { child, url } = await spawnHeadless(opts.entry ?? 'src-main/headless/main.ts', [
    '--port',
    '0',
    '--data-dir',
    dataDir,
    ...(opts.args ?? []),
  ]);
  const { host, hash } = new URL(url);
  const ws = new WebSocket(`ws://${host}/ws?token=${hash.replace('#token=', '')}`);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  let nextId = 1;
  const pending = new Map<number, (result: { ok: boolean; value?: unknown; error?: { message: string } }) => void>();
  ws.on('message', (data) => {
    const message = JSON.parse(String(data)) as { t: string; id?: number; result?: { ok: boolean } };
    if (message.t === 'res' && message.id !== undefined) pending.get(message.id)?.(message.result as never);
  });
  const call = <T>(name: string, payload: unknown = {}): Promise<T> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, (result) => (result.ok ? resolve(result.value as T) : reject(new Error(`${name}: ${result.error?.message}`))));
      ws.send(JSON.stringify({ t: 'cmd', id, name, payload }));
    });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url,
    call,
    async waitFor<T>(name: string, check: (value: T) => boolean, pollMs = 50): Promise<T> {
      for (;;) {
        const value = await call<T>(name);
        if (check(value)) return value;
        await new Promise((r) => setTimeout(r, pollMs));
      }
    },
    async kill() {
      ws.terminate();
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      ws.close();
      child.kill('SIGTERM');
      await exited;
    },
  };
}
