import { afterEach, describe, expect, test } from 'vitest';
import { startStandin, STANDIN_KEYS, type StandinHandle } from '../../src-main/standin/server';
import { hordeCall, hordeDeskPop, manualClock, popAs, putUpload, submitAs, tinyWebpBytes } from '../helpers/standinKit';

// The stand-in as the real horde treats a worker's kudos (HORDE-PROTOCOL.md §2.5, §2.7 item 8,
// §3.1, §3.5): a moderator's pause feeds the worker fake jobs whose submits answer a reward that is
// never credited, and every credited figure is kept in whole kudos, rounded job by job.

const MODERATOR_KEY = 'Mod3ratorKeyForTests00';
let standin: StandinHandle;
afterEach(async () => {
  await standin?.close();
});

/** The recorded request (b64/04): 512×512, 20 steps, k_euler, cfg 7, worth 6.24 per image. */
const request = (n = 1) => ({
  prompt: 'a lighthouse on a cliff at sunset',
  params: { width: 512, height: 512, steps: 20, n, sampler_name: 'k_euler' as const, cfg_scale: 7 },
  models: ['stable_diffusion'],
  nsfw: false,
  r2: true,
});

async function start(opts: Parameters<typeof startStandin>[0] = {}): Promise<StandinHandle> {
  standin = await startStandin(opts);
  standin.users.add({ id: 9, apiKey: MODERATOR_KEY, moderator: true, publicWorkers: false, details: { username: 'mod#9', id: 9 } });
  return standin;
}

/** Pops once as HordeDesk (asking for up to 4 images), uploads and submits each id; returns the rewards. */
async function popAndDeliver(): Promise<{ ids: string[]; rewards: number[] }> {
  const pop = (await popAs(standin, hordeDeskPop({ amount: 4 }))).body;
  const ids = (pop.ids ?? []) as string[];
  const rewards: number[] = [];
  for (const [i, id] of ids.entries()) {
    await putUpload((pop.r2_uploads as string[])[i] as string, tinyWebpBytes());
    const seed = Number((pop.payload as { seed: string }).seed);
    rewards.push(Number((await submitAs(standin, { id, generation: 'R2', seed })).body.reward));
  }
  return { ids, rewards };
}

const record = (apikey?: string) => hordeCall(standin, '/api/v2/workers/name/HordeDesk Test Worker', apikey ? { apikey } : {});
const ownerKudos = async () => Number((await hordeCall(standin, '/api/v2/find_user', { apikey: STANDIN_KEYS.workerOwner })).body.kudos);

async function pause(on: boolean): Promise<void> {
  const id = String((await record()).body.id);
  const res = await hordeCall(standin, `/api/v2/workers/${id}`, { apikey: MODERATOR_KEY, method: 'PUT', body: { paused: on } });
  expect(res.body).toEqual({ paused: on });
}

describe('whole kudos, rounded job by job', () => {
  test("HordeDesk's 75 %: 6.24 announced is 4.68 credited, kept as 5 on the worker and the owner", async () => {
    await start();
    standin.enqueue(request(2));
    const before = await ownerKudos();
    const { rewards } = await popAndDeliver();
    expect(rewards).toEqual([6.24, 6.24]);
    expect((await record()).body).toMatchObject({
      requests_fulfilled: 2,
      kudos_details: { generated: 10, uptime: null },
      kudos_rewards: 10,
    });
    expect(await ownerKudos()).toBe(before + 10);
  });
});

describe("a moderator's pause", () => {
  test('fake jobs: one id per pop, a reward in the answer, nothing credited, the images left for others', async () => {
    await start();
    standin.enqueue(request());
    await popAndDeliver();
    await pause(true);
    const before = { record: (await record()).body, kudos: await ownerKudos() };
    const queued = standin.enqueue(request(3));

    const fake = await popAndDeliver();
    expect(fake.ids).toHaveLength(1);
    expect(fake.rewards).toEqual([6.24]);
    expect(standin.job(fake.ids[0] as string)).toMatchObject({ state: 'done', reward: 6.24 });
    // The horde credits nothing: the count, the kudos and the owner's balance stand still.
    expect((await record()).body).toEqual(before.record);
    expect(await ownerKudos()).toBe(before.kudos);
    // The requester's three images still wait, and the tricked worker is never offered them again.
    expect(standin.queue().find((r) => r.id === queued.id)).toMatchObject({ waiting: 3, done: 0 });
    const again = (await popAs(standin, hordeDeskPop({ amount: 4 }))).body;
    expect(again.id).toBeNull();
    expect(Object.values(again.skipped as Record<string, number>).every((count) => count === 0)).toBe(true);
  });

  test('only a moderator sees `paused`; lifting it brings real jobs and credits back', async () => {
    await start();
    standin.enqueue(request());
    await popAndDeliver();
    await pause(true);
    expect((await record()).body).not.toHaveProperty('paused');
    expect((await record(STANDIN_KEYS.workerOwner)).body).not.toHaveProperty('paused');
    expect((await record(MODERATOR_KEY)).body).toMatchObject({ paused: true });
    await pause(false);
    standin.enqueue(request());
    expect((await popAndDeliver()).rewards).toEqual([6.24]);
    expect((await record()).body).toMatchObject({ requests_fulfilled: 2, kudos_details: { generated: 10 } });
  });

  test("the owner's own requests are served for real while paused", async () => {
    await start();
    standin.enqueue(request());
    await popAndDeliver();
    await pause(true);
    standin.enqueue(request(), { apikey: STANDIN_KEYS.workerOwner });
    expect((await popAndDeliver()).ids).toHaveLength(1);
    expect((await record()).body).toMatchObject({ requests_fulfilled: 2 });
  });

  test('a paused worker earns no uptime', async () => {
    const clock = manualClock();
    await start({ jobs: { now: clock.now, sweepIntervalMs: 0 } });
    await popAs(standin, hordeDeskPop());
    await pause(true);
    for (let i = 0; i < 12; i += 1) {
      clock.advance(60);
      await popAs(standin, hordeDeskPop());
    }
    expect((await record()).body).toMatchObject({ kudos_details: { uptime: null } });
    await pause(false);
    for (let i = 0; i < 12; i += 1) {
      clock.advance(60);
      await popAs(standin, hordeDeskPop());
    }
    expect((await record()).body).toMatchObject({ kudos_details: { uptime: 52 } });
  });
});
