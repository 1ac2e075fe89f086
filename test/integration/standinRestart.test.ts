import { mkdtempSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { startStandin, STANDIN_KEYS, type StandinHandle, type StandinOptions } from '../../src-main/standin/server';
import { hordeCall, hordeDeskPop, popAs, submitAs, tinyWebpBytes } from '../helpers/standinKit';

// What the soak benchmark and the demo lean on: the ratings journal, a horde restart that keeps
// the queue, dropped connections, and telling a true duplicate submit from a retry.

const open: StandinHandle[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function start(opts: StandinOptions = {}): Promise<StandinHandle> {
  const standin = await startStandin({ ...opts, jobs: { sweepIntervalMs: 0, ...opts.jobs } });
  open.push(standin);
  return standin;
}

const rate = (standin: StandinHandle, id: string, rating: number) =>
  hordeCall(standin, `/api/v1/rating/${id}`, { apikey: STANDIN_KEYS.workerOwner, body: { rating, artifacts: 1 } });

test('with a state file, images and ratings outlive the stand-in and ids never repeat', async () => {
  const stateFile = join(mkdtempSync(join(tmpdir(), 'hd-standin-')), 'ratings', 'state.jsonl');
  const first = await start({ ratings: { stateFile, validationEvery: 0 } });
  const ids: string[] = [];
  for (let i = 0; i < 3; i += 1) ids.push((await hordeCall(first, '/api/v1/rating/new')).body.id as string);
  expect((await rate(first, ids[0] as string, 7)).status).toBe(200);
  open.splice(open.indexOf(first), 1);
  await first.close();
  // A crash mid-append leaves a torn line; it is ignored.
  appendFileSync(stateFile, '{"t":"iss');

  const second = await start({ ratings: { stateFile, validationEvery: 0 } });
  expect((await rate(second, ids[1] as string, 4)).status).toBe(200);
  expect((await rate(second, ids[0] as string, 7)).body.message).toBe('You have already rated this image');
  const ratings = await hordeCall(second, `/api/v1/image/ratings/${ids[0]}`);
  expect(ratings.body.ratings).toEqual([{ username: expect.any(String), rating: 7, artifacts: 1 }]);
  const next = (await hordeCall(second, '/api/v1/rating/new')).body.id as string;
  expect(ids).not.toContain(next);
  expect(second.ratingsStats()).toMatchObject({ issued: 4, accepted: 2 });
});

test('restart() drops connections and comes back on the same port with the queue intact', async () => {
  const standin = await start({
    mixed: { models: ['stable_diffusion'], maxSize: 512, unsupportedShare: 0, unsupportedSamplerShare: 0, maxN: 1 },
  });
  standin.enqueueMixed(2, 'restart');
  const pop = await popAs(standin, hordeDeskPop());
  const id = (pop.body.ids as string[])[0] as string;
  const down = standin.restart(300);
  await expect(fetch(`${standin.url}/api/v2/status/heartbeat`)).rejects.toThrow();
  await down;
  const submit = await submitAs(standin, { id, generation: tinyWebpBytes().toString('base64'), state: 'ok', seed: 1 });
  expect(submit.status).toBe(200);
  expect(standin.job(id)?.state).toBe('done');
});

test('dropped connections: before the route nothing happens, after it the submit is booked but unanswered', async () => {
  const standin = await start({
    mixed: { models: ['stable_diffusion'], maxSize: 512, unsupportedShare: 0, unsupportedSamplerShare: 0, maxN: 1 },
  });
  standin.enqueueMixed(2, 'drops');
  const ids = [
    ...((await popAs(standin, hordeDeskPop())).body.ids as string[]),
    ...((await popAs(standin, hordeDeskPop())).body.ids as string[]),
  ];
  const [a, b] = ids as [string, string];
  const generation = tinyWebpBytes().toString('base64');
  standin.setFaults({ dropConnections: { count: 1 } });
  await expect(submitAs(standin, { id: a, generation, state: 'ok', seed: 1 })).rejects.toThrow();
  expect(standin.job(a)).toMatchObject({ state: 'processing', submitCount: 0 });
  standin.setFaults({ dropConnections: { count: 1, afterRoute: true } });
  await expect(submitAs(standin, { id: b, generation, state: 'ok', seed: 1 })).rejects.toThrow();
  expect(standin.job(b)).toMatchObject({ state: 'done', submitCount: 1 });
  // The retry of an unanswered submit is not a duplicate; a submit after an answer is.
  expect((await submitAs(standin, { id: b, generation, state: 'ok', seed: 1 })).body.rc).toBe('DuplicateGen');
  expect(standin.job(b)?.resubmitsAfterAnswer).toBe(0);
  await submitAs(standin, { id: b, generation, state: 'ok', seed: 1 });
  expect(standin.job(b)?.resubmitsAfterAnswer).toBe(1);
});

test('a slow submit that reaches the route after its own retry was answered is not a duplicate', async () => {
  const standin = await start({
    mixed: { models: ['stable_diffusion'], maxSize: 512, unsupportedShare: 0, unsupportedSamplerShare: 0, maxN: 1 },
  });
  standin.enqueueMixed(1, 'slow');
  const id = ((await popAs(standin, hordeDeskPop())).body.ids as string[])[0] as string;
  const generation = tinyWebpBytes().toString('base64');
  // The first submit waits 500 ms before the horde looks at it (the worker would have timed out).
  standin.setFaults({ slowMs: 500 });
  const first = submitAs(standin, { id, generation, state: 'ok', seed: 1 });
  await new Promise((r) => setTimeout(r, 50));
  standin.setFaults({ slowMs: 0 });
  // The worker's retry is booked and answered first; the original then meets DuplicateGen.
  expect((await submitAs(standin, { id, generation, state: 'ok', seed: 1 })).status).toBe(200);
  expect((await first).body.rc).toBe('DuplicateGen');
  expect(standin.job(id)).toMatchObject({ submitCount: 2, resubmitsAfterAnswer: 0 });
});
