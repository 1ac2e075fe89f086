import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { civitaiModelSchema, civitaiSearchSchema, civitaiVersionSchema, hordelingEmbeddingSchema } from '../../src-main/core/lora/civitai';
import { startFakeCivitai, type FakeCivitai } from '../../src-main/standin/civitai';
import { demoMixed } from '../../src-main/standin/demoFeed';
import { mixedRequests } from '../../src-main/standin/mixed';

// The stand-in's LoRA and textual-inversion requests (mixed.ts: a share drawn only when asked, so existing seeds
// keep their mixes) and its fake CivitAI (civitai.ts): answers in the shapes CivitAI's API documents, which the
// worker's own schemas (core/lora/civitai.ts) read, downloads that carry the published SHA256's bytes, a token
// required for downloads when set, and the AI Hordeling's embedding address.

describe('LoRA and TI requests in the mixes', () => {
  test('the mixes stay what they were unless LoRAs or TIs are asked for; then a share names them as requesters do', () => {
    const plain = mixedRequests(80, 5);
    expect(mixedRequests(80, 5, { loraShare: 0, tiShare: 0 })).toEqual(plain);
    const mixed = mixedRequests(80, 5, {
      models: ['sd', 'xl'],
      loraShare: 0.5,
      loras: [{ name: '247778' }, { name: '301002', is_version: true }],
      tiShare: 0.3,
      tis: ['7808'],
      addonModels: ['sd'],
    });
    // The unsupported share's LoRA (name 247778, any model) is drawn as before; the new ones name the pool, on 'sd'.
    const drawn = mixed.filter((b) => b.params?.loras && b.params.loras.some((l) => l.name === '301002' || l.clip !== undefined));
    expect(drawn.length).toBeGreaterThan(20);
    for (const body of drawn) {
      expect(body.models).toEqual(['sd']);
      expect(body.params?.loras?.length).toBeLessThanOrEqual(2);
      for (const lora of body.params?.loras ?? []) {
        expect(['247778', '301002']).toContain(lora.name);
        expect(lora.model).toBeGreaterThanOrEqual(0.5);
        expect(lora.model).toBeLessThanOrEqual(1.5);
        if (lora.name === '301002') expect(lora.is_version).toBe(true);
      }
    }
    const withTi = mixed.filter((b) => b.params?.tis);
    expect(withTi.length).toBeGreaterThan(10);
    expect(
      withTi.every((b) => b.params?.tis?.[0]?.name === '7808' && ['prompt', 'negprompt'].includes(String(b.params.tis[0]?.inject_ti))),
    ).toBe(true);
    expect(demoMixed(['m'])).not.toHaveProperty('loraShare');
    expect(demoMixed(['m'], [], { loras: [{ name: '1' }], tis: ['2'], models: ['m'] })).toMatchObject({
      loraShare: 0.2,
      tiShare: 0.1,
      addonModels: ['m'],
    });
  });
});

describe('the fake CivitAI', () => {
  let civitai: FakeCivitai;
  const file = Buffer.from('tiny lora bytes');
  const sha = createHash('sha256').update(file).digest('hex');
  beforeAll(async () => {
    civitai = await startFakeCivitai(
      [
        { kind: 'lora', modelId: 11, versionId: 12, name: 'Glow', file, triggers: ['glow'] },
        { kind: 'ti', modelId: 21, versionId: 22, name: 'Neg', file },
      ],
      { requireToken: 'tok-1234567890abcdef' },
    );
  });
  afterAll(() => civitai.close());

  const get = async (path: string) => {
    const res = await fetch(`${civitai.url}${path}`);
    return { status: res.status, json: res.headers.get('content-type')?.includes('json') ? ((await res.json()) as unknown) : null };
  };

  test('answers as CivitAI documents them, read by the worker’s own schemas', async () => {
    const model = civitaiModelSchema.parse((await get('/api/v1/models/11')).json);
    expect(model).toMatchObject({ id: 11, name: 'Glow', nsfw: false });
    expect(model.modelVersions?.[0]?.files?.[0]).toMatchObject({ primary: true, hashes: { SHA256: sha.toUpperCase() } });
    const version = civitaiVersionSchema.parse((await get('/api/v1/model-versions/12')).json);
    expect(version).toMatchObject({ id: 12, modelId: 11, baseModel: 'SD 1.5', trainedWords: ['glow'] });
    const search = civitaiSearchSchema.parse((await get('/api/v1/models?types=LORA&query=gl&nsfw=false')).json);
    expect(search.items.map((i) => i.id)).toEqual([11]);
    expect((await get('/api/v1/models/99')).status).toBe(404);
    const hordeling = hordelingEmbeddingSchema.parse((await get('/hordeling/api/v1/embedding/21')).json);
    expect(hordeling.sha256).toBe(sha);
    expect(Buffer.from(await (await fetch(hordeling.url)).arrayBuffer()).equals(file)).toBe(true);
  });

  test('downloads need the token when one is required, and then carry the bytes CivitAI’s SHA256 names', async () => {
    expect((await fetch(`${civitai.url}/api/download/models/12`)).status).toBe(401);
    const res = await fetch(`${civitai.url}/api/download/models/12?token=tok-1234567890abcdef`);
    expect(res.status).toBe(200);
    expect(
      createHash('sha256')
        .update(Buffer.from(await res.arrayBuffer()))
        .digest('hex'),
    ).toBe(sha);
    expect(civitai.requests.filter((r) => r.path === '/api/download/models/12').map((r) => [r.status, r.withToken])).toEqual([
      [401, false],
      [200, true],
    ]);
  });
});
