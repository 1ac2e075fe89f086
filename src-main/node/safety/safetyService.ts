import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionProvider } from '../../common/hardware';
import { UserFacingError } from '../../common/result';
import type { SafetyImage } from '../../core/safety/checker';
import { SAFETY_WORDS } from '../../core/safety/tables';
import type { Logger } from '../../core/log';
import { SafetyHost, type SafetyLoadResult } from './safetyHost';
import { CLIP_SAFETY_MODEL, SAFETY_MANIFEST_FILE, findSafetyModel, folderBytes, type InstalledSafetyModel } from './safetyModel';
import type { SafetyService, SafetyStatus } from './types';

/** What the UI shows about the safety model. */
export interface SafetyModelInfo {
  name: string;
  installed: boolean;
  /** Random weights (demo, tests): runs the whole path but recognises nothing. */
  tiny: boolean;
  /** The installed folder's size; null when not installed (or not measured yet). */
  sizeOnDiskBytes: number | null;
  /** What installing it downloads. */
  downloadBytes: number;
}

/** The safety service, with what the app around it needs. */
export interface SafetyModelService extends SafetyService {
  modelInfo(): SafetyModelInfo;
  /** Drops the loaded model and loads what is installed now (after an install). */
  reload(): Promise<void>;
  close(): Promise<void>;
}

/** What createSafetyService is built over. */
export interface SafetyServiceDeps {
  /** `<dataDir>/safety`. */
  safetyDir: string;
  /** Providers to try, best first (the hardware profile's). */
  providers: () => Promise<ExecutionProvider[]>;
  /** Bytes an install of ViT-L/14 downloads (shown before it is installed). */
  downloadBytes: number;
  log: Logger;
  /** Told of every status change. */
  onChange?: (status: SafetyStatus) => void;
  /** Another worker entry (tests wrap the real one to crash it). */
  workerUrl?: URL;
  /** A load that failed is not tried again sooner than this, unless the model is reinstalled (default 60 s). */
  retryAfterMs?: number;
  now?: () => number;
}

const MISSING =
  'The safety model (CLIP ViT-L/14) is not installed. HordeDesk checks every image it makes with it, so the worker does not take jobs until it is installed.';

interface Failure {
  error: Error;
  at: number;
  /** The model folder and its install record's time: a reinstall is tried at once. */
  stamp: string;
}

function stampOf(model: InstalledSafetyModel): string {
  try {
    return `${model.dir}@${statSync(join(model.dir, SAFETY_MANIFEST_FILE)).mtimeMs}`;
  } catch {
    return model.dir;
  }
}

function readyReason(model: InstalledSafetyModel, loaded: SafetyLoadResult): string {
  const { provider, fallbackReason } = loaded.status;
  const words = loaded.textFeatures.computed > 0 ? 'word features computed and cached' : 'word features from the cache';
  const tiny = model.manifest.tiny ? ' (random weights: a test model that recognises nothing)' : '';
  return `${model.manifest.name}${tiny} runs on ${provider}${fallbackReason ? ` (${fallbackReason})` : ''}; ${words}.`;
}

/** The loading and crash bookkeeping around the host. */
class Service implements SafetyModelService {
  private state: SafetyStatus = { state: 'missing', reason: MISSING };
  private loading: Promise<void> | null = null;
  private loaded: InstalledSafetyModel | null = null;
  private failure: Failure | null = null;
  private size: { dir: string; bytes: number } | null = null;
  private readonly host: SafetyHost;
  private readonly now: () => number;

  constructor(private readonly deps: SafetyServiceDeps) {
    this.now = deps.now ?? Date.now;
    this.host = new SafetyHost(deps.log, deps.workerUrl, () => this.onCrash());
  }

  status(): SafetyStatus {
    // A model written since (an install, the demo's tiny one) starts loading as soon as anyone looks.
    if (this.state.state === 'missing' && !this.loading && findSafetyModel(this.deps.safetyDir))
      void this.ensureLoaded().catch(() => undefined);
    return this.state;
  }

  ensureLoaded(): Promise<void> {
    if (this.loading) return this.loading;
    if (this.loaded && this.state.state === 'ready') return Promise.resolve();
    const found = findSafetyModel(this.deps.safetyDir);
    if (!found) {
      this.set({ state: 'missing', reason: MISSING });
      return Promise.reject(new UserFacingError('safety-missing', MISSING));
    }
    const f = this.failure;
    if (f && f.stamp === stampOf(found) && this.now() - f.at < (this.deps.retryAfterMs ?? 60_000)) return Promise.reject(f.error);
    this.loading = this.load(found).finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  async similarities(image: SafetyImage, texts: readonly string[]): Promise<ReadonlyMap<string, number>> {
    await this.ensureLoaded();
    const out = await this.host.similarities(image, texts);
    for (const w of out.warnings) this.deps.log.warn(w);
    return new Map(texts.map((t, i) => [t, out.scores[i] as number]));
  }

  modelInfo(): SafetyModelInfo {
    const found = findSafetyModel(this.deps.safetyDir);
    if (!found)
      return { name: CLIP_SAFETY_MODEL.name, installed: false, tiny: false, sizeOnDiskBytes: null, downloadBytes: this.deps.downloadBytes };
    const bytes = this.size?.dir === found.dir ? this.size.bytes : null;
    return {
      name: found.manifest.name,
      installed: true,
      tiny: found.manifest.tiny,
      sizeOnDiskBytes: bytes,
      downloadBytes: found.manifest.downloadBytes,
    };
  }

  async reload(): Promise<void> {
    await this.loading?.catch(() => undefined);
    this.loaded = null;
    this.failure = null;
    await this.host.stop();
    return this.ensureLoaded();
  }

  close(): Promise<void> {
    return this.host.dispose();
  }

  private async load(found: InstalledSafetyModel): Promise<void> {
    this.loaded = null;
    this.set({ state: 'loading', reason: `Loading ${found.manifest.name} and its word features…` });
    try {
      const result = await this.host.load(found.dir, await this.deps.providers(), SAFETY_WORDS);
      for (const w of result.warnings) this.deps.log.warn(w);
      this.size = { dir: found.dir, bytes: await folderBytes(found.dir) };
      this.loaded = found;
      this.failure = null;
      this.set({ state: 'ready', reason: readyReason(found, result) });
      this.deps.log.info(`safety model ready: ${this.state.reason}`);
    } catch (error) {
      const cause = error instanceof Error ? error : new Error(String(error));
      const reason = `The safety model ${found.manifest.name} could not be loaded: ${cause.message}`;
      this.failure = { error: new UserFacingError('safety-failed', reason, { cause }), at: this.now(), stamp: stampOf(found) };
      this.set({ state: 'failed', reason });
      this.deps.log.error('loading the safety model failed', cause);
      throw this.failure.error;
    }
  }

  /** A thread that dies while loaded is replaced at once, so the check is back before the next image. */
  private onCrash(): void {
    if (!this.loaded) return; // a load in progress fails by itself and says why
    this.loaded = null;
    this.set({ state: 'loading', reason: 'The safety check stopped unexpectedly and is being restarted.' });
    void this.ensureLoaded().catch(() => undefined);
  }

  private set(status: SafetyStatus): void {
    const changed = status.state !== this.state.state || status.reason !== this.state.reason;
    this.state = status;
    if (changed) this.deps.onChange?.(status);
  }
}

/**
 * The safety check's CLIP model as a {@link SafetyService}: a worker thread runs it, the word-list features
 * are computed once and cached in the model folder, a failed load says why (and is retried after a minute
 * or a reinstall), and a thread that dies fails the check in flight and is replaced.
 */
export function createSafetyService(deps: SafetyServiceDeps): SafetyModelService {
  return new Service(deps);
}
