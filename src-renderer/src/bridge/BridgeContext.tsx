import { createContext, useCallback, useContext, useEffect, useState, useSyncExternalStore } from 'react';
import type { CommandName, CommandRequest, CommandResponse, EventName, EventPayload } from '../../../src-main/common/contract';
import type { Bridge, Connection } from './bridge';

export const BridgeContext = createContext<Bridge | null>(null);

export function useBridge(): Bridge {
  const bridge = useContext(BridgeContext);
  if (!bridge) throw new Error('useBridge outside BridgeContext');
  return bridge;
}

/** The connection to the app, re-rendering on every change (always open inside Electron). */
export function useConnection(): Connection {
  const bridge = useBridge();
  return useSyncExternalStore(bridge.onConnection, bridge.connection);
}

export interface CommandState<T> {
  data: T | undefined;
  error: string | undefined;
  loading: boolean;
  reload: () => void;
  set: (value: T) => void;
}

/**
 * Runs a command on mount, on reload, and again each time the connection comes back (the app
 * may have restarted, and events were missed meanwhile); the last answer wins.
 */
export function useCommand<N extends CommandName>(name: N, request: CommandRequest<N>): CommandState<CommandResponse<N>> {
  const bridge = useBridge();
  const { opens } = useConnection();
  const [data, setData] = useState<CommandResponse<N>>();
  const [error, setError] = useState<string>();
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const key = JSON.stringify(request);
  useEffect(() => {
    let live = true;
    setLoading(true);
    bridge
      .invoke(name, JSON.parse(key) as CommandRequest<N>)
      .then((value) => {
        if (!live) return;
        setData(value);
        setError(undefined);
      })
      .catch((e: unknown) => live && setError(e instanceof Error ? e.message : String(e)))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [bridge, name, key, tick, opens]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload, set: setData };
}

/** Calls `listener` for every event of that name while the component is mounted. */
export function useEvent<E extends EventName>(name: E, listener: (payload: EventPayload<E>) => void): void {
  const bridge = useBridge();
  useEffect(() => bridge.on(name, listener), [bridge, name, listener]);
}
