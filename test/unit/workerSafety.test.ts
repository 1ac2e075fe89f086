import { describe, expect, test } from 'vitest';
import { genMetadataSchema, submitRequestSchema } from '../../src-main/common/horde';
import { silentLogger } from '../../src-main/core/log';
import type { SafetyImage } from '../../src-main/core/safety/checker';
import { createDelivery, type Delivered } from '../../src-main/core/worker/delivery';
import { HordeWorker } from '../../src-main/core/worker/hordeWorker';
import { deliveryPlan } from '../../src-main/core/worker/deliverImage';
import { TXT2IMG_FIELDS } from '../../src-main/common/inference';
import type { HordeJob } from '../../src-main/core/worker/job';
import { checkUntil, mergeMetadata } from '../../src-main/core/worker/jobSafety';
import { placeholderImage } from '../../src-main/core/worker/placeholder';
import type { JobRecord, RawImage, SubmitBody, WorkerDeps, WorkerSafetyPort } from '../../src-main/core/worker/ports';
import { fakeSafety, HOT_WORDS, scoresFor, type FakeAnswer, type FakeSafety } from '../helpers/safety';
import { virtualClock, type VirtualClock } from '../helpers/virtualClock';
import { until } from '../helpers/worker';

// The worker's side of the safety check (issue 13 item 5): every generated image goes through the
// SimilarityPort before delivery, and is submitted as the reference worker submits it
// (horde-worker-reGen process_manager.py `_handle_safety_result`, `submit_single_generation`):
// the job's state, the obsolete `censored` flag, gen_metadata (the engine's notes, the safety
// entry, batch_index), and the placeholder instead of a censored image. The fake port answers with
// scores built from core/safety's own tables.

const START = 1_700_000_000_000;
const TTL_MS = 150_000;

function job(overrides: Partial<HordeJob> = {}): HordeJob {
  const n = overrides.ids?.length ?? 1;
  return {
    ids: ['id-1'],
    r2Uploads: Array.from({ length: n }, (_, i) => `https://r2.example/id-${i + 1}.webp?sig=x`),
    model: 'Deliberate',
    samplerName: 'k_euler',
    ttlSeconds: TTL_MS / 1000,
    receivedAt: START,
    deadlineAt: START + TTL_MS,
    seed: 7,
    params: {
      prompt: 'a portrait###blurry',
      sampler_name: 'k_euler',
      karras: true,
      steps: 20,
      cfg_scale: 7,
      width: 64,
      height: 64,
      seed: 7,
      clip_skip: 1,
      n,
      ...TXT2IMG_FIELDS,
    },
    unsupported: [],
    nsfwCensor: false,
    workerNsfw: true,
    ...overrides,
  };
}

/** A generated image whose first byte names it, so a test can tell it from a placeholder. */
function generated(marker: number, changes?: string[]): RawImage {
  const rgb = new Uint8Array(64 * 64 * 3).fill(marker);
  return { width: 64, height: 64, seed: 7, rgb: rgb.buffer, ...(changes && { changes }) };
}

interface Harness {
  deps: WorkerDeps;
  clock: VirtualClock;
  submits: SubmitBody[];
  /** Every image handed to the WebP encoder: what would leave the machine. */
  encoded: RawImage[];
  log: JobRecord[];
  delivered: Delivered[];
  modelsAsked: string[];
}

function harness(safety: WorkerSafetyPort, modelInfo: { nsfw: boolean; tags: string[] } | null = null): Harness {
  const clock = virtualClock(START);
  const h: Omit<Harness, 'deps'> = { clock, submits: [], encoded: [], log: [], delivered: [], modelsAsked: [] };
  const deps = {
    clock,
    log: silentLogger(),
    safety,
    modelSafetyInfo: async (model: string) => (h.modelsAsked.push(model), modelInfo),
    delivery: {
      encodeWebp: async (image: RawImage) => (h.encoded.push(image), new Uint8Array([1, 2, 3])),
      base64: () => 'AQID',
      upload: async () => undefined,
    },
    horde: {
      pop: async () => ({}),
      submit: async (body: SubmitBody) => (h.submits.push(body), { reward: body.state === 'faulted' ? 0 : 4 }),
    },
    ledger: { record: () => ({ inserted: true }), sumSince: () => [], creditHold: () => null },
    jobLog: { record: (row: JobRecord) => void h.log.push(row) },
  } as unknown as WorkerDeps;
  return { ...h, deps };
}

async function deliver(h: Harness, j: HordeJob, images: RawImage[]): Promise<void> {
  const delivery = createDelivery(h.deps, { onDelivered: (d) => void h.delivered.push(d) });
  delivery.deliver(j, images, 1_000);
  await delivery.drain();
}

const firstByte = (image: SafetyImage): number => new Uint8Array(image.rgb)[0] ?? 0;
/** A port that answers by the image's marker byte. */
const byMarker = (answers: Record<number, FakeAnswer>) => fakeSafety((image) => answers[firstByte(image)] ?? 'clean');
const sameImage = (a: RawImage, b: { width: number; height: number; rgb: ArrayBuffer }) =>
  a.width === b.width && a.height === b.height && Buffer.from(a.rgb).equals(Buffer.from(b.rgb));

describe('one image, as the reference worker submits it', () => {
  test('clean: sent as made, state ok, the censored flag false, no safety entry', async () => {
    const h = harness(byMarker({}));
    await deliver(h, job(), [generated(1)]);
    expect(h.submits).toEqual([{ id: 'id-1', generation: 'R2', state: 'ok', censored: false, seed: 7 }]);
    expect(h.encoded.map((image) => firstByte(image))).toEqual([1]);
    expect(h.log).toMatchObject([{ state: 'ok', censorship: null }]);
  });

  test('NSFW on a request with use_nsfw_censor: the "SFW request" placeholder, state censored, censorship/nsfw', async () => {
    const h = harness(byMarker({ 1: 'nsfw' }));
    await deliver(h, job({ nsfwCensor: true, workerNsfw: true }), [generated(1)]);
    expect(h.submits).toEqual([
      { id: 'id-1', generation: 'R2', state: 'censored', censored: true, seed: 7, gen_metadata: [{ type: 'censorship', value: 'nsfw' }] },
    ]);
    expect(h.encoded).toHaveLength(1);
    expect(sameImage(h.encoded[0] as RawImage, placeholderImage('sfw_request', 64, 64))).toBe(true);
    expect(h.log).toMatchObject([{ state: 'ok', censorship: 'nsfw', reward: 3 }]);
    expect(h.delivered).toMatchObject([{ state: 'ok', censorship: 'nsfw' }]);
  });

  test('NSFW on a worker whose own NSFW setting is off: the "SFW worker" placeholder', async () => {
    const h = harness(byMarker({ 1: 'nsfw' }));
    await deliver(h, job({ nsfwCensor: false, workerNsfw: false }), [generated(1)]);
    expect(h.submits).toMatchObject([{ state: 'censored', censored: true, gen_metadata: [{ type: 'censorship', value: 'nsfw' }] }]);
    expect(sameImage(h.encoded[0] as RawImage, placeholderImage('sfw_worker', 64, 64))).toBe(true);
  });

  test('NSFW allowed (NSFW worker, no censor asked): sent as made, state ok, marked information/nsfw', async () => {
    const h = harness(byMarker({ 1: 'nsfw' }));
    await deliver(h, job({ nsfwCensor: false, workerNsfw: true }), [generated(1)]);
    expect(h.submits).toEqual([
      { id: 'id-1', generation: 'R2', state: 'ok', censored: false, seed: 7, gen_metadata: [{ type: 'information', value: 'nsfw' }] },
    ]);
    expect(h.encoded.map((image) => firstByte(image))).toEqual([1]);
    expect(h.log).toMatchObject([{ censorship: null }]);
  });

  test('CSAM, even on an NSFW worker: the CSAM placeholder, state csam, censorship/csam; the image never reaches the encoder', async () => {
    const h = harness(byMarker({ 1: 'csam' }));
    await deliver(h, job({ workerNsfw: true }), [generated(1)]);
    expect(h.submits).toEqual([
      { id: 'id-1', generation: 'R2', state: 'csam', censored: true, seed: 7, gen_metadata: [{ type: 'censorship', value: 'csam' }] },
    ]);
    expect(h.encoded).toHaveLength(1);
    expect(sameImage(h.encoded[0] as RawImage, placeholderImage('csam', 64, 64))).toBe(true);
    expect(h.log).toMatchObject([{ state: 'ok', censorship: 'csam' }]);
    expect(h.delivered).toMatchObject([{ censorship: 'csam' }]);
  });

  test('every body is one the horde accepts', async () => {
    for (const answer of ['clean', 'nsfw', 'csam'] as const) {
      const h = harness(byMarker({ 1: answer }));
      await deliver(h, job({ nsfwCensor: true }), [generated(1, ['clip_skip 2 was lowered to 1.'])]);
      for (const body of h.submits) expect(submitRequestSchema.safeParse(body).success).toBe(true);
    }
  });
});

describe('a batch', () => {
  test('one censored image makes the state of every image "censored"; notes, safety entry and batch_index in the reference order', async () => {
    const h = harness(byMarker({ 1: 'nsfw' }));
    const note = 'clip_skip 2 was asked for; used clip_skip 1.';
    await deliver(h, job({ ids: ['id-1', 'id-2'], nsfwCensor: true }), [generated(1, [note]), generated(2, [note])]);
    const seeRef = { type: 'information', value: 'see_ref', ref: note };
    expect(h.submits).toEqual([
      {
        id: 'id-1',
        generation: 'R2',
        state: 'censored',
        censored: true,
        seed: 7,
        gen_metadata: [seeRef, { type: 'censorship', value: 'nsfw' }, { type: 'batch_index', value: 'see_ref', ref: '0' }],
      },
      {
        id: 'id-2',
        generation: 'R2',
        state: 'censored',
        censored: true,
        seed: 7,
        gen_metadata: [seeRef, { type: 'batch_index', value: 'see_ref', ref: '1' }],
      },
    ]);
    // The censored one went out as the placeholder, the clean one as made.
    expect(sameImage(h.encoded[0] as RawImage, placeholderImage('sfw_request', 64, 64))).toBe(true);
    expect(firstByte(h.encoded[1] as RawImage)).toBe(2);
  });

  test('csam outranks censored for the whole batch', async () => {
    const h = harness(byMarker({ 1: 'nsfw', 2: 'csam' }));
    await deliver(h, job({ ids: ['id-1', 'id-2'], nsfwCensor: true }), [generated(1), generated(2)]);
    expect(h.submits.map((s) => [s.state, s.censored])).toEqual([
      ['csam', true],
      ['csam', true],
    ]);
    expect(h.log).toMatchObject([{ censorship: 'csam' }]);
  });

  test('past 50 entries the engine notes give way, never the safety entry or batch_index', () => {
    const notes = Array.from({ length: 60 }, (_, i) => ({ type: 'information', value: 'see_ref', ref: `note ${i}` }));
    const merged = mergeMetadata(notes, [{ type: 'censorship', value: 'csam' }], 3, 4);
    expect(merged).toHaveLength(50);
    expect(merged.slice(-2)).toEqual([
      { type: 'censorship', value: 'csam' },
      { type: 'batch_index', value: 'see_ref', ref: '3' },
    ]);
    for (const entry of merged) expect(genMetadataSchema.safeParse(entry).success).toBe(true);
  });
});

describe('a check that fails faults the job: nothing unchecked is sent', () => {
  test('the model fails on one image: every id is submitted faulted, no image is encoded', async () => {
    const h = harness(byMarker({ 2: new Error('the safety worker thread died') }));
    await deliver(h, job({ ids: ['id-1', 'id-2'] }), [generated(1), generated(2)]);
    expect(h.submits).toEqual([
      { id: 'id-1', generation: 'faulted', state: 'faulted', seed: 7 },
      { id: 'id-2', generation: 'faulted', state: 'faulted', seed: 7 },
    ]);
    expect(h.encoded).toEqual([]);
    expect(h.log).toMatchObject([{ state: 'faulted', reason: 'the safety check failed: the safety worker thread died', censorship: null }]);
  });

  test('a check that does not finish counts in the ttl: at its bound the job is faulted, with the fault reserve still ahead', async () => {
    const h = harness(fakeSafety(() => new Promise<FakeAnswer>(() => undefined)));
    const delivery = createDelivery(h.deps, { onDelivered: () => undefined });
    delivery.deliver(job(), [generated(1)], 1_000);
    await new Promise((resolve) => setImmediate(resolve));
    const bound = checkUntil(deliveryPlan(START + TTL_MS));
    h.clock.advance(bound - START - 1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(h.submits).toEqual([]);
    h.clock.advance(1);
    await delivery.drain();
    expect(h.clock.now()).toBe(bound);
    expect(h.submits).toEqual([{ id: 'id-1', generation: 'faulted', state: 'faulted', seed: 7 }]);
    expect(h.encoded).toEqual([]);
    expect(START + TTL_MS - bound).toBeGreaterThan(10_000);
  });
});

describe('what the check is told', () => {
  // check_for_csam reads the model entry: an NSFW model (or one the reference lacks) raises the lewd words.
  const borderline = { child: 0.19, children: 0.19, tween: 0.19, naked: 0.18 };
  const port = () => fakeSafety(() => 'clean');
  const withScores = (hot: Record<string, number>): WorkerSafetyPort => ({
    ...port(),
    similarities: async (_image, texts) => new Map(texts.map((t) => [t, hot[t] ?? 0.15])),
  });

  test.each([
    ['an SFW model', { nsfw: false, tags: [] }, 'ok'],
    ['an NSFW model', { nsfw: true, tags: [] }, 'csam'],
    ['a model the reference lacks', null, 'csam'],
  ] as const)('the model reference entry of the job’s model reaches the rules: %s', async (_name, info, state) => {
    const h = harness(withScores(borderline), info ? { ...info, tags: [...info.tags] } : null);
    await deliver(h, job(), [generated(1)]);
    expect(h.modelsAsked).toEqual(['Deliberate']);
    expect(h.submits.map((s) => s.state)).toEqual([state]);
  });

  /** The state the same scores get under each prompt. */
  async function statesFor(hot: Record<string, number>, prompts: string[]): Promise<(string | undefined)[]> {
    const states: (string | undefined)[] = [];
    for (const prompt of prompts) {
      const h = harness(withScores(hot));
      await deliver(h, job({ params: { ...job().params, prompt } }), [generated(1)]);
      states.push(h.submits[0]?.state);
    }
    return states;
  }

  test('the prompt reaches the rules: "woman" in it lowers check_for_csam’s underage scores', async () => {
    const hot = { child: 0.195, tween: 0.195, infant: 0.195, porn: 0.21 };
    expect(await statesFor(hot, ['a portrait', 'a woman'])).toEqual(['csam', 'ok']);
  });

  test('the negative prompt (after ###) reaches the rules: "adult" there raises the underage scores', async () => {
    const hot = { child: 0.185, children: 0.185, tween: 0.185, porn: 0.21 };
    expect(await statesFor(hot, ['a portrait###blurry', 'a portrait###adult'])).toEqual(['ok', 'csam']);
  });

  test('the scores the fake port gives are the tables’ own: each verdict is over its thresholds by a hair', () => {
    expect(Object.keys(HOT_WORDS.nsfw)).toEqual(['woman', 'nude']);
    expect(scoresFor('csam').get('child')).toBeGreaterThan(0.2);
  });
});

describe('no check, no work (item 6): the worker pops only with the safety model loaded', () => {
  function gatedWorker(safety: FakeSafety) {
    const clock = virtualClock(START);
    const pops: unknown[] = [];
    const deps = {
      ...harness(safety).deps,
      clock,
      generator: { readyModels: () => ['Deliberate'], generate: async () => [], cancel: () => undefined },
      horde: { pop: async (body: unknown) => (pops.push(body), { ids: [], skipped: {} }), submit: async () => ({ reward: 0 }) },
      popBody: (models: string[]) => ({ name: 'w', models, nsfw: false }),
      maxPixels: () => 262144,
    } as unknown as WorkerDeps;
    const worker = new HordeWorker(deps, () => undefined);
    return { worker, pops };
  }
  const settle = async (rounds = 5): Promise<void> => {
    for (let i = 0; i < rounds; i += 1) await new Promise((resolve) => setImmediate(resolve));
  };

  test('a missing model: Start is refused with the reason and the install offered; nothing is popped', async () => {
    const safety = fakeSafety();
    safety.setStatus({ state: 'missing', reason: 'not installed' });
    const { worker, pops } = gatedWorker(safety);
    expect(() => worker.start()).toThrow(/Install the safety model before working/);
    expect(worker.status()).toMatchObject({ state: 'stopped', safety: { state: 'missing', action: 'install' } });
    await settle();
    expect(pops).toEqual([]);
  });

  test('an installed model still loading: the first pop waits for it, and the status says so meanwhile', async () => {
    let loaded = (): void => undefined;
    const safety = fakeSafety();
    safety.setStatus({ state: 'loading', reason: 'loading' });
    safety.ensureLoaded = () =>
      new Promise<void>((resolve) => {
        loaded = () => {
          safety.setStatus({ state: 'ready', reason: 'ready' });
          resolve();
        };
      });
    const { worker, pops } = gatedWorker(safety);
    worker.start();
    await settle();
    expect(pops).toEqual([]);
    expect(worker.status()).toMatchObject({ state: 'running', safety: { state: 'loading', action: null } });
    loaded();
    await until(() => pops.length > 0);
    expect(worker.status().safety).toBeNull();
    worker.pause();
    await worker.whenIdle();
  });

  test('a model that will not load: no pop, the worker stops in error with the reason; Start tries again', async () => {
    const safety = fakeSafety();
    safety.setStatus({ state: 'failed', reason: 'the ONNX file is damaged' });
    const { worker, pops } = gatedWorker(safety);
    worker.start();
    await worker.whenIdle();
    expect(pops).toEqual([]);
    expect(worker.status()).toMatchObject({ state: 'error', message: expect.stringContaining('the ONNX file is damaged') });
    safety.setStatus({ state: 'loading', reason: 'loading' });
    worker.start();
    await until(() => pops.length > 0);
    expect(safety.loads).toBe(2);
    worker.pause();
    await worker.whenIdle();
  });
});

describe("HordeDesk's placeholder cards", () => {
  const pixel = (image: { width: number; rgb: ArrayBuffer }, x: number, y: number): number[] => [
    ...new Uint8Array(image.rgb, (y * image.width + x) * 3, 3),
  ];
  const lit = (image: { rgb: ArrayBuffer }): number => new Uint8Array(image.rgb).filter((v) => v > 200).length;

  test('one card per reason, at the size asked, the same pixels every time', () => {
    for (const [w, h] of [
      [64, 64],
      [512, 768],
      [1024, 1024],
    ]) {
      const csam = placeholderImage('csam', w as number, h as number);
      expect(csam.rgb.byteLength).toBe((w as number) * (h as number) * 3);
      expect(Buffer.from(csam.rgb).equals(Buffer.from(placeholderImage('csam', w as number, h as number).rgb))).toBe(true);
      expect(Buffer.from(csam.rgb).equals(Buffer.from(placeholderImage('sfw_request', w as number, h as number).rgb))).toBe(false);
    }
  });

  test('a red frame for CSAM, amber for NSFW, a dark field with light words inside', () => {
    const csam = placeholderImage('csam', 512, 512);
    const nsfw = placeholderImage('sfw_worker', 512, 512);
    expect(pixel(csam, 0, 0)).toEqual([200, 40, 40]);
    expect(pixel(nsfw, 0, 0)).toEqual([224, 160, 32]);
    expect(pixel(csam, 30, 30)).toEqual([22, 22, 26]);
    // The reason is written: far more light pixels than "CENSORED" alone at the same size draws on a tiny card.
    expect(lit(csam)).toBeGreaterThan(lit(placeholderImage('csam', 64, 64)) * 4);
  });

  test('a card too small for the reason still says CENSORED', () => {
    expect(lit(placeholderImage('sfw_request', 64, 64))).toBeGreaterThan(0);
  });
});
