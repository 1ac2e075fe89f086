import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { startHeadless, type HeadlessProcess } from '../helpers/headlessProcess';

/** Runs the miniature entry and collects what it printed and how it ended. */
function runScript(mode: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/processGuardScript.ts', mode], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

test('an unhandled rejection is logged through the app logger and the app keeps running', async () => {
  const { code, output } = await runScript('rejection');
  expect(output).toContain('ERROR an operation failed without anyone waiting for it; HordeDesk keeps running a promise nobody awaited');
  expect(output).toContain('still serving');
  expect(code).toBe(0);
});

test('an uncaught exception is logged, then the app stops with an error code instead of running on a broken state', async () => {
  const { code, output } = await runScript('exception');
  expect(output).toContain('ERROR an unexpected error; HordeDesk stops now (nothing acknowledged is lost) a half-finished update');
  expect(output).toContain('Guard test stopped after an unexpected error');
  expect(output).not.toContain('still running');
  expect(code).toBe(1);
});

let app: HeadlessProcess | undefined;
afterAll(async () => app?.stop());

test('the real headless app answers GET /% with a 400 and keeps serving its page and its socket', async () => {
  app = await startHeadless(mkdtempSync(join(tmpdir(), 'hd-guard-')));
  const { port } = new URL(app.url);
  const status = (path: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
  expect(await status('/%')).toBe(400);
  expect(await status('/%E0%A4%A')).toBe(400);
  expect(await status('/')).toBe(200);
  expect(await app.call('app.info')).toMatchObject({ shell: 'headless' });
}, 60_000);
