import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { RequestedLora } from '../../src-main/core/lora/request';
import { getJson, METADATA_RETRY_MS } from '../../src-main/core/lora/resolve';
import { HttpTransportError } from '../../src-main/core/horde/http';
import { silentLogger } from '../../src-main/core/log';
import { createAddonService, type AddonService, type AddonSettings } from '../../src-main/node/lora/addonService';
import { tinyEmbeddingBytes, tinyLoraBytes } from '../../src-main/node/lora/tinyAddons';
import { writeTinyModel } from '../../src-main/node/models/tinyModel';
import { createNodeHttp } from '../../src-main/node/system/http';
import { startFakeCivitai, type FakeCivitai } from '../../src-main/standin/civitai';

// The LoRA fetcher (node/lora/addonService.ts) against the fake CivitAI: CivitAI's answers and the reference
// worker's rules decide what is downloaded; the file is checked against the SHA256 CivitAI publishes and against
// the model; the cache keeps within its budget, least recently used first, never removing a file a job uses; a
// lookup is trusted for a day and a known file is used when CivitAI cannot be asked; a cancel stops the fetch.
// Facts: /work/notes/lora-fetch-facts.md.

const root = mkdtempSync(join(tmpdir(), 'hd-lora-fetch-'));
let civitai: FakeCivitai;
let modelDir: string;
const lora = tinyLoraBytes(1);

const L = (name: string, more: Partial<RequestedLora> = {}): RequestedLora => ({ name, model: 1, clip: 1, is_version: false, ...more });

beforeAll(async () => {
  modelDir = await writeTinyModel(join(root, 'models'));
  civitai = await startFakeCivitai([
    { kind: 'lora', modelId: 10, versionId: 110, name: 'Runes', file: lora, triggers: ['runes'] },
    { kind: 'lora', modelId: 20, versionId: 120, name: 'Spicy', file: tinyLoraBytes(2), nsfw: true },
    { kind: 'lora', modelId: 30, versionId: 130, name: 'No Hash', file: tinyLoraBytes(3), noSha256: true },
    { kind: 'lora', modelId: 40, versionId: 140, name: 'Huge', file: tinyLoraBytes(4), sizeKB: 401 * 1024 },
    { kind: 'lora', modelId: 50, versionId: 150, name: 'Not A Lora', file: Buffer.from('not safetensors at all') },
    { kind: 'lora', modelId: 60, versionId: 160, name: 'Second', file: tinyLoraBytes(6) },
    { kind: 'ti', modelId: 70, versionId: 170, name: 'Fast Negative', file: tinyEmbeddingBytes(7) },
  ]);
}, 120_000);

afterAll(async () => {
  await civitai?.close();
  rmSync(root, { recursive: true, force: true });
});

function service(dir: string, settings: Partial<AddonSettings> = {}, opts: { now?: () => number; url?: string } = {}): AddonService {
  return createAddonService({
    dir,
    http: createNodeHttp(),
    clientAgent: 'HordeDesk:test:https://example.org',
    settings: () => ({
      loras: true,
      cacheBytes: 1e9,
      civitaiUrl: opts.url ?? civitai.url,
      hordelingUrl: civitai.hordelingUrl,
      ...settings,
    }),
    token: () => null,
    modelDir: (model) => (model === 'tiny' ? modelDir : null),
    log: silentLogger(),
    sleep: async () => undefined,
    downloadRetries: 0,
    ...(opts.now ? { now: opts.now } : {}),
  });
}

const fetchFor = (
  s: AddonService,
  jobId: string,
  loras: RequestedLora[],
  tis: { name: string; strength: number }[] = [],
  workerNsfw = false,
) => s.fetch(jobId, { loras, tis, model: 'tiny', workerNsfw, family: 'sd1' });

describe('fetching LoRAs and embeddings from CivitAI', () => {
  test('by id, by version id and by name; the file is the one CivitAI lists, checked against its SHA256; the TI through the Hordeling', async () => {
    const s = service(join(root, 'by'));
    const got = await fetchFor(s, 'j1', [L('10'), L('160', { is_version: true }), L('runes')], [{ name: '70', strength: 1 }]);
    expect(got.notes).toEqual([]);
    expect(got.loras.map((l) => [l.index, l.versionId, l.name, l.triggers])).toEqual([
      [0, 110, 'Runes', ['runes']],
      [1, 160, 'Second', []],
      [2, 110, 'Runes', ['runes']],
    ]);
    expect(readFileSync(got.loras[0]?.path ?? '').equals(lora)).toBe(true);
    expect(got.tis.map((t) => [t.id, t.name])).toEqual([[70, 'Fast Negative']]);
    expect(civitai.requests.some((r) => r.path === '/hordeling/api/v1/embedding/70')).toBe(true);
  });

  test('left out as the reference leaves them out, each with the horde’s reason code', async () => {
    const s = service(join(root, 'refused'));
    const got = await fetchFor(s, 'j2', [L('20'), L('30'), L('40'), L('999'), L('runes', { is_version: true }), L('50')]);
    expect(got.loras).toEqual([]);
    expect(got.notes).toEqual([
      { type: 'lora', value: 'download_failed', ref: '20' },
      { type: 'lora', value: 'download_failed', ref: '30' },
      { type: 'lora', value: 'download_failed', ref: '40' },
      { type: 'lora', value: 'download_failed', ref: '999' },
      { type: 'lora', value: 'download_failed', ref: 'runes' },
      // Downloaded (its SHA256 matched) but not a LoRA this model can take.
      { type: 'lora', value: 'parse_failed', ref: '50' },
    ]);
    // An NSFW worker may have the NSFW one.
    expect((await fetchFor(s, 'j3', [L('20')], [], true)).loras.map((l) => l.versionId)).toEqual([120]);
  });

  test('a lookup is trusted for a day; after that CivitAI is asked again, and a file it has is used when CivitAI is down', async () => {
    let now = 1_700_000_000_000;
    const dir = join(root, 'fresh');
    const s = service(dir, {}, { now: () => now });
    await fetchFor(s, 'a', [L('10')]);
    const asked = () => civitai.requests.filter((r) => r.path === '/api/v1/models/10').length;
    const before = asked();
    await fetchFor(s, 'b', [L('10')]);
    expect(asked()).toBe(before);
    now += 25 * 3600_000;
    await fetchFor(s, 'c', [L('10')]);
    expect(asked()).toBe(before + 1);
    now += 25 * 3600_000;
    // CivitAI unreachable (a closed port): the file the cache has is used.
    const down = service(dir, {}, { now: () => now, url: 'http://127.0.0.1:9' });
    const got = await fetchFor(down, 'd', [L('10')]);
    expect(got.loras.map((l) => l.versionId)).toEqual([110]);
  });

  test('the cache keeps within its budget, least recently used first, and never removes a file a job is using', async () => {
    const dir = join(root, 'budget');
    let now = 1_700_000_000_000;
    const budget = Math.floor(lora.length * 1.5);
    const s = service(dir, { cacheBytes: budget }, { now: () => (now += 1000) });
    const first = await fetchFor(s, 'first', [L('10')]);
    s.release('first');
    await fetchFor(s, 'second', [L('60')]);
    // The first made room for the second (one file fits the budget).
    expect(s.store.file('lora-110')).toBeNull();
    expect(() => readFileSync(first.loras[0]?.path ?? '')).toThrow();
    expect(s.store.file('lora-160')).not.toBeNull();
    // While 'second' holds its file, a third job's download cannot remove it: both stay (over budget for now).
    const third = await fetchFor(s, 'third', [L('10')]);
    expect(s.store.file('lora-160')).not.toBeNull();
    expect(readFileSync(third.loras[0]?.path ?? '').equals(lora)).toBe(true);
    // As soon as a job is done with its file, the cache comes back within its budget: the least recently used
    // file no job holds goes, the one 'third' still uses stays.
    s.release('second');
    expect(s.store.file('lora-160')).toBeNull();
    expect(s.store.file('lora-110')).not.toBeNull();
    expect(s.store.usedBytes()).toBeLessThanOrEqual(budget);
    s.release('third');
    expect(s.store.count()).toBe(1);
  });

  test('a damaged cache index is started over; a changed file is fetched again', async () => {
    const dir = join(root, 'damaged');
    const s = service(dir);
    const got = await fetchFor(s, 'x', [L('10')]);
    writeFileSync(got.loras[0]?.path ?? '', 'tampered');
    const again = await fetchFor(service(dir), 'y', [L('10')]);
    expect(readFileSync(again.loras[0]?.path ?? '').equals(lora)).toBe(true);
    writeFileSync(join(dir, 'index.json'), '{ not json');
    expect((await fetchFor(service(dir), 'z', [L('10')])).loras).toHaveLength(1);
  });

  test('the reference’s patience with CivitAI: 404 at once, a 500 counts three tries, no answer five', async () => {
    const sleeps: number[] = [];
    const calls: string[] = [];
    const ctx = (statuses: (number | 'none')[]) => ({
      http: {
        request: async (req: { url: string }) => {
          calls.push(req.url);
          const status = statuses.shift() ?? 200;
          if (status === 'none') throw new HttpTransportError('timeout', 'No answer');
          return { status, headers: {}, body: '{"ok":true}' };
        },
      },
      civitaiUrl: 'x',
      hordelingUrl: 'y',
      clientAgent: 'a',
      sleep: async (ms: number) => void sleeps.push(ms),
      cancelled: () => false,
    });
    expect(await getJson(ctx([404]), 'u')).toEqual({ ok: false, why: 'not found (404)' });
    expect(calls).toHaveLength(1);
    calls.length = 0;
    // 500, 500, 500: 4 + 4 + 4 > 10 → three tries, then none.
    expect((await getJson(ctx([500, 500, 500, 500]), 'u')).ok).toBe(false);
    expect(calls).toHaveLength(3);
    calls.length = 0;
    // No answer twice: 6 + 6 > 10.
    expect((await getJson(ctx(['none', 'none']), 'u')).ok).toBe(false);
    expect(calls).toHaveLength(2);
    calls.length = 0;
    expect(await getJson(ctx([503, 200]), 'u')).toEqual({ ok: true, value: { ok: true } });
    expect(sleeps.every((ms) => ms === METADATA_RETRY_MS)).toBe(true);
  });

  test('a cancel stops a download that never ends', async () => {
    civitai.add({ kind: 'lora', modelId: 80, versionId: 180, name: 'Slow', file: tinyLoraBytes(8) });
    civitai.stall(180);
    const s = service(join(root, 'cancel'));
    const fetching = fetchFor(s, 'slow', [L('80')]);
    const started = () => civitai.requests.some((r) => r.path === '/api/download/models/180');
    while (!started()) await new Promise((resolve) => setTimeout(resolve, 10));
    s.cancel('slow');
    await expect(fetching).rejects.toThrow();
    expect(s.store.file('lora-180')).toBeNull();
  });
});
