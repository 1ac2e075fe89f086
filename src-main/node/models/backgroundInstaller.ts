import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { UserFacingError } from '../../common/result';
import type { Logger } from '../../core/log';
// The model file's modules, not the background index (which re-exports the onnxruntime runner).
import { STRIP_BACKGROUND, U2NET_MODEL } from '../../inference/postprocess/background/facts';
import { installBackgroundModel, type BackgroundModelSpec } from '../../inference/postprocess/background/modelFile';
import { downloadFile, type DownloadProgress } from './modelDownloads';
import { installEndMessage, type InstallProgress } from './modelInstaller';

/** What the background-removal install is built over. */
export interface BackgroundInstallerOptions {
  dataDir: string;
  /** The folder the model is installed into (node/postprocess/backgroundEngine.ts's `dir`). */
  dir: string;
  onProgress: (p: InstallProgress) => void;
  log: Logger;
  /** The file to fetch (default: rembg's published u2net.onnx); tests serve their tiny model. */
  model?: BackgroundModelSpec & { url: string };
}

/** The Models page's strip_background install. */
export interface BackgroundInstaller {
  start(): void;
  /** Runs the install to its end (done, failed or cancelled, told through onProgress). */
  install(): Promise<void>;
  cancel(): boolean;
}

/**
 * Downloads rembg's u2net.onnx (resumable, its sha256 checked as it arrives, the size capped at the published
 * size), checks it again as a model (size, sha256, md5, input), moves it into `<dir>.partial` with its manifest,
 * then commits with one rename. No conversion: the published ONNX runs as is, as in rembg.
 */
export function createBackgroundInstaller(options: BackgroundInstallerOptions): BackgroundInstaller {
  const model = options.model ?? U2NET_MODEL;
  let running: AbortController | null = null;
  const report = (p: Partial<InstallProgress> & Pick<InstallProgress, 'phase'>): void =>
    options.onProgress({ name: STRIP_BACKGROUND, bytes: 0, total: null, bytesPerSecond: 0, etaSeconds: null, message: null, ...p });
  const run = async (signal: AbortSignal): Promise<void> => {
    const downloads = join(options.dataDir, 'downloads');
    const source = join(downloads, `postprocess-${STRIP_BACKGROUND}-${model.fileName}`);
    const partial = `${options.dir}.partial`;
    let phase: 'downloading' | 'converting' = 'downloading';
    try {
      mkdirSync(downloads, { recursive: true });
      const got = await downloadFile({
        url: model.url,
        dest: source,
        sha256: model.sha256,
        expectedBytes: model.bytes,
        maxBytes: model.bytes,
        signal,
        onProgress: (p: DownloadProgress) => report({ phase: 'downloading', ...p }),
      });
      phase = 'converting';
      report({ phase: 'converting', bytes: got.bytes, total: got.bytes, message: 'Checking the model…' });
      rmSync(partial, { recursive: true, force: true });
      await installBackgroundModel(source, partial, { spec: model, move: true });
      signal.throwIfAborted();
      rmSync(options.dir, { recursive: true, force: true });
      renameSync(partial, options.dir);
      report({ phase: 'done', bytes: got.bytes, total: got.bytes, message: `${STRIP_BACKGROUND} is installed.` });
      options.log.info(`installed ${STRIP_BACKGROUND} from ${model.url} (sha256 ${got.sha256})`);
    } catch (error) {
      const cancelled = signal.aborted;
      rmSync(partial, { recursive: true, force: true });
      if (!cancelled) options.log.error(`installing ${STRIP_BACKGROUND} failed`, error);
      const message = installEndMessage(error, cancelled, phase);
      report({ phase: cancelled ? 'cancelled' : 'failed', message });
    }
  };
  const install = async (): Promise<void> => {
    if (running) throw new UserFacingError('busy', `${STRIP_BACKGROUND} is already being installed.`);
    const controller = new AbortController();
    running = controller;
    try {
      await run(controller.signal);
    } finally {
      running = null;
    }
  };
  return {
    start() {
      void install().catch((error: unknown) =>
        report({ phase: 'failed', message: error instanceof Error ? error.message : String(error) }),
      );
    },
    install,
    cancel() {
      const controller = running;
      controller?.abort();
      return controller !== null;
    },
  };
}
