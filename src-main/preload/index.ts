import { contextBridge, ipcRenderer } from 'electron';
import { isCommandName, isEventName } from '../common/contract';
import { IPC_COMMAND_CHANNEL, IPC_EVENT_CHANNEL } from '../common/wire';

/**
 * The renderer's whole view of the main process: one function per direction of the contract,
 * refusing names the contract does not have. No Node, no ipcRenderer, nothing else.
 */
const api = {
  invoke(name: string, payload: unknown): Promise<unknown> {
    if (!isCommandName(name)) return Promise.resolve({ ok: false, error: { code: 'unknown-command', message: `No command ${name}` } });
    return ipcRenderer.invoke(IPC_COMMAND_CHANNEL, name, payload);
  },
  onEvent(listener: (name: string, payload: unknown) => void): () => void {
    const wrapped = (_event: Electron.IpcRendererEvent, name: unknown, payload: unknown): void => {
      if (isEventName(name)) listener(name, payload);
    };
    ipcRenderer.on(IPC_EVENT_CHANNEL, wrapped);
    return () => ipcRenderer.removeListener(IPC_EVENT_CHANNEL, wrapped);
  },
};

contextBridge.exposeInMainWorld('hordedesk', api);
