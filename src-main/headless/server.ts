import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { resolve } from 'node:path';
import sirv from 'sirv';
import type { HordeDeskApp } from '../node/app';
import { checkAccess, loopbackOrigins, type AccessRule } from './access';
import { attachWebSocketTransport } from './wsTransport';

export interface HeadlessServer {
  /** The page to open, token included (in the fragment, so it never reaches a server log). */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Where electron-vite puts the built renderer. */
export const RENDERER_DIR = resolve(import.meta.dirname, '../../out/renderer');

/** Where the page asks whether its address (token and origin) is still good; see bridge.ts. */
export const SESSION_PATH = '/session';

/**
 * The path part of an origin-form request target, or null when it is not one or does not
 * percent-decode (`/%`, `/%E0%A4%A`): such a request gets a 400, never an exception.
 */
function requestPath(target: string | undefined): string | null {
  if (target === undefined || !target.startsWith('/')) return null;
  const path = target.split(/[?#]/, 1)[0] ?? '';
  try {
    decodeURIComponent(path);
  } catch {
    return null;
  }
  return path;
}

/**
 * Serves the built renderer and the contract over WebSocket, on 127.0.0.1 only. The random
 * token printed at start is the only key to the socket.
 *
 * Files come from `sirv` in its production mode: it lists the folder once at start and serves
 * only those files, looked up by exact path, so no request path (`..`, `%2e%2e`, `%2f`, `\`,
 * absolute) can name a file outside it. A renderer rebuilt while the app runs needs a restart.
 */
export async function startHeadlessServer(
  app: HordeDeskApp,
  options: { port?: number; rendererDir?: string; token?: string } = {},
): Promise<HeadlessServer> {
  const rendererDir = options.rendererDir ?? RENDERER_DIR;
  if (!existsSync(resolve(rendererDir, 'index.html'))) {
    throw new Error(`The user interface is not built (no ${rendererDir}/index.html). Run \`npm run build\` first.`);
  }
  const log = app.log.child('headless');
  const token = options.token ?? randomBytes(24).toString('base64url');
  let origins: string[] = [];
  const access: AccessRule = { token, allowedOrigins: () => origins };
  const notFound = (_req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Not found');
  };
  const files = sirv(rendererDir, { dev: false, etag: false, dotfiles: false, onNoMatch: notFound });

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const sockets = origins.map((o) => o.replace('http', 'ws')).join(' ');
    res.setHeader(
      'Content-Security-Policy',
      `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self' ${sockets}; object-src 'none'; base-uri 'none'; frame-ancestors 'none'`,
    );
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cache-Control', 'no-store');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    const path = requestPath(req.url);
    if (path === null) {
      res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Bad request');
      return;
    }
    if (path === SESSION_PATH) {
      // The page cannot read why its WebSocket was refused; this answers it: 204 fine, 401 wrong
      // token (HordeDesk restarted with a new one), 403 a page origin other than ours.
      const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const verdict = checkAccess(req, given, access, true);
      res.writeHead(verdict === 'ok' ? 204 : verdict === 'token' ? 401 : 403).end();
      return;
    }
    // sirv pipes a read stream into the response without an 'error' listener: a file deleted
    // since start-up would otherwise throw out of the event loop.
    res.once('pipe', (source: Readable) =>
      source.once('error', (error) => {
        log.warn(`could not read ${path}`, error);
        res.destroy();
      }),
    );
    files(req, res);
  };

  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (error) {
      log.error(`a request for ${JSON.stringify(req.url)} failed`, error);
      if (res.headersSent) res.destroy();
      else res.writeHead(500).end();
    }
  });
  const transport = attachWebSocketTransport(server, { ...access, handlers: app.handlers, events: app.events, log });
  await new Promise<void>((done, failed) => {
    server.once('error', failed);
    server.listen(options.port ?? 0, '127.0.0.1', done);
  });
  // Once listening, a failed accept (out of file handles) is logged; the server keeps listening.
  server.on('error', (error) => log.error('the HTTP server reported an error', error));
  const port = (server.address() as AddressInfo).port;
  origins = loopbackOrigins(port);
  return {
    url: `http://127.0.0.1:${port}/#token=${token}`,
    port,
    close: () =>
      new Promise<void>((done) => {
        transport.close();
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}
