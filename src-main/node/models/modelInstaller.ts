import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { CatalogDownload, CatalogEntry } from '../../core/models/catalog';
import { UserFacingError } from '../../common/result';
import type { Logger } from '../../core/log';
import { CONVERTER_VERSION } from '../../inference/convert/convert';
import type { AttentionKind } from '../../inference/graph/builder';
import { tinyTokenizerFiles, type TokenizerFiles } from '../../inference/tokenizer';
import { ConvertCancelledError, convertInWorker, type ConvertCeilings } from './convertHost';
import { ChecksumError, downloadFile, type DownloadProgress } from './modelDownloads';
import { createModelStore, folderNameOf, type ModelStore } from './modelStore';

/**
 * SD 1.x's CLIP tokenizer as published in openai/clip-vit-large-patch14, pinned by sha256. Both files are OpenAI's
 * `bpe_simple_vocab_16e6.txt` merges (MIT) in the Hugging Face layout; the digests were checked by rebuilding the
 * exact bytes from OpenAI's file and matching independently published digests of the Hub's files.
 */
export const CLIP_TOKENIZER_FILES: readonly {
  readonly file: 'vocab.json' | 'merges.txt';
  readonly bytes: number;
  readonly sha256: string;
}[] = [
  { file: 'vocab.json', bytes: 961_143, sha256: '3f0c4f7d2086b61b38487075278ea9ed04edb53a03cbb045b86c27190fa8fb69' },
  { file: 'merges.txt', bytes: 524_619, sha256: '9fd691f7c8039210e0fced15865466c65820d09b63988b0174bfe25de299051a' },
];

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** What Install needs of a catalog entry; `allowUnverified` is the user's "Install anyway" for a file with no sha256. */
export type InstallEntry = Pick<CatalogEntry, 'name' | 'downloads' | 'sizeBytes'> & { allowUnverified?: boolean };

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
 * SD 1.x's CLIP tokenizer files, downloaded once and kept (checkpoints do not carry them). Each file is checked
 * against its pinned sha256, on download and again when a kept copy is used; a mismatch installs nothing.
 * The safety model's install (node/safety) takes the same files from here.
 */
export async function clipTokenizer(dataDir: string, baseUrl: () => string, signal: AbortSignal): Promise<TokenizerFiles> {
  const dir = join(dataDir, 'tokenizers', 'clip-vit-large-patch14');
  mkdirSync(dir, { recursive: true });
  for (const { file, bytes, sha256 } of CLIP_TOKENIZER_FILES) {
    const path = join(dir, file);
    if (existsSync(path) && (await sha256Of(path)) !== sha256) rmSync(path, { force: true }); // damaged or replaced: fetch again
    if (existsSync(path)) continue;
    const url = `${baseUrl()}/${file}`;
    try {
      await downloadFile({ url, dest: path, sha256, expectedBytes: bytes, signal });
    } catch (error) {
      if (!(error instanceof ChecksumError)) throw error;
      throw new UserFacingError(
        'tokenizer-mismatch',
        `The CLIP tokenizer file ${file} from ${url} is not the published one (its sha256 differs from the pinned ${sha256}), so nothing was installed. Check the tokenizer URL in Settings.`,
        { cause: error },
      );
    }
  }
  return { vocabJson: readFileSync(join(dir, 'vocab.json'), 'utf8'), mergesTxt: readFileSync(join(dir, 'merges.txt'), 'utf8') };
}

/** A checkpoint kept from an earlier, cancelled conversion is used again when it still matches its sha256. */
async function keptCheckpoint(
  path: string,
  sha256: string | null,
  onChecking: () => void,
): Promise<{ bytes: number; sha256: string } | null> {
  if (sha256 === null || !existsSync(path)) return null;
  onChecking();
  const digest = await sha256Of(path);
  if (digest === sha256.toLowerCase()) return { bytes: statSync(path).size, sha256: digest };
  rmSync(path, { force: true });
  return null;
}

/** Progress of one install; what is left out is zero or unknown. */
type ReportProgress = (p: Partial<InstallProgress> & Pick<InstallProgress, 'phase'>) => void;

/** The checkpoint at `dest`: the one kept from an earlier, cancelled conversion if it still matches, or a (resumed) download. */
async function fetchCheckpoint(
  entry: InstallEntry,
  file: CatalogDownload,
  dest: string,
  signal: AbortSignal,
  report: ReportProgress,
): Promise<{ bytes: number; sha256: string }> {
  return (
    (await keptCheckpoint(dest, file.sha256, () =>
      report({ phase: 'downloading', message: 'Checking the checkpoint downloaded earlier…' }),
    )) ??
    (await downloadFile({
      url: file.url,
      dest,
      sha256: file.sha256,
      allowUnverified: entry.allowUnverified === true,
      ...(entry.sizeBytes ? { expectedBytes: entry.sizeBytes } : {}),
      signal,
      onProgress: (p: DownloadProgress) => report({ phase: 'downloading', ...p }),
    }))
  );
}

/**
 * What the Models page shows when an install ends early (every installer: models, safety model, post-processors).
 * `kept` names the downloaded file when a cancel after the download keeps it for next time.
 */
export function installEndMessage(error: unknown, cancelled: boolean, phase: 'downloading' | 'converting', kept?: string): string {
  if (!cancelled) return error instanceof Error ? error.message : String(error);
  if (phase === 'downloading') return 'Cancelled; the partial download is kept and resumes next time.';
  return kept ? `Cancelled; nothing was installed (the downloaded ${kept} is kept for next time).` : 'Cancelled; nothing was installed.';
}

/** The progress an install that threw before reporting its own end says: failed, with the error's message. */
export function failedInstall(name: string, error: unknown): InstallProgress {
  return {
    name,
    phase: 'failed',
    bytes: 0,
    total: null,
    bytesPerSecond: 0,
    etaSeconds: null,
    message: error instanceof Error ? error.message : String(error),
  };
}

/** What createModelInstaller is built over. */
export interface ModelInstallerOptions {
  dataDir: string;
  modelsDir: string;
  clipTokenizerUrl: () => string;
  clientAgent: string;
  /** fp16 weights for GPU providers; fp32 for the CPU, which would widen fp16 to fp32 copies anyway. */
  weightDtype: () => Promise<'fp16' | 'fp32'>;
  /** How the graphs write attention for the provider that will run them (default 'fused'; graphChoiceFor). */
  graphAttention?: () => Promise<AttentionKind>;
  onProgress: (p: InstallProgress) => void;
  log: Logger;
  /** Time and heap ceilings of the convert worker (defaults: DEFAULT_CONVERT_CEILINGS). */
  convertCeilings?: Partial<ConvertCeilings>;
}

/** The Models page's installs. */
export interface ModelInstaller {
  /** Starts an install in the background; progress arrives through onProgress. */
  start(entry: InstallEntry): void;
  /** Runs one install to its end (done, failed or cancelled, told through onProgress). */
  install(entry: InstallEntry): Promise<void>;
  /** Cancels a running install; false when there is none of that name. */
  cancel(name: string): boolean;
}

/** What the installs share: the options, the downloads folder, the model store and the installs under way. */
interface InstallerDeps {
  options: ModelInstallerOptions;
  downloads: string;
  store: ModelStore;
  running: Map<string, AbortController>;
}

/** Where one install reads and writes: the checkpoint, the model folder and its staging twin. */
interface InstallPaths {
  checkpoint: string;
  dir: string;
  staging: string;
}

/** Converts the checkpoint into `dir` in the worker thread, with the tokenizer its family needs. */
async function convertCheckpoint(
  options: ModelInstallerOptions,
  paths: InstallPaths,
  signal: AbortSignal,
  report: ReportProgress,
): Promise<void> {
  const dtype = await options.weightDtype();
  const attention = options.graphAttention ? await options.graphAttention() : undefined;
  // Everything that reads the checkpoint, config detection included, happens in the worker thread.
  await convertInWorker(
    { checkpoint: paths.checkpoint, outDir: paths.dir, dtype, ...(attention ? { attention } : {}) },
    {
      tokenizerFor: (family) =>
        family === 'sd15' ? clipTokenizer(options.dataDir, options.clipTokenizerUrl, signal) : Promise.resolve(tinyTokenizerFiles()),
      onProgress: (done, total) =>
        report({ phase: 'converting', bytes: done, total, message: `Converting to ONNX: ${done}/${total} tensors` }),
      signal,
      ...(options.convertCeilings ? { ceilings: options.convertCeilings } : {}),
    },
  );
}

/** Fetches, converts and commits one model; every end (done, failed, cancelled) is reported, none thrown. */
async function runInstall(
  deps: InstallerDeps,
  job: { entry: InstallEntry; file: CatalogDownload; paths: InstallPaths },
  signal: AbortSignal,
  report: ReportProgress,
): Promise<void> {
  const { options, store, running } = deps;
  const { entry, file, paths } = job;
  const { name } = entry;
  const { checkpoint, dir, staging } = paths;
  let phase: 'downloading' | 'converting' = 'downloading';
  try {
    mkdirSync(deps.downloads, { recursive: true });
    const downloaded = await fetchCheckpoint(entry, file, checkpoint, signal, report);
    signal.throwIfAborted();
    phase = 'converting';
    report({ phase: 'converting', bytes: downloaded.bytes, total: downloaded.bytes, message: 'Converting to ONNX…' });
    await convertCheckpoint(options, paths, signal, report);
    await store.writeManifest(staging, {
      name,
      source: file.url,
      sha256: downloaded.sha256,
      converterVersion: CONVERTER_VERSION,
      provider: 'any',
    });
    // The commit point: nothing is installed until this synchronous swap, and a Cancel before it wins.
    signal.throwIfAborted();
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
    running.delete(name); // installed: a late Cancel has nothing left to stop
    rmSync(checkpoint, { force: true });
    report({ phase: 'done', bytes: downloaded.bytes, total: downloaded.bytes, message: `${name} is installed.` });
    options.log.info(`installed ${name} from ${file.url}`);
  } catch (error) {
    const cancelled = signal.aborted || error instanceof ConvertCancelledError;
    if (phase === 'converting') rmSync(staging, { recursive: true, force: true });
    const message = installEndMessage(error, cancelled, phase, 'checkpoint');
    if (!cancelled) options.log.error(`installing ${name} failed`, error);
    report({ phase: cancelled ? 'cancelled' : 'failed', message });
  }
}

/** One install: refuses an entry with no convertible checkpoint or one already installing, then runs it. */
async function install(deps: InstallerDeps, entry: InstallEntry): Promise<void> {
  const { options, running } = deps;
  const { name } = entry;
  const file = entry.downloads.find((d) => /\.(safetensors|ckpt)$/i.test(d.fileName));
  if (!file) throw new UserFacingError('no-checkpoint', `${name} has no .safetensors or .ckpt file HordeDesk can convert.`);
  if (running.has(name)) throw new UserFacingError('busy', `${name} is already being installed.`);
  const controller = new AbortController();
  running.set(name, controller);
  const report: ReportProgress = (p) =>
    options.onProgress({ name, bytes: 0, total: null, bytesPerSecond: 0, etaSeconds: null, message: null, ...p });
  const dir = deps.store.dirFor(name);
  const paths: InstallPaths = {
    checkpoint: join(deps.downloads, `${folderNameOf(name)}-${file.fileName.replace(/[^\w.-]/g, '_')}`),
    dir,
    staging: `${dir}.partial`,
  };
  try {
    await runInstall(deps, { entry, file, paths }, controller.signal, report);
  } finally {
    running.delete(name);
  }
}

/**
 * Installs a model from the catalog: downloads its checkpoint (resumable, sha256-checked, disk
 * space checked first), converts it to ONNX with HordeDesk's own converter, writes the manifest,
 * then deletes the checkpoint. Cancelling keeps the partial download for a later resume.
 */
export function createModelInstaller(options: ModelInstallerOptions): ModelInstaller {
  const deps: InstallerDeps = {
    options,
    downloads: join(options.dataDir, 'downloads'),
    store: createModelStore(options.modelsDir),
    running: new Map(),
  };
  return {
    start(entry) {
      void install(deps, entry).catch((error: unknown) => options.onProgress(failedInstall(entry.name, error)));
    },
    install: (entry) => install(deps, entry),
    cancel(name) {
      const controller = deps.running.get(name);
      controller?.abort();
      return controller !== undefined;
    },
  };
}
