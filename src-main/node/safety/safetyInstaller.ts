import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserFacingError } from '../../common/result';
import type { Logger } from '../../core/log';
import { tinyTokenizerFiles } from '../../inference/tokenizer';
import { ConvertCancelledError, convertInWorker, type ConvertCeilings } from '../models/convertHost';
import { CLIP_TOKENIZER_FILES, clipTokenizer, installEndMessage, type InstallProgress } from '../models/modelInstaller';
import { ChecksumError, downloadFile } from '../models/modelDownloads';
import { CLIP_SAFETY_MODEL, SAFETY_MANIFEST_FILE, type SafetyModelManifest } from './safetyModel';

/** The file an install fetches and where it goes; ViT-L/14 unless a test pins another. */
export interface SafetyModelSource {
  name: string;
  folder: string;
  /** The file under the base URL. */
  file: string;
  bytes: number;
  sha256: string;
}

/** What a full install of `source` downloads: the weights and the CLIP tokenizer files. */
export function safetyDownloadBytes(source: Pick<SafetyModelSource, 'bytes'> = CLIP_SAFETY_MODEL): number {
  return source.bytes + CLIP_TOKENIZER_FILES.reduce((n, f) => n + f.bytes, 0);
}

/** What createSafetyInstaller is built over. */
export interface SafetyInstallerOptions {
  /** Downloads go to `<dataDir>/downloads`, the kept CLIP tokenizer to `<dataDir>/tokenizers`. */
  dataDir: string;
  /** `<dataDir>/safety`. */
  safetyDir: string;
  /** The Hugging Face repository's file base (Settings' CLIP download URL, shared with the tokenizer). */
  baseUrl: () => string;
  /** fp16 for GPU providers, fp32 for the CPU (as SD models are converted). */
  weightDtype: () => Promise<'fp16' | 'fp32'>;
  onProgress: (p: InstallProgress) => void;
  /** Called once the model is in place (the service loads it). */
  onInstalled: () => Promise<void>;
  log: Logger;
  source?: SafetyModelSource;
  convertCeilings?: Partial<ConvertCeilings>;
}

/** Installs the safety model. */
export interface SafetyInstaller {
  /** Starts the install in the background (refused while one runs); progress arrives through onProgress. */
  start(): void;
  /** Runs one install to its end (done, failed or cancelled, told through onProgress). */
  install(): Promise<void>;
  cancel(): boolean;
  /** The last progress of the latest install; null before any. */
  progress(): InstallProgress | null;
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

type Report = (p: Partial<InstallProgress> & Pick<InstallProgress, 'phase'>) => void;

/** The checkpoint: kept from a cancelled conversion when it still matches, else a (resumed) download. */
async function fetchWeights(o: SafetyInstallerOptions, source: SafetyModelSource, dest: string, signal: AbortSignal, report: Report) {
  if (existsSync(dest)) {
    report({ phase: 'downloading', message: 'Checking the file downloaded earlier…' });
    if ((await sha256Of(dest)) === source.sha256) return { bytes: statSync(dest).size, sha256: source.sha256 };
    rmSync(dest, { force: true });
  }
  const url = `${o.baseUrl()}/${source.file}`;
  try {
    return await downloadFile({
      url,
      dest,
      sha256: source.sha256,
      expectedBytes: source.bytes,
      signal,
      onProgress: (p) => report({ phase: 'downloading', ...p, message: `Downloading ${source.name}…` }),
    });
  } catch (error) {
    if (!(error instanceof ChecksumError)) throw error;
    throw new UserFacingError(
      'safety-mismatch',
      `The safety model from ${url} is not the published file (its sha256 differs from the pinned ${source.sha256}), so nothing was installed. Check the CLIP download URL in Settings.`,
      { cause: error },
    );
  }
}

/** Converts, records and moves the model into place; the commit is the one rename after the last abort check. */
async function convertAndCommit(
  o: SafetyInstallerOptions,
  source: SafetyModelSource,
  checkpoint: string,
  signal: AbortSignal,
  report: Report,
) {
  const dir = join(o.safetyDir, source.folder);
  const staging = `${dir}.partial`;
  try {
    await convertInWorker(
      { checkpoint, outDir: dir, dtype: await o.weightDtype(), kind: 'clip' },
      {
        tokenizerFor: (family) => (family === 'sd15' ? clipTokenizer(o.dataDir, o.baseUrl, signal) : Promise.resolve(tinyTokenizerFiles())),
        onProgress: (done, total) =>
          report({ phase: 'converting', bytes: done, total, message: `Converting to ONNX: ${done}/${total} tensors` }),
        signal,
        ...(o.convertCeilings ? { ceilings: o.convertCeilings } : {}),
      },
    );
    const manifest: SafetyModelManifest = {
      name: source.name,
      source: `${o.baseUrl()}/${source.file}`,
      sha256: source.sha256,
      downloadBytes: safetyDownloadBytes(source),
      tiny: false,
    };
    writeFileSync(join(staging, SAFETY_MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    signal.throwIfAborted();
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
  } finally {
    // A conversion stopped mid-way leaves its own staging folder inside ours' name.
    rmSync(staging, { recursive: true, force: true });
    rmSync(`${staging}.partial`, { recursive: true, force: true });
  }
}

/**
 * The safety model's install, through the Models machinery: a resumable download pinned by sha256 (and its size
 * limit), the CLIP tokenizer files pinned the same way, the conversion in the convert worker (its time and heap
 * ceilings, Cancel = terminate), then one rename. Cancelling keeps the download for a later resume.
 */
export function createSafetyInstaller(o: SafetyInstallerOptions): SafetyInstaller {
  const source = o.source ?? CLIP_SAFETY_MODEL;
  let running: AbortController | null = null;
  let last: InstallProgress | null = null;
  const report: Report = (p) => {
    last = { name: source.name, bytes: 0, total: null, bytesPerSecond: 0, etaSeconds: null, message: null, ...p };
    o.onProgress(last);
  };

  async function install(): Promise<void> {
    if (running) throw new UserFacingError('busy', 'The safety model is already being installed.');
    const controller = new AbortController();
    running = controller;
    const { signal } = controller;
    const downloads = join(o.dataDir, 'downloads');
    const checkpoint = join(downloads, `safety-${source.folder}-${source.file}`);
    let phase: 'downloading' | 'converting' = 'downloading';
    try {
      mkdirSync(downloads, { recursive: true });
      mkdirSync(o.safetyDir, { recursive: true });
      const got = await fetchWeights(o, source, checkpoint, signal, report);
      signal.throwIfAborted();
      phase = 'converting';
      report({ phase, bytes: got.bytes, total: got.bytes, message: 'Converting to ONNX…' });
      await convertAndCommit(o, source, checkpoint, signal, report);
      running = null; // installed: a late Cancel has nothing left to stop
      rmSync(checkpoint, { force: true });
      report({ phase: 'done', bytes: got.bytes, total: got.bytes, message: `${source.name} is installed.` });
      o.log.info(`installed the safety model ${source.name}`);
      await o.onInstalled().catch((error: unknown) => o.log.warn('the safety model was installed but does not load', error));
    } catch (error) {
      const cancelled = signal.aborted || error instanceof ConvertCancelledError;
      if (!cancelled) o.log.error(`installing the safety model failed`, error);
      report({ phase: cancelled ? 'cancelled' : 'failed', message: installEndMessage(error, cancelled, phase, 'file') });
    } finally {
      if (running === controller) running = null;
    }
  }

  return {
    start() {
      if (running) throw new UserFacingError('busy', 'The safety model is already being installed.');
      void install();
    },
    install,
    cancel() {
      running?.abort();
      return running !== null;
    },
    progress: () => last,
  };
}
