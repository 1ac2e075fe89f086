import type { HordeClient } from '../horde/client';
import { HordeApiError } from '../horde/errors';

/** What the Settings page and onboarding show next to the worker name field. */
export interface WorkerNameCheck {
  available: boolean;
  message: string;
}

/** The horde's own limits on a worker name's length (after trimming). */
export const WORKER_NAME_LENGTH = { min: 5, max: 100 } as const;

/**
 * Why the horde would refuse `name` as a new worker name without looking anything up, or null.
 * Words the horde keeps for Colab/TPU workers are refused in any case.
 */
export function workerNameProblem(name: string): string | null {
  const trimmed = name.trim();
  if (trimmed.length < WORKER_NAME_LENGTH.min || trimmed.length > WORKER_NAME_LENGTH.max) return 'A worker name has 5 to 100 characters.';
  if (/colab|tpu|google/i.test(trimmed)) return 'The horde refuses new worker names containing "colab", "tpu" or "google".';
  return null;
}

/**
 * Whether `name` can be this user's worker: free on the horde, or already one of the user's own
 * workers. When the horde cannot be asked the name counts as available (the first pop checks it
 * again); when its owner cannot be read, a name in use counts as someone else's.
 */
export async function checkWorkerName(name: string, horde: Pick<HordeClient, 'getWorkerByName' | 'findUser'>): Promise<WorkerNameCheck> {
  const problem = workerNameProblem(name);
  if (problem) return { available: false, message: problem };
  const trimmed = name.trim();
  let existing: { id: string } | null = null;
  try {
    existing = await horde.getWorkerByName(trimmed);
  } catch (error) {
    if (!(error instanceof HordeApiError && error.status === 404)) {
      return {
        available: true,
        message: `Could not ask the horde (${error instanceof Error ? error.message : String(error)}); the name is checked again at the first pop.`,
      };
    }
  }
  if (!existing) return { available: true, message: 'The name is free.' };
  try {
    const mine = (await horde.findUser()).worker_ids ?? [];
    if (mine.includes(existing.id)) return { available: true, message: 'This is already your worker.' };
  } catch {
    // Without the owner's details, the name is taken as far as we can tell.
  }
  return { available: false, message: 'Another user owns a worker with this name; the horde would refuse it. Pick another.' };
}
