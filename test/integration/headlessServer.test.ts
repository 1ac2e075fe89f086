import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import WebSocket from 'ws';
import type { EventHub } from '../../src-main/core/events';
import { startHeadlessServer, type HeadlessServer } from '../../src-main/headless/server';
import type { HordeDeskApp } from '../../src-main/node/app';
import { testApp } from '../helpers/app';
import { until } from '../helpers/worker';

// The headless server's own life: starting without a built UI or on a taken port, a file that
// vanishes while it runs, a command that throws, a page that leaves, and closing while a
// download is still under way. Each test has its own server and renderer folder.

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function rendererFolder(files: Record<string, string | Buffer> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'hordedesk-headless-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>HordeDesk</title>');
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

function appWithLog(): { app: HordeDeskApp; lines: string[] } {
  const lines: string[] = [];
  const app = testApp({ echoLog: (line) => lines.push(line) });
  cleanup.push(() => app.close());
  return { app, lines };
}

async function serve(app: HordeDeskApp, rendererDir: string, port?: number): Promise<HeadlessServer> {
  const server = await startHeadlessServer(app, { rendererDir, port });
  cleanup.push(() => server.close());
  return server;
}

/** GETs `path`: the status, or the error that ended the answer. */
function get(server: HeadlessServer, path: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port: server.port, path }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', (error) => resolve(error.message));
    });
    req.on('error', (error) => resolve(error.message));
    req.end();
  });
}

function openSocket(server: HeadlessServer): Promise<WebSocket> {
  const token = new URL(server.url).hash.replace('#token=', '');
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws?token=${token}`, { headers: { Origin: `http://127.0.0.1:${server.port}` } });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

test('without a built user interface it says what to run instead of serving nothing', async () => {
  const { app } = appWithLog();
  const empty = mkdtempSync(join(tmpdir(), 'hordedesk-headless-'));
  cleanup.push(() => rmSync(empty, { recursive: true, force: true }));
  await expect(startHeadlessServer(app, { rendererDir: empty })).rejects.toThrow(
    `The user interface is not built (no ${empty}/index.html). Run \`npm run build\` first.`,
  );
});

test('a port already in use is an error at start', async () => {
  const { app } = appWithLog();
  const dir = rendererFolder();
  const first = await serve(app, dir);
  await expect(startHeadlessServer(app, { rendererDir: dir, port: first.port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
  expect(await get(first, '/')).toBe(200);
});

test('a file deleted while running ends that answer, is logged, and the server keeps serving', async () => {
  const { app, lines } = appWithLog();
  const dir = rendererFolder({ 'assets/gone.js': 'console.log("soon gone")' });
  const server = await serve(app, dir);
  rmSync(join(dir, 'assets', 'gone.js'));
  expect(await get(server, '/assets/gone.js')).not.toBe(200);
  expect(lines.join('\n')).toContain('[headless] could not read /assets/gone.js');
  expect(await get(server, '/')).toBe(200);
});

test('closing ends a download still under way instead of waiting for it', async () => {
  const { app } = appWithLog();
  const server = await serve(app, rendererFolder({ 'assets/big.js': Buffer.alloc(32 * 1024 * 1024, 0x20) }));
  const started = new Promise<void>((resolve) => {
    // A page that reads the first bytes, then stalls: the answer cannot finish on its own.
    request({ host: '127.0.0.1', port: server.port, path: '/assets/big.js' }, (res) => {
      res.once('data', () => {
        res.pause();
        resolve();
      });
      res.on('error', () => undefined);
    })
      .on('error', () => undefined)
      .end();
  });
  await started;
  await server.close();
  expect(await get(server, '/')).toMatch(/ECONNREFUSED/);
});

test('a command that throws answers "internal" to the page and logs the error', async () => {
  const { app, lines } = appWithLog();
  const broken = {
    ...app,
    handlers: {
      ...app.handlers,
      'app.info': () => Promise.reject(new Error('the handler broke')),
    },
  } as HordeDeskApp;
  const server = await serve(broken, rendererFolder());
  const ws = await openSocket(server);
  const answer = new Promise<unknown>((resolve) => ws.once('message', (data) => resolve(JSON.parse(String(data)))));
  ws.send(JSON.stringify({ t: 'cmd', id: 1, name: 'app.info', payload: {} }));
  expect(await answer).toMatchObject({ t: 'res', id: 1, result: { ok: false, error: { code: 'internal' } } });
  expect(lines.join('\n')).toMatch(/\[headless\] command app\.info failed Error: the handler broke/);
  ws.close();
});

test('a page that leaves stops listening to events', async () => {
  const { app } = appWithLog();
  let listening = 0;
  const events: EventHub = {
    emit: (name, payload) => app.events.emit(name, payload),
    subscribe(listener) {
      listening++;
      const stop = app.events.subscribe(listener);
      return () => {
        listening--;
        return stop();
      };
    },
  };
  const server = await serve({ ...app, events } as HordeDeskApp, rendererFolder());
  const ws = await openSocket(server);
  expect(listening).toBe(1);
  ws.close();
  await until(() => listening === 0);
});
