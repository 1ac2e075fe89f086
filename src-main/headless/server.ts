import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { HordeDeskApp } from '../node/app';
import { serveStatic } from './staticFiles';
import { attachWebSocketTransport } from './wsTransport';

export interface HeadlessServer {
  /** The page to open, token included (in the fragment, so it never reaches a server log). */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Where electron-vite puts the built renderer. */
export const RENDERER_DIR = resolve(import.meta.dirname, '../../out/renderer');

/**
 * Serves the built renderer and the contract over WebSocket, on 127.0.0.1 only. The random
 * token printed at start is the only key to the socket.
 */
export async function startHeadlessServer(app: HordeDeskApp, options: { port?: number; rendererDir?: string; token?: string } = {}): Promise<HeadlessServer> {
  const rendererDir = options.rendererDir ?? RENDERER_DIR;
  if (!existsSync(resolve(rendererDir, 'index.html'))) {
    throw new Error(`The user interface is not built (no ${rendererDir}/index.html). Run \`npm run build\` first.`);
  }
  const token = options.token ?? randomBytes(24).toString('base64url');
  let origin = '';
  const server = createServer((req, res) => {
    const headers = {
      'Content-Security-Policy': `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self' ${origin.replace('http', 'ws')}; object-src 'none'; base-uri 'none'; frame-ancestors 'none'`,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store',
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, headers).end();
      return;
    }
    const { pathname } = new URL(req.url ?? '/', 'http://127.0.0.1');
    void serveStatic(rendererDir, pathname, res, headers);
  });
  const transport = attachWebSocketTransport(server, { token, allowedOrigin: () => origin, handlers: app.handlers, events: app.events, log: app.log.child('headless') });
  await new Promise<void>((done, failed) => {
    server.once('error', failed);
    server.listen(options.port ?? 0, '127.0.0.1', done);
  });
  const port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
  return {
    url: `${origin}/#token=${token}`,
    port,
    close: () =>
      new Promise<void>((done) => {
        transport.close();
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}
