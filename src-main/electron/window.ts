import { BrowserWindow, session, shell, type WebFrameMain } from 'electron';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const OUT = join(import.meta.dirname, '..');
const RENDERER_FILE = join(OUT, 'renderer', 'index.html');
// Set by `electron-vite dev`; otherwise the built files are loaded.
const DEV_URL = process.env.ELECTRON_RENDERER_URL;

const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/** True for the main frame of our own renderer, the only caller IPC accepts. */
export function isTrustedFrame(frame: WebFrameMain | null): boolean {
  if (!frame || frame.parent !== null) return false;
  const url = frame.url;
  if (DEV_URL) return url.startsWith(DEV_URL);
  return url.split('#')[0] === pathToFileURL(RENDERER_FILE).href;
}

/** Adds the CSP header to everything the session loads (the page also carries it as a meta tag). */
export function installContentSecurityPolicy(): void {
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } });
  });
}

/** The main window: sandboxed, isolated, no Node, no navigation away from the app. */
export function createMainWindow(): BrowserWindow {
  const window = new BrowserWindow({
    width: 1100,
    height: 760,
    minWidth: 720,
    minHeight: 520,
    show: false,
    title: 'HordeDesk',
    autoHideMenuBar: true,
    webPreferences: {
      preload: join(OUT, 'preload', 'index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    },
  });
  window.once('ready-to-show', () => window.show());
  window.webContents.setWindowOpenHandler(({ url }) => {
    if (url.startsWith('https://')) void shell.openExternal(url);
    return { action: 'deny' };
  });
  window.webContents.on('will-navigate', (event) => event.preventDefault());
  if (DEV_URL) void window.loadURL(DEV_URL);
  else void window.loadFile(RENDERER_FILE);
  return window;
}
