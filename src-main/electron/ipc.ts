import { ipcMain, type WebContents, type WebFrameMain } from 'electron';
import { dispatch } from '../common/dispatch';
import { fail } from '../common/result';
import { IPC_COMMAND_CHANNEL, IPC_EVENT_CHANNEL } from '../common/wire';
import type { HordeDeskApp } from '../node/app';

/**
 * Main side of the IPC transport: only frames showing our own renderer may call, every request
 * is parsed by the contract's schema (inside dispatch), and the answer is always a Result.
 */
export function registerIpc(app: HordeDeskApp, isTrustedFrame: (frame: WebFrameMain | null) => boolean): () => void {
  ipcMain.handle(IPC_COMMAND_CHANNEL, async (event, name: unknown, payload: unknown) => {
    if (!isTrustedFrame(event.senderFrame)) {
      app.log.warn(`refused IPC from an untrusted frame: ${event.senderFrame?.url ?? 'unknown'}`);
      return fail('forbidden', 'This window may not talk to HordeDesk.');
    }
    return dispatch(app.handlers, name, payload, (command, error) => app.log.error(`command ${command} failed`, error));
  });
  return () => ipcMain.removeHandler(IPC_COMMAND_CHANNEL);
}

/** Sends every contract event to a window while it lives. */
export function forwardEvents(app: HordeDeskApp, contents: WebContents): void {
  const unsubscribe = app.events.subscribe((name, payload) => {
    if (!contents.isDestroyed()) contents.send(IPC_EVENT_CHANNEL, name, payload);
  });
  contents.once('destroyed', unsubscribe);
}
