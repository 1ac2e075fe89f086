import { FaultState } from './faults';
import { createSeededUsers, type UserTable } from './users';

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
}

/** The mutable world of one stand-in. */
export interface StandinState {
  users: UserTable;
  faults: FaultState;
  models: StandinModel[];
}

/** Seeds a fresh state. */
export function createStandinState(): StandinState {
  return { users: createSeededUsers(), faults: new FaultState(), models: seedModels() };
}

/**
 * Made-up demand figures in the horde's shape (§5.4): a popular SDXL model with a queue, an idle
 * one, one with queued work but no workers (count 0, eta 10000, as the horde reports it), and a
 * custom model outside the reference.
 */
function seedModels(): StandinModel[] {
  return [
    { name: 'AlbedoBase XL (SDXL)', known: true, type: 'image', count: 31, performance: 2.9, queued: 9437184, jobs: 6, eta: 104 },
    { name: 'stable_diffusion', known: true, type: 'image', count: 12, performance: 1.6, queued: 0, jobs: 0, eta: 0 },
    { name: 'Deliberate', known: true, type: 'image', count: 7, performance: 1.3, queued: 1310720, jobs: 4, eta: 144 },
    { name: 'Anything Diffusion', known: true, type: 'image', count: 0, performance: 0, queued: 2621440, jobs: 2, eta: 10000 },
    { name: 'my_custom_merge', known: false, type: 'image', count: 1, performance: 0.8, queued: 0, jobs: 0, eta: 0 },
  ];
}

/** The `ActiveModel` JSON of one model. */
export function activeModelBody(model: StandinModel): Record<string, unknown> {
  const { name, count, performance, queued, jobs, eta, type } = model;
  return { name, count, performance, queued, jobs, eta, type };
}
