import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { startHeadlessServer, type HeadlessServer } from '../../src-main/headless/server';
import type { HordeDeskApp } from '../../src-main/node/app';
import { BridgeError, makeBridge, type Bridge, type ConnectionState } from '../../src-renderer/src/bridge/bridge';
import { NOT_CONNECTED_MESSAGE, openSocketChannel, probeSession } from '../../src-renderer/src/bridge/socketBridge';
import { testApp } from '../helpers/app';

// The renderer's WebSocket bridge, run in Node (its global WebSocket and fetch) against the real
// headless server: the server goes away, comes back on the same port and token, or comes back
// with another token.

const TOKEN = 'T'.repeat(32);
const rendererDir = mkdtempSync(join(tmpdir(), 'hordedesk-bridge-'));
mkdirSync(rendererDir, { recursive: true });
writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>HordeDesk</title>');

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

async function serve(app: HordeDeskApp, port: number, token: string): Promise<HeadlessServer> {
  const server = await startHeadlessServer(app, { rendererDir, port, token });
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await server.close();
  };
  cleanup.push(close);
  return { ...server, close };
}

function bridgeTo(port: number, token: string): Bridge {
  return makeBridge(
    'websocket',
    openSocketChannel({
      url: `ws://127.0.0.1:${port}/ws?token=${token}`,
      openSocket: (url) => new WebSocket(url),
      probe: () => probeSession(`http://127.0.0.1:${port}`, token),
      retryMs: 20,
      maxRetryMs: 200,
    }),
  );
}

function reaches(bridge: Bridge, state: ConnectionState): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (bridge.connection().state !== state) return;
      stop();
      resolve();
    };
    const stop = bridge.onConnection(check);
    check();
  });
}

test('a lost connection refuses commands at once, then reconnects by itself to the same port and token', async () => {
  const app = testApp();
  cleanup.push(() => app.close());
  const first = await serve(app, 0, TOKEN);
  const bridge = bridgeTo(first.port, TOKEN);
  await reaches(bridge, 'open');
  expect(await bridge.invoke('app.info', {})).toMatchObject({ shell: 'headless' });
  expect(bridge.connection().opens).toBe(1);

  await first.close();
  await reaches(bridge, 'lost');
  // Nothing waits for the connection: a command made now fails now and is never sent later.
  const refused = await bridge.invoke('settings.update', { workerName: 'Sent While Away' }).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(BridgeError);
  expect(refused).toMatchObject({ code: 'disconnected', message: NOT_CONNECTED_MESSAGE });

  await serve(app, first.port, TOKEN);
  await reaches(bridge, 'open');
  expect(bridge.connection().opens).toBe(2);
  expect((await bridge.invoke('settings.get', {})).workerName).not.toBe('Sent While Away');
  expect(await bridge.invoke('settings.update', { workerName: 'Sent When Back' })).toMatchObject({ workerName: 'Sent When Back' });
});

test('an app restarted with a new token turns the page into "address not valid", and it stops retrying', async () => {
  const app = testApp();
  cleanup.push(() => app.close());
  const first = await serve(app, 0, TOKEN);
  const bridge = bridgeTo(first.port, TOKEN);
  await reaches(bridge, 'open');
  await first.close();
  await serve(app, first.port, 'N'.repeat(32));
  await reaches(bridge, 'refused');
  expect(bridge.connection()).toMatchObject({ state: 'refused', refusal: 'token' });
  await expect(bridge.invoke('app.info', {})).rejects.toMatchObject({ code: 'disconnected' });
});

test('a wrong token is refused from the start, never "connecting" for ever', async () => {
  const app = testApp();
  cleanup.push(() => app.close());
  const server = await serve(app, 0, TOKEN);
  const bridge = bridgeTo(server.port, 'W'.repeat(32));
  await reaches(bridge, 'refused');
  expect(bridge.connection()).toMatchObject({ state: 'refused', refusal: 'token', opens: 0 });
});
