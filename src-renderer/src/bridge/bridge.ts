import {
  contract,
  type CommandName,
  type CommandRequest,
  type CommandResponse,
  type EventName,
  type EventPayload,
} from '../../../src-main/common/contract';
import type { CommandError, Result } from '../../../src-main/common/result';
import { openSocketChannel, probeSession, type Connection, type SocketChannel } from './socketBridge';

export type { Connection, ConnectionState } from './socketBridge';
export { NOT_CONNECTED_MESSAGE } from './socketBridge';

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

/** The renderer's only way to reach the main side: the same API over IPC or WebSocket. */
export interface Bridge {
  readonly transport: 'ipc' | 'websocket';
  invoke<N extends CommandName>(name: N, request: CommandRequest<N>): Promise<CommandResponse<N>>;
  on<E extends EventName>(name: E, listener: (payload: EventPayload<E>) => void): () => void;
  /** The connection now (the same object until it changes: fit for `useSyncExternalStore`). */
  connection(): Connection;
  /** Calls `listener` whenever `connection()` changes. */
  onConnection(listener: () => void): () => void;
}

type Channel = Pick<SocketChannel, 'send' | 'subscribe' | 'connection' | 'onConnection'>;

/** Wraps a channel into the typed API; exported for tests that drive the bridge outside a browser. */
export function makeBridge(transport: Bridge['transport'], channel: Channel): Bridge {
  return {
    transport,
    async invoke(name, request) {
      const result = await channel.send(name, request);
      if (!result.ok) throw new BridgeError(result.error);
      return result.value as CommandResponse<typeof name>;
    },
    on(name, listener) {
      return channel.subscribe((eventName, payload) => {
        if (eventName !== name) return;
        // Events are checked against the contract here too: a bad payload is dropped, not rendered.
        const parsed = contract.events[name].safeParse(payload);
        if (parsed.success) listener(parsed.data as EventPayload<typeof name>);
      });
    },
    connection: channel.connection,
    onConnection: channel.onConnection,
  };
}

/** Electron's IPC cannot drop while the window lives: always open. */
const IPC_CONNECTION: Connection = { state: 'open', opens: 1 };

/** Picks the transport: the preload's API inside Electron, else the headless WebSocket. */
export function createBridge(): Bridge {
  const preload = (window as unknown as { hordedesk?: PreloadApi }).hordedesk;
  if (preload) {
    return makeBridge('ipc', {
      send: (n, p) => preload.invoke(n, p),
      subscribe: (l) => preload.onEvent(l),
      connection: () => IPC_CONNECTION,
      onConnection: () => () => undefined,
    });
  }
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  if (!token) throw new Error('This page needs the address HordeDesk printed when it started (it carries an access token).');
  return makeBridge(
    'websocket',
    openSocketChannel({
      url: `ws://${location.host}/ws?token=${encodeURIComponent(token)}`,
      openSocket: (url) => new WebSocket(url),
      probe: () => probeSession(location.origin, token),
    }),
  );
}
