import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import type { WorkerStatusDto } from '../../src-main/common/contract';
import type { SafetyView } from '../../src-main/common/safetyModel';
import { startHeadless, type HeadlessProcess } from '../helpers/headlessProcess';

// `npm run demo` offline: it installs the tiny safety model at start, so the worker takes the stand-in's jobs
// and every image goes through the whole check (issue 13 item 6).

let demo: HeadlessProcess | undefined;
afterEach(async () => {
  await demo?.stop();
  demo = undefined;
});

test('the demo installs its tiny safety model and the worker serves jobs through the check', { timeout: 120_000 }, async () => {
  demo = await startHeadless(mkdtempSync(join(tmpdir(), 'hd-demo-safety-')), { entry: 'src-main/headless/demo.ts', args: [] });
  const safety = await demo.waitFor<SafetyView>('safety.status', (s) => s.state === 'ready', 100);
  expect(safety).toMatchObject({
    model: { name: 'Tiny safety test model', installed: true, tiny: true },
    reason: expect.stringMatching(/runs on cpu/),
  });
  const status = await demo.waitFor<WorkerStatusDto>('worker.status', (s) => s.stats.jobsDone >= 2, 200);
  expect(status.safety).toBeNull();
  expect(status.stats.jobsCsam).toBe(0);
});
