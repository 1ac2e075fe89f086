import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

beforeAll(async () => {
  const rendererDir = mkdtempSync(join(tmpdir(), 'hordedesk-renderer-'));
  writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>HordeDesk</title>');
  app = testApp();
  server = await startHeadlessServer(app, { rendererDir });
  token = new URL(server.url).hash.replace('#token=', '');
  origin = `http://127.0.0.1:${server.port}`;
});

afterAll(async () => {
  await server.close();
  await app.close();
});

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

  test('serves the renderer with a CSP and refuses paths outside it', async () => {
    const page = await fetch(`${origin}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain(`connect-src 'self' ws://127.0.0.1:${server.port}`);
    const escape = await fetch(`${origin}/..%2f..%2fpackage.json`);
    expect([403, 404]).toContain(escape.status);
    expect(await escape.text()).not.toContain('hordedesk');
  });

  test('the socket refuses a missing or wrong token, and other sites', async () => {
    await expect(connect('')).rejects.toThrow('HTTP 401');
    await expect(connect('?token=wrong')).rejects.toThrow('HTTP 401');
    await expect(connect(`?token=${token}`, { Origin: 'https://evil.example' })).rejects.toThrow('HTTP 403');
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
    expect(await call(ws, 5, 'app.state', {})).toMatchObject({ ok: true, value: { worker: 'idle', line: 'Worker "Desk Dreamer 01" is idle' } });
    ws.close();
  });
});
