import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { writeTinyModel } from '../../src-main/node/models/tinyModel';
import { startStandin, STANDIN_KEYS, type StandinHandle } from '../../src-main/standin/server';
import type { HordeDeskApp } from '../../src-main/node/app';
import { testApp } from '../helpers/app';
import { presetDataDir } from '../helpers/headlessProcess';
import { until } from '../helpers/worker';

// The whole app (settings, key, scheduler, the tiny model in its inference thread) as a worker on
// the stand-in, for what only shows with every part in place (issue 12).

const MODEL = 'tiny-sd-test';
let standin: StandinHandle | undefined;
let app: (HordeDeskApp & { dataDir: string }) | undefined;
afterEach(async () => {
  await app?.close();
  await standin?.close();
  app = undefined;
  standin = undefined;
});

/** An app whose data folder is set up for the stand-in, with `apiKey`, the tiny model and the schedule on "always". */
async function appOn(s: StandinHandle, apiKey: string, lines: string[], model: { hiddenStates?: boolean } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'hd-worker-app-'));
  const settings = { hordeUrl: s.hordeApiUrl, ratingsUrl: s.ratingsApiUrl, workerName: 'Desk Dreamer 01', schedule: { mode: 'always' } };
  presetDataDir(dataDir, settings, apiKey);
  await writeTinyModel(join(dataDir, 'models'), model);
  return testApp({ dataDir, startScheduler: true, echoLog: (line) => void lines.push(line) });
}

const request = (params: Record<string, unknown>) => ({
  prompt: 'a fox',
  models: [MODEL],
  r2: true,
  nsfw: false,
  params: { width: 64, height: 64, steps: 3, ...params },
});

test('the real engine lowering a clip_skip the model cannot honour: logged, and the horde takes the image with its note', async () => {
  standin = await startStandin({ models: [MODEL] });
  // A text encoder exported with its last layer only (as some published exports are) cannot skip a
  // layer. (A clip_skip beyond the layer count is not this case: ComfyUI then uses the last layer
  // without a word, and so does HordeDesk.)
  standin.enqueue(request({ clip_skip: 2 }));
  const lines: string[] = [];
  app = await appOn(standin, STANDIN_KEYS.workerOwner, lines, { hiddenStates: false });
  await until(() => standin!.jobs().some((j) => j.state === 'done'));
  expect(lines.some((l) => l.includes('clip_skip 2 was asked for') && l.includes('The requester is told so'))).toBe(true);
}, 60_000);

test('after the horde rejected the key, entering a good one resumes the work by itself (schedule "always", no Start pressed)', async () => {
  standin = await startStandin({ models: [MODEL] });
  const lines: string[] = [];
  // A key the horde does not know (revoked since it was stored): the scheduler starts the worker, the pop gets 401.
  app = await appOn(standin, 'abcdefghijklmnopqrstuv', lines);
  await until(() => app!.worker.status().state === 'error');
  expect(app.worker.status().message).toMatch(/API key/i);
  standin.enqueue(request({}));
  await app.handlers['apiKey.set']({ apiKey: STANDIN_KEYS.workerOwner });
  await until(() => standin!.jobs().some((j) => j.state === 'done'));
  expect(app.worker.status().state).toBe('running');
}, 30_000);
