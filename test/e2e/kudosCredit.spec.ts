import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../src-main/node/storage/database';
import { expect, startDemo, test } from './fixtures';

// A moderator's pause that the credit check found (core/kudos/creditWatch.ts) is kept in the
// database, so it is shown again after a restart until the horde counts the worker's jobs again.

test("the dashboard says when the horde has stopped crediting the worker's jobs", async ({ page }) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hordedesk-e2e-'));
  const since = Date.now() - 10 * 60_000;
  const { db } = openDatabase(join(dataDir, 'hordedesk.db'));
  db.prepare(
    "INSERT INTO horde_credit (id, worker_name, read_at, fulfilled, paused_since, paused_how) VALUES (1, 'HordeDesk Demo Worker', ?, 0, ?, 'credits')",
  ).run(since, since);
  db.close();
  const demo = await startDemo(dataDir);
  try {
    await page.goto(demo.url);
    const note = page.getByTestId('kudos-card').getByTestId('kudos-credit-hold');
    await expect(note).toContainText("The horde has stopped crediting this worker's jobs");
    await expect(note).toContainText("moderator's pause");
    await expect(note).toContainText(new Date(since).toLocaleDateString('en-US'));
  } finally {
    await demo.stop();
  }
});
