import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect as connectTcp } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import WebSocket from 'ws';
import { startHeadlessServer, type HeadlessServer } from '../../src-main/headless/server';
import type { HordeDeskApp } from '../../src-main/node/app';
import { testApp } from '../helpers/app';

let app: HordeDeskApp;
let server: HeadlessServer;
let token: string;
let origin: string;
let base: string;
let rendererDir: string;
/** Every log line the app wrote, as its console echo shows it. */
const logLines: string[] = [];
/** Written just outside the served folder: no answer may ever contain it. */
const SECRET = `secret-${randomBytes(8).toString('hex')}`;

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'hordedesk-serve-'));
  rendererDir = join(base, 'renderer');
  mkdirSync(join(rendererDir, 'assets'), { recursive: true });
  writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>HordeDesk</title>');
  writeFileSync(join(rendererDir, 'assets', 'app.js'), 'console.log("renderer")');
  writeFileSync(join(rendererDir, '.env'), SECRET);
  writeFileSync(join(base, 'secret.txt'), SECRET);
  // A sibling whose name starts with the served folder's: `startsWith(root)` without a separator lets it through.
  mkdirSync(join(base, 'renderer-private'));
  writeFileSync(join(base, 'renderer-private', 'secret.txt'), SECRET);
  app = testApp({ echoLog: (line) => logLines.push(line) });
  server = await startHeadlessServer(app, { rendererDir });
  token = new URL(server.url).hash.replace('#token=', '');
  origin = `http://127.0.0.1:${server.port}`;
});

afterAll(async () => {
  await server.close();
  await app.close();
});

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Sends the request target exactly as given: `fetch` would resolve `..` and `%2e%2e` before sending. */
function raw(path: string, init: { method?: string; headers?: Record<string, string> } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method: init.method ?? 'GET', headers: init.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Writes bytes on a fresh TCP connection and returns the status line of the answer as soon as it arrives. */
function statusLine(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp(server.port, '127.0.0.1', () => socket.write(text));
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk.toString();
      if (!answer.includes('\r\n')) return;
      socket.destroy();
      resolve(answer.split('\r\n', 1)[0] ?? '');
    });
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

/** A WebSocket upgrade request for `target`, as a non-browser client would send it. */
function upgrade(target: string, headers = ''): string {
  return `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${headers}\r\n`;
}

/** Writes bytes on a fresh TCP connection and returns the status line of the answer. */
function rawTcp(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp(server.port, '127.0.0.1', () => socket.write(text));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('close', () => resolve(answer.split('\r\n', 1)[0] ?? ''));
    socket.on('error', reject);
  });
}

function connect(query: string, headers: Record<string, string> = { Origin: origin }): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws${query}`, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

function call(ws: WebSocket, id: number, name: string, payload: unknown): Promise<unknown> {
  return new Promise((resolve) => {
    const onMessage = (data: WebSocket.RawData): void => {
      const message = JSON.parse(String(data)) as { t: string; id?: number; result?: unknown };
      if (message.t === 'res' && message.id === id) {
        ws.off('message', onMessage);
        resolve(message.result);
      }
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ t: 'cmd', id, name, payload }));
  });
}

describe('headless entry', () => {
  test('listens on 127.0.0.1 only and prints a URL carrying the token', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]{32}$/);
  });

  test('serves the renderer with its security headers, index.html at /', async () => {
    for (const path of ['/', '/assets/app.js', '/nothing-here.js']) {
      const answer = await raw(path);
      expect(answer.status, path).toBe(path === '/nothing-here.js' ? 404 : 200);
      expect(answer.headers['content-security-policy'], path).toContain(
        `connect-src 'self' ws://127.0.0.1:${server.port} ws://localhost:${server.port}`,
      );
      expect(answer.headers['x-content-type-options'], path).toBe('nosniff');
      expect(answer.headers['referrer-policy'], path).toBe('no-referrer');
      expect(answer.headers['cache-control'], path).toBe('no-store');
    }
    expect((await raw('/')).body).toContain('<title>HordeDesk</title>');
    const missing = await raw('/nothing-here.js');
    expect([missing.headers['content-type'], missing.body]).toEqual(['text/plain; charset=utf-8', 'Not found']);
    expect((await raw('/assets/app.js')).headers['content-type']).toMatch(/^text\/javascript/);
    const head = await raw('/', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
      const refused = await raw('/', { method });
      expect(refused.status, method).toBe(405);
      expect(refused.headers.allow, method).toBe('GET, HEAD');
      expect(refused.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  // Each of these names the secret under a naive `join(root, decodeURIComponent(path))`, or
  // under `resolve`, or under a `startsWith(root)` check without the separator.
  const escapes = [
    '/../secret.txt',
    '/assets/../../secret.txt',
    '/%2e%2e/secret.txt',
    '/%2E%2E/secret.txt',
    '/.%2e/secret.txt',
    '/..%2fsecret.txt',
    '/%2e%2e%2fsecret.txt',
    '/assets%2f..%2f..%2fsecret.txt',
    '/..%2frenderer-private%2fsecret.txt',
    '/../renderer-private/secret.txt',
    '/..%5csecret.txt',
    '/..\\secret.txt',
    '/%252e%252e/secret.txt',
  ];
  test.each(escapes)('never serves a file outside the renderer folder: %s', async (path) => {
    const answer = await raw(path);
    expect([400, 403, 404]).toContain(answer.status);
    expect(answer.body).not.toContain(SECRET);
  });

  test('serves only the files there at start, never a dotfile', async () => {
    const dotfile = await raw('/.env');
    expect(dotfile.status).toBe(404);
    expect(dotfile.body).not.toContain(SECRET);
    writeFileSync(join(rendererDir, 'assets', 'late.js'), 'console.log("late")');
    expect((await raw('/assets/late.js')).status).toBe(404);
  });

  test('the traversal cases are real: a naive join would reach the secret', () => {
    // Keeps the cases above honest: if the fixture moved, they would pass for the wrong reason.
    const naive = (path: string): string => join(rendererDir, decodeURIComponent(path));
    expect(existsSync(naive('/..%2fsecret.txt'))).toBe(true);
    expect(existsSync(naive('/%2e%2e/secret.txt'))).toBe(true);
    expect(existsSync(naive('/..%2frenderer-private%2fsecret.txt'))).toBe(true);
  });

  test('never serves an absolute path, plain or encoded', async () => {
    const secret = join(base, 'secret.txt');
    for (const path of [
      `/${secret}`,
      `/${encodeURIComponent(secret)}`,
      `//${secret.slice(1)}`,
      `http://127.0.0.1:${server.port}${secret}`,
      `/${secret.replaceAll('/', '\\')}`,
    ]) {
      const answer = await raw(path);
      expect([400, 403, 404], path).toContain(answer.status);
      expect(answer.body, path).not.toContain(SECRET);
    }
  });

  test('a malformed address gets a 400 and the server keeps answering', async () => {
    for (const path of ['/%', '/%E0%A4%A', '/%zz', '/assets/%C0']) {
      const answer = await raw(path);
      expect(answer.status, path).toBe(400);
      expect([answer.headers['content-type'], answer.body]).toEqual(['text/plain; charset=utf-8', 'Bad request']);
      expect(answer.headers['x-content-type-options']).toBe('nosniff');
      expect((await raw('/')).status, `after ${path}`).toBe(200);
    }
    expect((await raw(`http://127.0.0.1:${server.port}/`)).status).toBe(400);
    expect(await rawTcp('GET http://[ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
    expect(
      await rawTcp(
        'GET http://[/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      ),
    ).toMatch(/^HTTP\/1\.1 404/);
    expect((await raw('/')).status).toBe(200);
    const ws = await connect(`?token=${token}`);
    expect(await call(ws, 1, 'app.info', {})).toMatchObject({ ok: true });
    ws.close();
  });

  test('the socket refuses a missing or wrong token, and other sites; accepts localhost', async () => {
    await expect(connect('')).rejects.toThrow('HTTP 401');
    await expect(connect('?token=wrong')).rejects.toThrow('HTTP 401');
    await expect(connect(`?token=${token}`, { Origin: 'https://evil.example' })).rejects.toThrow('HTTP 403');
    await expect(connect(`?token=${token}`, { Origin: `http://localhost:${server.port + 1}` })).rejects.toThrow('HTTP 403');
    const ws = await connect(`?token=${token}`, { Origin: `http://localhost:${server.port}` });
    expect(await call(ws, 1, 'app.info', {})).toMatchObject({ ok: true });
    ws.close();
  });

  test('the socket refuses with a plain status line and logs why; only /ws in origin form', async () => {
    expect(await statusLine(upgrade('/elsewhere'))).toBe('HTTP/1.1 404 Not Found');
    expect(await statusLine(upgrade('/ws?token=wrong'))).toBe('HTTP/1.1 401 Unauthorized');
    expect(await statusLine(upgrade(`/ws?token=${token}`, 'Origin: https://evil.example\r\n'))).toBe('HTTP/1.1 403 Forbidden');
    expect(await statusLine(upgrade(`http://127.0.0.1:${server.port}/ws?token=${token}`))).toBe('HTTP/1.1 404 Not Found');
    expect(await statusLine(upgrade(`//127.0.0.1:${server.port}/ws?token=${token}`))).toBe('HTTP/1.1 404 Not Found');
    const log = logLines.join('\n');
    expect(log).toContain('[headless] refused a WebSocket without the right token');
    expect(log).toContain('[headless] refused a WebSocket from origin "https://evil.example"');
  });

  test('a non-browser client (no Origin) with the token connects, even through a forwarded port', async () => {
    const forwarded = upgrade(`/ws?token=${token}`).replace(`Host: 127.0.0.1:${server.port}`, 'Host: localhost:8022');
    expect(await statusLine(forwarded)).toBe('HTTP/1.1 101 Switching Protocols');
  });

  test("is reachable at 127.0.0.1 only, not at the machine's other addresses", async () => {
    const reachable = (host: string): Promise<boolean> =>
      new Promise((resolve) => {
        const socket = connectTcp({ host, port: server.port });
        socket.once('connect', () => (socket.destroy(), resolve(true)));
        socket.once('error', () => resolve(false));
      });
    const others = Object.values(networkInterfaces())
      .flat()
      .map((a) => a?.address)
      .filter((a): a is string => a !== undefined && a !== '127.0.0.1');
    expect(await reachable('127.0.0.1')).toBe(true);
    for (const address of new Set(['::1', ...others])) expect(await reachable(address), address).toBe(false);
  });

  test('the page can ask why it cannot connect: wrong token 401, foreign origin 403', async () => {
    const ask = (headers: Record<string, string>): Promise<number> => raw('/session', { headers }).then((a) => a.status);
    const bearer = { Authorization: `Bearer ${token}` };
    expect(await ask({ ...bearer, Host: `127.0.0.1:${server.port}` })).toBe(204);
    expect(await ask({ ...bearer, Host: `localhost:${server.port}` })).toBe(204);
    expect(await ask({ Authorization: 'Bearer wrong', Host: `127.0.0.1:${server.port}` })).toBe(401);
    expect(await ask({ Authorization: `NotBearer ${token}`, Host: `127.0.0.1:${server.port}` })).toBe(401);
    expect(await ask({ Host: `127.0.0.1:${server.port}` })).toBe(401);
    expect(await ask({ ...bearer, Host: `evil.example:${server.port}` })).toBe(403);
    expect(await ask({ ...bearer, Host: `127.0.0.1:${server.port}`, Origin: 'https://evil.example' })).toBe(403);
  });

  test('commands run through the contract and events reach the page', async () => {
    const ws = await connect(`?token=${token}`);
    expect(await call(ws, 1, 'app.info', {})).toMatchObject({ ok: true, value: { shell: 'headless', name: 'HordeDesk' } });
    expect(await call(ws, 2, 'no.such.command', {})).toMatchObject({ ok: false, error: { code: 'unknown-command' } });
    expect(await call(ws, 3, 'settings.update', { hordeUrl: 'nope' })).toMatchObject({ ok: false, error: { code: 'invalid-request' } });
    ws.send('not json at all');
    const event = new Promise((resolve) =>
      ws.on('message', (data) => {
        const m = JSON.parse(String(data)) as { t: string; name?: string; payload?: unknown };
        if (m.t === 'evt' && m.name === 'settings.changed') resolve(m.payload);
      }),
    );
    expect(await call(ws, 4, 'settings.update', { workerName: 'Desk Dreamer 01' })).toMatchObject({ ok: true });
    expect(await event).toMatchObject({ workerName: 'Desk Dreamer 01' });
    expect(logLines.join('\n')).toContain('[headless] dropped a malformed WebSocket message');
    expect(await call(ws, 5, 'app.state', {})).toMatchObject({
      ok: true,
      value: { worker: 'idle', line: 'Worker "Desk Dreamer 01" is idle' },
    });
    ws.close();
  });
});
