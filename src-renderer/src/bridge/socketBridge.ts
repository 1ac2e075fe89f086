import type { Result } from '../../../src-main/common/result';
import { serverMessageSchema, type ClientMessage } from '../../../src-main/common/wire';

/**
 * Where the connection to the app stands.
 * - `connecting`: the first attempt, nothing known yet.
 * - `open`: commands go through.
 * - `lost`: no connection (the app stopped, or the first attempt failed); retrying with backoff.
 * - `refused`: the app answers but not to this address (a token from an earlier start, or a page
 *   origin it does not serve); retrying cannot help, so it stops.
 */
export type ConnectionState = 'connecting' | 'open' | 'lost' | 'refused';

/** A snapshot of the connection; a new object whenever something in it changes. */
export interface Connection {
  state: ConnectionState;
  /** How many times the connection has opened; pages reload their data when it grows. */
  opens: number;
  /** Why the app refused this address (only with `refused`). */
  refusal?: 'token' | 'origin';
}

/** What the app says about this address when its socket would not open. */
export type ProbeAnswer = 'ok' | 'token' | 'origin' | 'unreachable';

/** The world the socket bridge uses, passed in so it runs the same in a browser and in a Node test. */
export interface SocketBridgeDeps {
  /** `ws://host/ws?token=…` */
  url: string;
  openSocket: (url: string) => WebSocket;
  /** Asks the app why the socket did not open (see `probeSession`). */
  probe: () => Promise<ProbeAnswer>;
  /** First retry delay, doubled each failure up to `maxRetryMs`. */
  retryMs?: number;
  maxRetryMs?: number;
}

/** The sentence every command gets while there is no connection: nothing was sent. */
export const NOT_CONNECTED_MESSAGE = 'Not connected to HordeDesk — reconnecting… Nothing was sent; try again once it is back.';

/** The transport half of the WebSocket bridge: commands, events and the connection's state. */
export interface SocketChannel {
  send(name: string, payload: unknown): Promise<Result<unknown>>;
  subscribe(listener: (name: string, payload: unknown) => void): () => void;
  connection(): Connection;
  onConnection(listener: () => void): () => void;
}

/**
 * Hands one frame from the app to whoever waits for it: an answer to the command with its id, an
 * event to every listener. A frame that is not JSON or not a server message is dropped.
 */
function deliver(
  text: string,
  pending: Map<number, (r: Result<unknown>) => void>,
  listeners: Set<(name: string, payload: unknown) => void>,
): void {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return;
  }
  const message = serverMessageSchema.safeParse(data);
  if (!message.success) return;
  if (message.data.t === 'res') {
    pending.get(message.data.id)?.(message.data.result as Result<unknown>);
    pending.delete(message.data.id);
  } else {
    const { name, payload } = message.data;
    listeners.forEach((l) => l(name, payload));
  }
}

/**
 * Opens the socket and keeps it open: on a close it asks the app why (a page cannot read the
 * HTTP status of a refused WebSocket), gives up only when the app refuses this address, and
 * otherwise retries with backoff (same token). While not open, every command fails at once with
 * `disconnected` instead of waiting: a rating key pressed now must not be sent minutes later,
 * against whatever image is on screen then, or silently never.
 */
export function openSocketChannel(deps: SocketBridgeDeps): SocketChannel {
  const firstRetry = deps.retryMs ?? 250;
  const maxRetry = deps.maxRetryMs ?? 4000;
  const listeners = new Set<(name: string, payload: unknown) => void>();
  const watchers = new Set<() => void>();
  const pending = new Map<number, (r: Result<unknown>) => void>();
  let nextId = 1;
  let socket: WebSocket | null = null;
  let retryMs = firstRetry;
  let current: Connection = { state: 'connecting', opens: 0 };

  const set = (next: Partial<Connection>): void => {
    current = { ...current, ...next };
    watchers.forEach((w) => w());
  };

  const failPending = (): void => {
    for (const [id, reply] of pending) {
      reply({ ok: false, error: { code: 'disconnected', message: NOT_CONNECTED_MESSAGE } });
      pending.delete(id);
    }
  };

  const afterClose = async (): Promise<void> => {
    const answer = await deps.probe();
    if (answer === 'token' || answer === 'origin') {
      set({ state: 'refused', refusal: answer });
      return;
    }
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, maxRetry);
  };

  function connect(): void {
    const ws = deps.openSocket(deps.url);
    ws.onopen = () => {
      socket = ws;
      retryMs = firstRetry;
      set({ state: 'open', opens: current.opens + 1 });
    };
    ws.onmessage = (event: MessageEvent) => deliver(String(event.data), pending, listeners);
    ws.onclose = () => {
      socket = null;
      failPending();
      if (current.state !== 'lost') set({ state: 'lost' });
      void afterClose();
    };
  }

  connect();
  return {
    send(name, payload) {
      if (socket === null || current.state !== 'open')
        return Promise.resolve({ ok: false, error: { code: 'disconnected', message: NOT_CONNECTED_MESSAGE } });
      const id = nextId++;
      const message: ClientMessage = { t: 'cmd', id, name, payload };
      const ws = socket;
      return new Promise((resolve) => {
        pending.set(id, resolve);
        ws.send(JSON.stringify(message));
      });
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    connection: () => current,
    onConnection(watcher) {
      watchers.add(watcher);
      return () => watchers.delete(watcher);
    },
  };
}

/**
 * Asks the headless server whether `token` is still good from this page's origin (`GET /session`,
 * see src-main/headless/server.ts): 204 yes, 401 a token from an earlier start, 403 an origin
 * it does not serve; no answer at all means the app is not running.
 */
export async function probeSession(base: string, token: string, fetchImpl: typeof fetch = fetch): Promise<ProbeAnswer> {
  try {
    const res = await fetchImpl(`${base}/session`, { headers: { Authorization: `Bearer ${token}` }, cache: 'no-store' });
    return res.status === 204 ? 'ok' : res.status === 401 ? 'token' : res.status === 403 ? 'origin' : 'unreachable';
  } catch {
    return 'unreachable';
  }
}
