import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import type { CatalogEntry } from '../core/models/catalog';
import { UserFacingError } from '../common/result';
import type { Logger } from '../core/log';
import { CONVERTER_VERSION, configForCheckpoint, openCheckpoint, type ConvertOptions } from '../inference/convert/convert';
import { SD15_CONFIG } from '../inference/graph';
import { tinyTokenizerFiles } from '../inference/tokenizer';
import { downloadFile, type DownloadProgress } from './modelDownloads';
import { createModelStore, folderNameOf } from './modelStore';

/** The converter's worker entry: the built file next to the bundle, or the TypeScript source in dev and tests. */
function convertWorkerUrl(): URL {
  return import.meta.url.endsWith('.ts') ? new URL('../workers/convert.worker.ts', import.meta.url) : new URL('./convert.worker.js', import.meta.url);
}

/** Runs convertCheckpoint in a worker thread; rejects with its error message. */
function convertInWorker(checkpoint: string, outDir: string, options: Omit<ConvertOptions, 'onProgress'>, onProgress: (done: number, total: number) => void): Promise<void> {
  const url = convertWorkerUrl();
  const execArgv = url.pathname.endsWith('.ts') ? [...process.execArgv, '--import', 'tsx'] : process.execArgv;
  return new Promise((resolve, reject) => {
    const worker = new Worker(url, { workerData: { checkpoint, outDir, options }, execArgv });
    worker.on('message', (m: { type: string; done?: number; total?: number; message?: string }) => {
      if (m.type === 'progress') onProgress(m.done ?? 0, m.total ?? 0);
      else if (m.type === 'done') resolve();
      else if (m.type === 'error') reject(new Error(m.message));
    });
    worker.on('error', reject);
    worker.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`the converter stopped (exit code ${code})`))));
  });
}

export interface InstallProgress {
  name: string;
  phase: 'downloading' | 'converting' | 'done' | 'failed' | 'cancelled';
  bytes: number;
  total: number | null;
  bytesPerSecond: number;
  etaSeconds: number | null;
  message: string | null;
}

/**
 * Installs a model from the catalog: downloads its checkpoint (resumable, sha256-checked, disk
 * space checked first), converts it to ONNX with HordeDesk's own converter, writes the manifest,
 * then deletes the checkpoint. Cancelling keeps the partial download for a later resume.
 */
export function createModelInstaller(options: {
  dataDir: string;
  modelsDir: string;
  clipTokenizerUrl: () => string;
  clientAgent: string;
  /** fp16 weights for GPU providers; fp32 for the CPU, which would widen fp16 to fp32 copies anyway. */
  weightDtype: () => Promise<'fp16' | 'fp32'>;
  onProgress: (p: InstallProgress) => void;
  log: Logger;
}) {
  const downloads = join(options.dataDir, 'downloads');
  const store = createModelStore(options.modelsDir);
  const running = new Map<string, AbortController>();

  /** SD 1.x's CLIP tokenizer files, downloaded once and kept (checkpoints do not carry them). */
  async function clipTokenizer(): Promise<{ vocabJson: string; mergesTxt: string }> {
    const dir = join(options.dataDir, 'tokenizers', 'clip-vit-large-patch14');
    mkdirSync(dir, { recursive: true });
    for (const file of ['vocab.json', 'merges.txt']) {
      if (!existsSync(join(dir, file))) await downloadFile({ url: `${options.clipTokenizerUrl()}/${file}`, dest: join(dir, file), sha256: null });
    }
    return { vocabJson: readFileSync(join(dir, 'vocab.json'), 'utf8'), mergesTxt: readFileSync(join(dir, 'merges.txt'), 'utf8') };
  }

  async function install(entry: Pick<CatalogEntry, 'name' | 'downloads' | 'sizeBytes'>): Promise<void> {
    const { name } = entry;
    const file = entry.downloads.find((d) => /\.(safetensors|ckpt)$/i.test(d.fileName));
    if (!file) throw new UserFacingError('no-checkpoint', `${name} has no .safetensors or .ckpt file HordeDesk can convert.`);
    if (running.has(name)) throw new UserFacingError('busy', `${name} is already being installed.`);
    const controller = new AbortController();
    running.set(name, controller);
    const report = (p: Partial<InstallProgress> & Pick<InstallProgress, 'phase'>): void => options.onProgress({ name, bytes: 0, total: null, bytesPerSecond: 0, etaSeconds: null, message: null, ...p });
    const checkpoint = join(downloads, `${folderNameOf(name)}-${file.fileName.replace(/[^\w.-]/g, '_')}`);
    try {
      mkdirSync(downloads, { recursive: true });
      const downloaded = await downloadFile({
        url: file.url,
        dest: checkpoint,
        sha256: file.sha256,
        ...(entry.sizeBytes ? { expectedBytes: entry.sizeBytes } : {}),
        signal: controller.signal,
        onProgress: (p: DownloadProgress) => report({ phase: 'downloading', ...p }),
      });
      report({ phase: 'converting', bytes: downloaded.bytes, total: downloaded.bytes, message: 'Converting to ONNX…' });
      const reader = openCheckpoint(checkpoint);
      const config = configForCheckpoint(reader);
      reader.close();
      const tokenizer = config === SD15_CONFIG ? await clipTokenizer() : tinyTokenizerFiles();
      const dir = store.dirFor(name);
      await convertInWorker(checkpoint, dir, { dtype: await options.weightDtype(), config, tokenizer, overwrite: true }, (done, total) => report({ phase: 'converting', bytes: done, total, message: `Converting to ONNX: ${done}/${total} tensors` }));
      await store.writeManifest(dir, { name, source: file.url, sha256: downloaded.sha256, converterVersion: CONVERTER_VERSION, provider: 'any' });
      rmSync(checkpoint, { force: true });
      report({ phase: 'done', bytes: downloaded.bytes, total: downloaded.bytes, message: `${name} is installed.` });
      options.log.info(`installed ${name} from ${file.url}`);
    } catch (error) {
      const cancelled = controller.signal.aborted;
      const message = cancelled ? 'Cancelled; the partial download is kept and resumes next time.' : error instanceof Error ? error.message : String(error);
      if (!cancelled) options.log.error(`installing ${name} failed`, error);
      report({ phase: cancelled ? 'cancelled' : 'failed', message });
    } finally {
      running.delete(name);
    }
  }

  return {
    /** Starts an install in the background; progress arrives through onProgress. */
    start(entry: Pick<CatalogEntry, 'name' | 'downloads' | 'sizeBytes'>): void {
      void install(entry).catch((error: unknown) => options.onProgress({ name: entry.name, phase: 'failed', bytes: 0, total: null, bytesPerSecond: 0, etaSeconds: null, message: error instanceof Error ? error.message : String(error) }));
    },
    install,
    cancel(name: string): boolean {
      const controller = running.get(name);
      controller?.abort();
      return controller !== undefined;
    },
  };
}
