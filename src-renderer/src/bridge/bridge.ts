import { contract, type CommandName, type CommandRequest, type CommandResponse, type EventName, type EventPayload } from '../../../src-main/common/contract';
import type { CommandError, Result } from '../../../src-main/common/result';
import { serverMessageSchema, type ClientMessage } from '../../../src-main/common/wire';

/** The preload's API in Electron (src-main/preload/index.ts). */
interface PreloadApi {
  invoke(name: string, payload: unknown): Promise<Result<unknown>>;
  onEvent(listener: (name: string, payload: unknown) => void): () => void;
}

/** A failed command, as the UI sees it. */
export class BridgeError extends Error {
  readonly code: string;
  readonly fields: Record<string, string>;
  constructor(error: CommandError) {
    super(error.message);
    this.code = error.code;
    this.fields = error.fields ?? {};
  }
}

export type ConnectionState = 'connecting' | 'open' | 'closed';

/** The renderer's only way to reach the main side: the same API over IPC or WebSocket. */
export interface Bridge {
  readonly transport: 'ipc' | 'websocket';
  invoke<N extends CommandName>(name: N, request: CommandRequest<N>): Promise<CommandResponse<N>>;
  on<E extends EventName>(name: E, listener: (payload: EventPayload<E>) => void): () => void;
  onConnection(listener: (state: ConnectionState) => void): () => void;
}

type RawListener = (name: string, payload: unknown) => void;

function makeBridge(transport: Bridge['transport'], send: (name: string, payload: unknown) => Promise<Result<unknown>>, subscribe: (l: RawListener) => () => void, connection: (l: (s: ConnectionState) => void) => () => void): Bridge {
  return {
    transport,
    async invoke(name, request) {
      const result = await send(name, request);
      if (!result.ok) throw new BridgeError(result.error);
      return result.value as CommandResponse<typeof name>;
    },
    on(name, listener) {
      return subscribe((eventName, payload) => {
        if (eventName !== name) return;
        // Events are checked against the contract here too: a bad payload is dropped, not rendered.
        const parsed = contract.events[name].safeParse(payload);
        if (parsed.success) listener(parsed.data as EventPayload<typeof name>);
      });
    },
    onConnection: connection,
  };
}

function websocketBridge(token: string): Bridge {
  const listeners = new Set<RawListener>();
  const connectionListeners = new Set<(s: ConnectionState) => void>();
  const pending = new Map<number, (r: Result<unknown>) => void>();
  let nextId = 1;
  let socket: WebSocket | null = null;
  let opened: Promise<WebSocket> | null = null;
  let retryMs = 500;

  const announce = (s: ConnectionState): void => connectionListeners.forEach((l) => l(s));

  function connect(): Promise<WebSocket> {
    if (opened) return opened;
    announce('connecting');
    opened = new Promise((resolve) => {
      const ws = new WebSocket(`ws://${location.host}/ws?token=${encodeURIComponent(token)}`);
      ws.onopen = () => {
        socket = ws;
        retryMs = 500;
        announce('open');
        resolve(ws);
      };
      ws.onmessage = (event) => {
        let data: unknown;
        try {
          data = JSON.parse(String(event.data));
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
      };
      ws.onclose = () => {
        socket = null;
        opened = null;
        announce('closed');
        for (const [id, reply] of pending) {
          reply({ ok: false, error: { code: 'disconnected', message: 'Lost the connection to HordeDesk. Reconnecting…' } });
          pending.delete(id);
        }
        // The headless app may have restarted: keep trying, slower each time.
        setTimeout(() => void connect(), retryMs);
        retryMs = Math.min(retryMs * 2, 10_000);
      };
    });
    return opened;
  }

  void connect();
  return makeBridge(
    'websocket',
    async (name, payload) => {
      const ws = socket ?? (await connect());
      const id = nextId++;
      const message: ClientMessage = { t: 'cmd', id, name, payload };
      return new Promise((resolve) => {
        pending.set(id, resolve);
        ws.send(JSON.stringify(message));
      });
    },
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    (l) => {
      connectionListeners.add(l);
      l(socket ? 'open' : 'connecting');
      return () => connectionListeners.delete(l);
    },
  );
}

/** Picks the transport: the preload's API inside Electron, else the headless WebSocket. */
export function createBridge(): Bridge {
  const preload = (window as unknown as { hordedesk?: PreloadApi }).hordedesk;
  if (preload) {
    return makeBridge('ipc', (n, p) => preload.invoke(n, p), (l) => preload.onEvent(l), (l) => {
      l('open');
      return () => undefined;
    });
  }
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  if (!token) throw new Error('This page needs the address HordeDesk printed when it started (it carries an access token).');
  return websocketBridge(token);
}
