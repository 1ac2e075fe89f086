import { describe, expect, test } from 'vitest';
import type { UserDetails, WorkerDetails } from '../../src-main/common/horde';
import { HordeApiError, HordeUnreachableError } from '../../src-main/core/horde/errors';
import { checkWorkerName, workerNameProblem } from '../../src-main/core/worker/workerName';

/** The horde's answer to a name nobody uses. */
function notFound(): HordeApiError {
  return new HordeApiError({
    code: 'horde.rejected',
    message: 'Worker not found',
    status: 404,
    rc: 'WorkerNotFound',
    retryAfterMs: undefined,
    endpoint: 'GET /v2/workers/name/x',
    hordeMessage: undefined,
  });
}

function user(workerIds: string[]): UserDetails {
  return { username: 'me#1', id: 1, kudos: 10, kudos_details: {}, worker_ids: workerIds };
}

function worker(id: string): WorkerDetails {
  return { id, name: 'Some Worker' };
}

/** A horde that knows one worker (or none) and one user (or cannot say who the user is). */
function horde(existing: WorkerDetails | Error, owner: UserDetails | Error) {
  const asked: string[] = [];
  return {
    asked,
    getWorkerByName: async (name: string) => {
      asked.push(name);
      if (existing instanceof Error) throw existing;
      return existing;
    },
    findUser: async () => {
      if (owner instanceof Error) throw owner;
      return owner;
    },
  };
}

describe('workerNameProblem', () => {
  test('a name has 5 to 100 characters once trimmed', () => {
    expect(workerNameProblem('  abcd  ')).toBe('A worker name has 5 to 100 characters.');
    expect(workerNameProblem('abcde')).toBeNull();
    expect(workerNameProblem('x'.repeat(100))).toBeNull();
    expect(workerNameProblem('x'.repeat(101))).toBe('A worker name has 5 to 100 characters.');
  });

  test('words the horde keeps for Colab and TPU workers are refused in any case', () => {
    for (const name of ['My Colab box', 'TPU worker', 'gOoGlE cloud']) {
      expect(workerNameProblem(name)).toBe('The horde refuses new worker names containing "colab", "tpu" or "google".');
    }
  });
});

describe('checkWorkerName', () => {
  test('a name the horde does not know is free; the horde is asked for the trimmed name', async () => {
    const h = horde(notFound(), user([]));
    expect(await checkWorkerName('  Quiet Desk  ', h)).toEqual({ available: true, message: 'The name is free.' });
    expect(h.asked).toEqual(['Quiet Desk']);
  });

  test('a refused name is not looked up', async () => {
    const h = horde(notFound(), user([]));
    expect(await checkWorkerName('tpu-01', h)).toEqual({
      available: false,
      message: 'The horde refuses new worker names containing "colab", "tpu" or "google".',
    });
    expect(h.asked).toEqual([]);
  });

  test("the user's own worker may keep its name", async () => {
    expect(await checkWorkerName('Quiet Desk', horde(worker('w-1'), user(['w-0', 'w-1'])))).toEqual({
      available: true,
      message: 'This is already your worker.',
    });
  });

  test("another user's worker name is taken, also when the owner cannot be read", async () => {
    const taken = { available: false, message: 'Another user owns a worker with this name; the horde would refuse it. Pick another.' };
    expect(await checkWorkerName('Quiet Desk', horde(worker('w-9'), user(['w-1'])))).toEqual(taken);
    expect(await checkWorkerName('Quiet Desk', horde(worker('w-9'), new Error('offline')))).toEqual(taken);
  });

  test('when the horde cannot be asked the name passes, to be checked at the first pop', async () => {
    const unreachable = new HordeUnreachableError('GET /v2/workers/name/x', 'timeout', 30_000);
    const check = await checkWorkerName('Quiet Desk', horde(unreachable, user([])));
    expect(check.available).toBe(true);
    expect(check.message).toBe(`Could not ask the horde (${unreachable.message}); the name is checked again at the first pop.`);
    const refused = new HordeApiError({
      code: 'horde.serverError',
      message: 'boom',
      status: 500,
      rc: undefined,
      retryAfterMs: undefined,
      endpoint: 'GET /v2/workers/name/x',
      hordeMessage: undefined,
    });
    expect(await checkWorkerName('Quiet Desk', horde(refused, user([])))).toEqual({
      available: true,
      message: 'Could not ask the horde (boom); the name is checked again at the first pop.',
    });
  });
});
