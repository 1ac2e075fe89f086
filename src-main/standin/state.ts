import { FaultState } from './faults';
import { JobBoard, type JobsOptions } from './queue';
import { RatingsBoard } from './ratingsBoard';
import { createSeededUsers, type UserTable } from './users';
import { WorkerRegistry } from './workers';

// Everything a stand-in instance remembers. Each startStandin() gets its own, so parallel test
// files never see each other's users or faults.

/** The horde version the recorded fixtures came from (HORDE_VERSION 5.1.5). */
export const HORDE_VERSION = '5.1.5';

/**
 * A model the stand-in reports in `GET /v2/status/models`. `known` says whether it is in the
 * model reference, which drives the `model_state` filter; it is not part of the answer.
 */
export interface StandinModel {
  name: string;
  known: boolean;
  type: 'image' | 'text';
  /** Threads of non-maintenance workers that checked in within 300 s. */
  count: number;
  performance: number;
  queued: number;
  jobs: number;
  eta: number;
  /** The model reference's baseline, for reward multipliers and ttl (§3.1, §2.10); not in the answer. */
  baseline: string;
  /** The reference's `inpainting` flag: painting requests go only to workers serving such a model (§5.2). */
  inpainting?: boolean;
}

/** The mutable world of one stand-in. */
export interface StandinState {
  users: UserTable;
  faults: FaultState;
  models: StandinModel[];
  /** Waiting requests, jobs, uploads and the workers (queue.ts, workers.ts). */
  board: JobBoard;
  /** The ratings service: datasets, handed-out images and their ratings (ratingsBoard.ts). */
  ratings: RatingsBoard;
}

/**
 * Seeds a fresh state; `extraModels` are added as known image models nobody serves yet, and
 * `inpaintingModels` as known ones the reference marks `inpainting`.
 */
export function createStandinState(
  jobs: JobsOptions = {},
  extraModels: readonly string[] = [],
  inpaintingModels: readonly string[] = [],
): StandinState {
  const users = createSeededUsers();
  const models = seedModels();
  for (const name of inpaintingModels) addKnownModel(models, name, { inpainting: true });
  for (const name of extraModels) addKnownModel(models, name);
  const workers = new WorkerRegistry(users, jobs.maintenanceAbortThreshold ?? 20);
  const baselineOf = (name: string) => models.find((m) => m.name === name)?.baseline ?? 'stable_diffusion_1';
  return { users, faults: new FaultState(), models, board: new JobBoard(jobs, workers, baselineOf), ratings: new RatingsBoard() };
}

/**
 * Made-up demand figures in the horde's shape (§5.4): a popular SDXL model with a queue, an idle
 * one, one with queued work but no workers (count 0, eta 10000, as the horde reports it), and a
 * custom model outside the reference.
 */
function seedModels(): StandinModel[] {
  return [
    {
      name: 'AlbedoBase XL (SDXL)',
      known: true,
      type: 'image',
      count: 31,
      performance: 2.9,
      queued: 9437184,
      jobs: 6,
      eta: 104,
      baseline: 'stable_diffusion_xl',
    },
    {
      name: 'stable_diffusion',
      known: true,
      type: 'image',
      count: 12,
      performance: 1.6,
      queued: 0,
      jobs: 0,
      eta: 0,
      baseline: 'stable_diffusion_1',
    },
    {
      name: 'Deliberate',
      known: true,
      type: 'image',
      count: 7,
      performance: 1.3,
      queued: 1310720,
      jobs: 4,
      eta: 144,
      baseline: 'stable_diffusion_1',
    },
    {
      name: 'Anything Diffusion',
      known: true,
      type: 'image',
      count: 0,
      performance: 0,
      queued: 2621440,
      jobs: 2,
      eta: 10000,
      baseline: 'stable_diffusion_1',
    },
    {
      name: 'my_custom_merge',
      known: false,
      type: 'image',
      count: 1,
      performance: 0.8,
      queued: 0,
      jobs: 0,
      eta: 0,
      baseline: 'stable_diffusion_1',
    },
  ];
}

/** Adds a model to the reference (pops may then serve it) unless it is there already. */
export function addKnownModel(models: StandinModel[], name: string, opts: { inpainting?: boolean } = {}): void {
  if (models.some((m) => m.name === name)) return;
  const model: StandinModel = {
    name,
    known: true,
    type: 'image',
    count: 0,
    performance: 0,
    queued: 0,
    jobs: 0,
    eta: 0,
    baseline: 'stable_diffusion_1',
  };
  models.push(opts.inpainting ? { ...model, inpainting: true } : model);
}

/** The names the reference marks as inpainting models. */
export function inpaintingModelNames(state: Pick<StandinState, 'models'>): ReadonlySet<string> {
  return new Set(state.models.filter((m) => m.inpainting === true).map((m) => m.name));
}

/** The `ActiveModel` JSON of one model. */
export function activeModelBody(model: StandinModel): Record<string, unknown> {
  const { name, count, performance, queued, jobs, eta, type } = model;
  return { name, count, performance, queued, jobs, eta, type };
}
