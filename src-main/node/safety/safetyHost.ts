import { Worker } from 'node:worker_threads';
import type { ExecutionProvider } from '../../common/hardware';
import type { ProviderStatus } from '../../common/inference';
import { UserFacingError } from '../../common/result';
import type { Logger } from '../../core/log';
import { endThread } from '../threadExit';
import { safetyWorkerMessageSchema, type SafetyHostMessage, type TextFeatureStats } from '../../workers/protocol';

/** The worker entry: the built file next to the bundle, or the TypeScript source in dev and tests. */
export function defaultSafetyWorkerUrl(): URL {
  return import.meta.url.endsWith('.ts')
    ? new URL('../../workers/safety.worker.ts', import.meta.url)
    : new URL('./safety.worker.js', import.meta.url);
}

/** What a load reports. */
export interface SafetyLoadResult {
  status: ProviderStatus;
  textFeatures: TextFeatureStats;
  warnings: string[];
}

/** What one check reports. */
export interface SafetyScores {
  /** Cosine similarity per text, in the order asked. */
  scores: number[];
  textFeatures: TextFeatureStats;
  imageMs: number;
  warnings: string[];
}

/** A host message before its request id is assigned (Omit distributed over the union). */
type Unnumbered<T> = T extends unknown ? Omit<T, 'requestId'> : never;

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/**
 * The safety model's worker thread: CLIP preprocessing, both towers and the dot products run there, so the
 * main thread never blocks on a check. If the thread dies, every request in flight fails with code
 * `safety-crashed`, `onCrash` is told, and the next request starts a fresh thread (which must be loaded again).
 */
export class SafetyHost {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private disposed = false;

  constructor(
    private readonly log: Logger,
    private readonly workerUrl: URL = defaultSafetyWorkerUrl(),
    private readonly onCrash: (error: Error) => void = () => undefined,
  ) {}

  /** Opens a CLIP model folder in a fresh thread state and prepares the features of `texts`. */
  async load(modelDir: string, providers: readonly ExecutionProvider[], texts: readonly string[]): Promise<SafetyLoadResult> {
    return (await this.request({ type: 'load', modelDir, providers: [...providers], texts: [...texts] })) as SafetyLoadResult;
  }

  /** Scores one packed-RGB image against `texts` (the bytes are copied to the thread; the caller keeps them). */
  async similarities(image: { width: number; height: number; rgb: ArrayBuffer }, texts: readonly string[]): Promise<SafetyScores> {
    const { width, height, rgb } = image;
    return (await this.request({ type: 'similarities', width, height, rgb, texts: [...texts] })) as SafetyScores;
  }

  /** Ends the thread (and its model); the next request starts a new one. */
  async stop(): Promise<void> {
    const worker = this.worker;
    this.worker = null; // its exit is then no crash
    const stopped = new UserFacingError('safety-stopped', 'The safety check was stopped before this image was checked.');
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      pending.reject(stopped);
    }
    if (worker) await endThread(worker);
  }

  /** Ends the thread for good. */
  async dispose(): Promise<void> {
    this.disposed = true;
    await this.stop();
  }

  private spawn(): Worker {
    if (this.worker) return this.worker;
    if (this.disposed) throw new UserFacingError('disposed', 'The safety check has been shut down.');
    // Running from TypeScript sources (dev, tests): the thread needs tsx's loader too.
    const execArgv = this.workerUrl.pathname.endsWith('.ts')
      ? [...process.execArgv.filter((a) => !a.startsWith('--input-type')), '--import', 'tsx']
      : process.execArgv;
    const worker = new Worker(this.workerUrl, { execArgv });
    worker.on('message', (raw: unknown) => this.onMessage(raw));
    worker.on('error', (error) => this.crashed(worker, error));
    worker.on('exit', (code) => this.crashed(worker, new Error(`exit code ${code}`)));
    this.worker = worker;
    return worker;
  }

  private request(message: Unnumbered<SafetyHostMessage>): Promise<unknown> {
    const worker = this.spawn();
    const requestId = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(requestId, { resolve, reject });
      worker.postMessage({ ...message, requestId } as SafetyHostMessage);
    });
  }

  private onMessage(raw: unknown): void {
    const parsed = safetyWorkerMessageSchema.safeParse(raw);
    if (!parsed.success) {
      this.log.error('the safety worker sent a malformed message', parsed.error);
      return;
    }
    const message = parsed.data;
    if (message.type === 'ready') return;
    const pending = this.pending.get(message.requestId);
    if (!pending) return;
    this.pending.delete(message.requestId);
    if (message.type === 'error') pending.reject(new UserFacingError(message.code, message.message));
    else if (message.type === 'loaded')
      pending.resolve({ status: message.status, textFeatures: message.textFeatures, warnings: message.warnings });
    else if (message.type === 'scores') {
      const { scores, textFeatures, imageMs, warnings } = message;
      pending.resolve({ scores, textFeatures, imageMs, warnings });
    } else pending.resolve(undefined);
  }

  private crashed(worker: Worker, error: Error): void {
    if (this.worker !== worker) return;
    this.worker = null;
    if (this.disposed) return;
    this.log.error('the safety worker stopped unexpectedly; a fresh one starts with the next check', error);
    const failure = new UserFacingError(
      'safety-crashed',
      `The safety check stopped unexpectedly (${error.message}). HordeDesk restarts it; the image being checked was not checked.`,
      { cause: error },
    );
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      pending.reject(failure);
    }
    this.onCrash(error);
  }
}
