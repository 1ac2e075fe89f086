/**
 * Gives the model's memory back while the worker has nothing to do. A loaded SD 1.5 model holds 5.3 GiB of RAM on
 * the CPU (docs/memory.md) or several GB of GPU memory; the worker pauses the moment the user comes back, and the
 * user's own programs (a game, in game mode) then need that memory. So once the worker has not been working, and no
 * Generate-page job has run, for `afterMs` (five minutes by default), the model is released; the next job loads it
 * again (about 8 s for SD 1.5 on two CPU cores, a few seconds on a GPU), which is why a short absence keeps it.
 */
import type { WorkerState } from '../worker/hordeWorker';
import type { Clock } from '../worker/ports';

/** How long the worker must have been idle before the model is released. */
export const RELEASE_MODEL_AFTER_MS = 5 * 60_000;
/** How often the releaser looks. */
export const RELEASE_CHECK_MS = 30_000;

/** Worker states in which the model is (or is about to be) in use. */
const WORKING: ReadonlySet<WorkerState> = new Set<WorkerState>(['running', 'pausing', 'stopping']);

/** The model as the releaser sees it. */
export interface LoadedModelView {
  /** A model is in memory. */
  loaded: boolean;
  /** A job (the worker's or the Generate page's) is running or waiting for its turn. */
  busy: boolean;
  /** When the last job ended, on the clock (null: none yet). */
  usedAt: number | null;
}

export interface ModelReleaseOptions {
  clock: Clock;
  workerState: () => WorkerState;
  model: () => LoadedModelView;
  /** Releases the model (after any job that got in first); resolves once it is released. */
  release: () => Promise<void>;
  afterMs?: number;
  checkMs?: number;
  log?: (line: string) => void;
}

export interface ModelReleaser {
  /** One look: releases the model when it has been idle long enough. Resolves with whether it released it. */
  check(): Promise<boolean>;
  stop(): void;
}

/** Starts looking every `checkMs` (see the module comment). */
export function createModelReleaser(options: ModelReleaseOptions): ModelReleaser {
  const { clock } = options;
  const afterMs = options.afterMs ?? RELEASE_MODEL_AFTER_MS;
  const checkMs = options.checkMs ?? RELEASE_CHECK_MS;
  // Counted from the start, so a model loaded just before is not released at the first look.
  let lastWorking = clock.now();
  let releasing = false;
  let stopped = false;
  let cancel: (() => void) | null = null;

  const check = async (): Promise<boolean> => {
    const now = clock.now();
    const model = options.model();
    if (WORKING.has(options.workerState()) || model.busy) {
      lastWorking = now;
      return false;
    }
    if (!model.loaded || releasing) return false;
    const idleSince = Math.max(lastWorking, model.usedAt ?? Number.NEGATIVE_INFINITY);
    if (now - idleSince < afterMs) return false;
    releasing = true;
    try {
      options.log?.(`released the model's memory: no work for ${Math.round((now - idleSince) / 60_000)} min`);
      await options.release();
      return true;
    } finally {
      releasing = false;
    }
  };

  const arm = (): void => {
    if (stopped) return;
    cancel = clock.setTimer(checkMs, () => {
      void check()
        .catch((error: unknown) => options.log?.(`could not release the model: ${error instanceof Error ? error.message : String(error)}`))
        .finally(arm);
    });
  };
  arm();

  return {
    check,
    stop() {
      stopped = true;
      cancel?.();
    },
  };
}
