import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PopRequest } from '../../src-main/common/horde';
import type { InferenceProgress } from '../../src-main/common/inference';
import { clientAgent } from '../../src-main/common/appMeta';
import { createHordeClient } from '../../src-main/core/horde/client';
import { silentLogger, type Logger } from '../../src-main/core/log';
import { HordeWorker, type WorkerStatus } from '../../src-main/core/worker/hordeWorker';
import { hordeDeskPopBody } from '../../src-main/core/worker/popBody';
import type { GeneratorPort, RawImage, WorkerDeps, WorkerHordePort } from '../../src-main/core/worker/ports';
import { openDatabase } from '../../src-main/node/storage/database';
import { createNodeHttp } from '../../src-main/node/system/http';
import { createImageDelivery } from '../../src-main/node/worker/imageDelivery';
import { createSqliteJobLog } from '../../src-main/node/worker/jobLog';
import { createSqliteKudosLedger } from '../../src-main/node/kudos/kudosLedger';
import { nodeClock } from '../../src-main/node/worker/workerService';
import { STANDIN_KEYS } from '../../src-main/standin/server';
import { alwaysSafe } from './safety';

/**
 * A generator double for loop tests: real-sized RGB images with per-step progress, in a few ms,
 * so hundreds of horde jobs run quickly. Real inference is covered by the pipeline tests.
 */
export function quickGenerator(
  models: string[],
  opts: { stepMs?: number } = {},
): GeneratorPort & { cancelled: string[]; generated: number } {
  const cancelled = new Set<string>();
  const state = {
    cancelled: [] as string[],
    generated: 0,
    readyModels: () => models,
    async generate(job: Parameters<GeneratorPort['generate']>[0], onProgress: (p: InferenceProgress) => void): Promise<RawImage[]> {
      const jobId = job.ids[0] as string;
      const images: RawImage[] = [];
      for (let image = 0; image < job.ids.length; image += 1) {
        for (let step = 1; step <= job.params.steps; step += 1) {
          if (cancelled.has(jobId)) throw Object.assign(new Error('The job was cancelled.'), { code: 'cancelled' });
          if (opts.stepMs) await new Promise((r) => setTimeout(r, opts.stepMs));
          onProgress({ jobId, phase: 'sampling', image, step, steps: job.params.steps });
        }
        const rgb = new Uint8Array(job.params.width * job.params.height * 3);
        for (let i = 0; i < rgb.length; i += 1) rgb[i] = (i * 7 + job.seed + image) & 0xff;
        images.push({ width: job.params.width, height: job.params.height, seed: (job.seed + image) >>> 0, rgb: rgb.buffer });
      }
      state.generated += 1;
      return images;
    },
    cancel(jobId: string) {
      cancelled.add(jobId);
      state.cancelled.push(jobId);
    },
  };
  return state;
}

export interface WorkerRig {
  worker: HordeWorker;
  statuses: WorkerStatus[];
  ledger: ReturnType<typeof createSqliteKudosLedger>;
  jobLog: ReturnType<typeof createSqliteJobLog>;
  deps: WorkerDeps;
}

/** A HordeWorker against a horde at `hordeApiUrl`, with real WebP, uploads, SQLite ledger and log, and a safety check (a fake port unless `overrides.safety`). */
export function workerRig(
  hordeApiUrl: string,
  generator: GeneratorPort,
  overrides: Partial<WorkerDeps> & { name?: string; log?: Logger; wrapHorde?: (horde: WorkerHordePort) => WorkerHordePort } = {},
): WorkerRig {
  const opened = openDatabase(join(mkdtempSync(join(tmpdir(), 'hd-worker-')), 'hordedesk.db'));
  const ledger = createSqliteKudosLedger(opened.db);
  const jobLog = createSqliteJobLog(opened.db);
  const client = createHordeClient({
    baseUrl: () => hordeApiUrl,
    http: createNodeHttp(),
    clientAgent: clientAgent('0.1.0'),
    apiKey: () => STANDIN_KEYS.workerOwner,
  });
  const horde = overrides.wrapHorde ? overrides.wrapHorde(client) : client;
  const popBody = (models: string[]): PopRequest =>
    hordeDeskPopBody({
      name: overrides.name ?? 'HordeDesk Test Worker',
      models,
      bridgeAgent: clientAgent('0.1.0'),
      maxPixels: 262144,
      nsfw: false,
      amount: 4,
      blacklist: [],
    });
  const deps: WorkerDeps = {
    horde,
    generator,
    delivery: createImageDelivery(),
    ledger,
    jobLog,
    clock: nodeClock,
    log: overrides.log ?? silentLogger(),
    popBody,
    maxPixels: () => 262144,
    // Every image is checked; unless a test brings its own port, the check is loaded and finds nothing.
    safety: alwaysSafe(),
    modelSafetyInfo: async () => null,
    ...overrides,
  };
  const statuses: WorkerStatus[] = [];
  const worker = new HordeWorker(deps, (s) => statuses.push(s));
  return { worker, statuses, ledger, jobLog, deps };
}

/** Polls `check` until it holds (no wall-clock assertion: the test's own timeout bounds it). */
export async function until(check: () => boolean, pollMs = 20): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, pollMs));
}
