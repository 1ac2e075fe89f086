import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { UserFacingError } from '../../common/result';
import type { CatalogDownload } from '../../core/models/catalog';
import type { Logger } from '../../core/log';
import type { UpscalerStore } from '../postprocess/upscalerStore';
import { ConvertCancelledError, convertInWorker, type ConvertCeilings } from './convertHost';
import { downloadFile, type DownloadProgress } from './modelDownloads';
import { failedInstall, installEndMessage, type InstallProgress } from './modelInstaller';
import { folderNameOf } from './modelStore';

/**
 * The most an upscaler file may weigh: the horde's ESRGAN files are about 17-67 MB (RRDBNet 6 or 23 blocks);
 * the reference gives no sizes, so this generous cap stands in for the size check.
 */
export const MAX_UPSCALER_BYTES = 512 * 1024 * 1024;

/** What one upscaler install needs: its name, its file, and the user's "Install anyway" for a file without sha256. */
export interface UpscalerInstallEntry {
  name: string;
  file: CatalogDownload;
  allowUnverified: boolean;
}

/** What createUpscalerInstaller is built over. */
export interface UpscalerInstallerOptions {
  dataDir: string;
  store: UpscalerStore;
  onProgress: (p: InstallProgress) => void;
  log: Logger;
  /** Time and heap ceilings of the convert worker. */
  convertCeilings?: Partial<ConvertCeilings>;
  /** Per-file size limit (default {@link MAX_UPSCALER_BYTES}). */
  maxBytes?: number;
}

/** The Models page's upscaler installs. */
export interface UpscalerInstaller {
  /** Starts an install in the background; progress arrives through onProgress. */
  start(entry: UpscalerInstallEntry): void;
  /** Runs one install to its end (done, failed or cancelled, told through onProgress). */
  install(entry: UpscalerInstallEntry): Promise<void>;
  cancel(name: string): boolean;
}

type Report = (p: Partial<InstallProgress> & Pick<InstallProgress, 'phase'>) => void;

/** Download (resumable, sha256-checked or with consent, size-capped), convert in the convert worker, commit with one rename. */
async function runInstall(
  options: UpscalerInstallerOptions,
  entry: UpscalerInstallEntry,
  signal: AbortSignal,
  report: Report,
): Promise<void> {
  const { name, file } = entry;
  const downloads = join(options.dataDir, 'downloads');
  const source = join(downloads, `postprocess-${folderNameOf(name)}-${file.fileName.replace(/[^\w.-]/g, '_')}`);
  const dir = options.store.dirFor(name);
  let phase: 'downloading' | 'converting' = 'downloading';
  try {
    mkdirSync(downloads, { recursive: true });
    const got = await downloadFile({
      url: file.url,
      dest: source,
      sha256: file.sha256,
      allowUnverified: entry.allowUnverified,
      maxBytes: options.maxBytes ?? MAX_UPSCALER_BYTES,
      signal,
      onProgress: (p: DownloadProgress) => report({ phase: 'downloading', ...p }),
    });
    phase = 'converting';
    report({ phase: 'converting', bytes: got.bytes, total: got.bytes, message: 'Converting to ONNX…' });
    // The file is read in the convert worker only (its unpickler is budgeted, its heap and time capped).
    await convertInWorker(
      { checkpoint: source, outDir: dir, dtype: 'fp32', kind: 'upscaler', name },
      {
        tokenizerFor: () => Promise.reject(new Error('an upscaler needs no tokenizer')),
        signal,
        ...(options.convertCeilings ? { ceilings: options.convertCeilings } : {}),
      },
    );
    signal.throwIfAborted();
    rmSync(dir, { recursive: true, force: true });
    renameSync(`${dir}.partial`, dir);
    rmSync(source, { force: true });
    report({ phase: 'done', bytes: got.bytes, total: got.bytes, message: `${name} is installed.` });
    options.log.info(`installed the post-processor ${name} from ${file.url} (sha256 ${got.sha256})`);
  } catch (error) {
    const cancelled = signal.aborted || error instanceof ConvertCancelledError;
    rmSync(`${dir}.partial`, { recursive: true, force: true });
    if (!cancelled) options.log.error(`installing ${name} failed`, error);
    const message = installEndMessage(error, cancelled, phase);
    report({ phase: cancelled ? 'cancelled' : 'failed', message });
  }
}

/** Installs the horde's upscalers into the upscaler store, one install per name at a time. */
export function createUpscalerInstaller(options: UpscalerInstallerOptions): UpscalerInstaller {
  const running = new Map<string, AbortController>();
  const install = async (entry: UpscalerInstallEntry): Promise<void> => {
    if (running.has(entry.name)) throw new UserFacingError('busy', `${entry.name} is already being installed.`);
    const controller = new AbortController();
    running.set(entry.name, controller);
    const report: Report = (p) =>
      options.onProgress({ name: entry.name, bytes: 0, total: null, bytesPerSecond: 0, etaSeconds: null, message: null, ...p });
    try {
      await runInstall(options, entry, controller.signal, report);
    } finally {
      running.delete(entry.name);
    }
  };
  return {
    start(entry) {
      void install(entry).catch((error: unknown) => options.onProgress(failedInstall(entry.name, error)));
    },
    install,
    cancel(name) {
      const controller = running.get(name);
      controller?.abort();
      return controller !== undefined;
    },
  };
}
