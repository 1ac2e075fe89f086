// A headless entry for test/e2e/workerSafety.spec.ts: the real app and UI against a fresh stand-in,
// in one of two states argv says. `flagged`: the tiny SD and safety models are installed, three
// requests wait, and the worker's check is a fake port that flags the first image it sees as CSAM
// and the second as NSFW (the tiny safety model flags nothing, by design). `missing`: no safety
// model at all, so the worker must not take a job. `--fresh` leaves onboarding to do.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runHeadless } from '../../src-main/headless/lifecycle';
import { startHeadlessServer } from '../../src-main/headless/server';
import { createApp } from '../../src-main/node/app';
import { TINY_MODEL_NAME, writeTinyModel } from '../../src-main/node/models/tinyModel';
import { safetyDirOf } from '../../src-main/node/safety/safetyModel';
import { writeTinySafetyModel } from '../../src-main/node/safety/tinySafetyModel';
import { headlessConfFactory } from '../../src-main/node/system/settingsStore';
import { STANDIN_KEYS, startStandin } from '../../src-main/standin/server';
import { cpuProfile } from './app';
import { fakeSafety, type Verdict } from './safety';

const mode = process.argv[2] === 'missing' ? 'missing' : 'flagged';
const fresh = process.argv.includes('--fresh');

runHeadless('Safety scenario', async (guard) => {
  const standin = await startStandin({ models: [TINY_MODEL_NAME] });
  const verdicts: Verdict[] = ['csam', 'nsfw'];
  const check = fakeSafety(() => verdicts.shift() ?? 'clean');
  const dataDir = mkdtempSync(join(tmpdir(), 'hordedesk-e2e-safety-'));
  const app = createApp({
    shell: 'headless',
    dataDir,
    settingsFactory: headlessConfFactory,
    detectHardware: async () => cpuProfile(),
    startRater: false,
    ...(mode === 'flagged' && { safetyCheck: check }),
  });
  guard.useLogger(app.log.child('process'));
  app.settings.update({ hordeUrl: standin.hordeApiUrl, ratingsUrl: standin.ratingsApiUrl });
  if (!fresh) {
    app.settings.update({
      workerName: 'HordeDesk Safety Worker',
      onboarded: true,
      schedule: { ...app.settings.get().schedule, mode: 'never' },
    });
    app.secrets.setApiKey(STANDIN_KEYS.workerOwner);
  }
  await writeTinyModel(app.generation.modelsDir);
  if (mode === 'flagged') {
    writeTinySafetyModel(safetyDirOf(dataDir));
    for (let i = 0; i < 3; i += 1)
      standin.enqueue({ prompt: `a lighthouse ${i}`, models: [TINY_MODEL_NAME], nsfw: false, params: { width: 64, height: 64, steps: 2 } });
  }
  const server = await startHeadlessServer(app, { port: 0 });
  console.log(`Open this address in your browser:\n\n  ${server.url}\n`);
  return [() => app.close(), () => server.close(), () => standin.close()];
});
