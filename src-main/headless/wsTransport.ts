import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Handlers } from '../common/contract';
import { dispatch } from '../common/dispatch';
import { clientMessageSchema, type ServerMessage } from '../common/wire';
import type { EventHub } from '../core/events';
import type { Logger } from '../core/log';
import { checkAccess, originFormUrl, type AccessRule } from './access';

export interface WebSocketTransportOptions extends AccessRule {
  handlers: Handlers;
  events: EventHub;
  log: Logger;
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.write(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  socket.destroy();
}

/**
 * The headless twin of the Electron IPC transport: the same contract over a WebSocket at
 * `/ws?token=…`. Each message is parsed, dispatched and answered with a Result; contract events
 * go to every connected page.
 */
export function attachWebSocketTransport(server: Server, options: WebSocketTransportOptions): { close(): void } {
  // Room for the Generate page's source image and mask (base64, at most 40 MB by the contract);
  // only a page holding the token gets this far.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 48 * 1024 * 1024 });
  const { log } = options;

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    // A client that resets the connection mid-handshake must not become an uncaught 'error'.
    socket.on('error', () => socket.destroy());
    const url = originFormUrl(request.url);
    if (url?.pathname !== '/ws') return refuse(socket, 404, 'Not Found');
    const verdict = checkAccess(request, url.searchParams.get('token'), options, false);
    if (verdict === 'token') {
      log.warn('refused a WebSocket without the right token');
      return refuse(socket, 401, 'Unauthorized');
    }
    if (verdict === 'origin') {
      log.warn(`refused a WebSocket from origin ${JSON.stringify(request.headers.origin)}`);
      return refuse(socket, 403, 'Forbidden');
    }
    wss.handleUpgrade(request, socket, head, (ws) => serve(ws));
  });

  function serve(ws: WebSocket): void {
    const send = (message: ServerMessage): void => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
    };
    const unsubscribe = options.events.subscribe((name, payload) => send({ t: 'evt', name, payload }));
    ws.on('close', unsubscribe);
    ws.on('message', (data, isBinary) => {
      void (async () => {
        let parsed: unknown;
        try {
          parsed = isBinary ? undefined : JSON.parse(String(data));
        } catch {
          // Not JSON: `parsed` stays undefined, and the schema below refuses it.
        }
        const message = clientMessageSchema.safeParse(parsed);
        if (!message.success) {
          log.warn('dropped a malformed WebSocket message');
          return;
        }
        const { id, name, payload } = message.data;
        const result = await dispatch(options.handlers, name, payload, (command, error) => log.error(`command ${command} failed`, error));
        send({ t: 'res', id, result });
      })();
    });
  }

  return {
    close() {
      for (const client of wss.clients) client.terminate();
      wss.close();
    },
  };
}
