import { app, Notification, safeStorage, type BrowserWindow } from 'electron';
import ElectronStore from 'electron-store';
import { deriveAppState } from '../core/appState';
import { computeTotals } from '../core/kudos/ledger';
import { trayMenuModel } from '../core/trayMenu';
import { createApp, type HordeDeskApp } from '../node/app';
import { createFileSecretStore, type SecretCipher } from '../node/system/fileSecrets';
import { createElectronIdleSource, setAutostart } from './idleSource';
import type { ConfFactory } from '../node/system/settingsStore';
import { forwardEvents, registerIpc } from './ipc';
import { createAppTray } from './tray';
import { createMainWindow, installContentSecurityPolicy, isTrustedFrame } from './window';

// electron-store extends conf, so the same settings port serves both shells.
const electronStoreFactory: ConfFactory = (options) => new ElectronStore<Record<string, unknown>>(options);

let core: HordeDeskApp | null = null;
let window: BrowserWindow | null = null;
let quitting = false;

function showWindow(): void {
  if (!core) return;
  if (!window || window.isDestroyed()) {
    window = createMainWindow();
    forwardEvents(core, window.webContents);
    // Closing the window keeps HordeDesk in the tray; Quit is in the tray menu.
    window.on('close', (event) => {
      if (!quitting) {
        event.preventDefault();
        window?.hide();
      }
    });
  }
  if (window.isMinimized()) window.restore();
  window.show();
  window.focus();
}

async function start(): Promise<void> {
  await app.whenReady();
  installContentSecurityPolicy();
  const dataDir = app.getPath('userData');
  // The API key is encrypted with the OS key store where Electron has one; else a 0600 file.
  const cipher: SecretCipher | null = safeStorage.isEncryptionAvailable()
    ? { encrypt: (plain) => safeStorage.encryptString(plain), decrypt: (data) => safeStorage.decryptString(data) }
    : null;
  core = createApp({
    shell: 'electron',
    dataDir,
    settingsFactory: electronStoreFactory,
    secrets: createFileSecretStore(dataDir, cipher),
    secretCipher: cipher,
    notifier: { show: (note) => Notification.isSupported() && new Notification({ title: note.title, body: note.body }).show() },
    idleSource: createElectronIdleSource(),
  });
  setAutostart(core.settings.get().autostart);
  const running = core;
  registerIpc(running, isTrustedFrame);
  const tray = createAppTray(app.isPackaged, (action) => {
    if (action === 'open') showWindow();
    else if (action === 'quit') app.quit();
    else if (action === 'rate') {
      showWindow();
      running.events.emit('app.navigate', { page: 'rate' });
    } else {
      // The same commands the Dashboard uses, so the scheduler hears of the user's choice.
      const command =
        action === 'start' ? 'worker.start' : action === 'pause' ? 'worker.pause' : action === 'stopNow' ? 'worker.stopNow' : null;
      const run = command ? running.handlers[command]({}) : running.handlers['schedule.snooze']({ minutes: 60 });
      run.catch((error: unknown) => {
        // Starting can be refused (no key, no model): show the window so the reason is visible.
        running.notices.add('warning', error instanceof Error ? error.message : String(error));
        showWindow();
      });
    }
  });
  // app.state arrives with every sampler step; rebuild the native menu only when it changes.
  let shown = '';
  let activity: string | null = null;
  const refreshTray = (): void => {
    const model = trayMenuModel(
      deriveAppState(running.settings.get(), running.worker.status(), running.scheduler.status()),
      computeTotals(running.ledger, new Date()).today,
      activity,
    );
    const key = JSON.stringify(model);
    if (key === shown) return;
    shown = key;
    tray.render(model);
  };
  running.events.subscribe((name, payload) => {
    if (name === 'settings.changed') setAutostart((payload as { autostart: boolean }).autostart);
    if (name === 'models.progress') {
      const p = payload as { name: string; phase: string; bytes: number; total: number | null };
      activity =
        p.phase === 'downloading'
          ? `Downloading ${p.name}${p.total ? ` ${Math.floor((100 * p.bytes) / p.total)}%` : ''}`
          : p.phase === 'converting'
            ? `Converting ${p.name}`
            : null;
      refreshTray();
    }
    if (name === 'app.state' || name === 'kudos.changed') refreshTray();
  });
  refreshTray();
  for (const notice of running.notices.list()) running.log.warn(`startup notice: ${notice.message}`);
  showWindow();
}

if (!app.requestSingleInstanceLock()) {
  // Another HordeDesk is running: it shows its window (second-instance below) and we leave.
  app.quit();
} else {
  app.on('second-instance', showWindow);
  app.on('activate', showWindow);
  app.on('before-quit', () => {
    quitting = true;
  });
  // Keep running in the tray when every window is closed.
  app.on('window-all-closed', () => undefined);
  // Let the core stop its inference worker and close the database before the process ends.
  let closed = false;
  app.on('will-quit', (event) => {
    if (closed || !core) return;
    event.preventDefault();
    void core.close().finally(() => {
      closed = true;
      app.quit();
    });
  });
  start().catch((error: unknown) => {
    console.error('HordeDesk could not start', error);
    app.exit(1);
  });
}
