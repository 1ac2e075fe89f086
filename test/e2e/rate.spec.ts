import type { Page } from '@playwright/test';
import { expect, test, type DemoProcess } from './fixtures';

// The Rate and Ratings pages against the demo: the real headless app, its ratings backend and the
// stand-in's ratings service. Keyboard only on the Rate page (the documented scheme in
// src-renderer/src/rating/ratingKeys.ts): digits choose, Q W E R T Y = artifacts 0-5 send,
// Enter sends without artifacts, Backspace undoes, S skips, ? shows the help.

/** The artifacts row: Q W E R T Y = artifacts 0-5. */
const ARTIFACT_KEYS = ['q', 'w', 'e', 'r', 't', 'y'];

async function setFaults(demo: DemoProcess, patch: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${demo.standinUrl}/__standin/faults`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(patch),
  });
  expect(res.ok, `stand-in faults ${JSON.stringify(patch)}: HTTP ${res.status}`).toBe(true);
}

/** Opens the Rate page with at least `need` images saved locally, downloading a session if short. */
async function openRateWithImages(page: Page, need: number): Promise<void> {
  await page.getByRole('button', { name: 'Rate', exact: true }).click();
  const cached = page.getByTestId('rate-cached');
  await expect(cached).toHaveText(/^\d+$/);
  if (Number(await cached.textContent()) < need) {
    await page.getByTestId('download-count').fill(String(Math.max(25, need)));
    await page.getByTestId('download-start').click();
    await expect(page.getByTestId('download-error')).toHaveCount(0);
  }
  await expect
    .poll(async () => Number(await cached.textContent()), { timeout: 60_000, message: 'images saved for rating' })
    .toBeGreaterThanOrEqual(need);
  await expect(page.getByTestId('rate-image')).toBeVisible();
  // Keys go to the page, not to the nav button the click left focused.
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
}

/** The id of the image on screen, once there is one. */
async function shownImage(page: Page): Promise<string> {
  const image = page.getByTestId('rate-image');
  await expect(image).toBeVisible();
  const id = await image.getAttribute('data-image-id');
  expect(id).toBeTruthy();
  return id ?? '';
}

/**
 * Rates the image on screen with the keyboard: a digit (shown as chosen), then an artifacts key
 * or Enter. A check image's instruction wins: its score is given, with Enter. Waits until the
 * count says `count` and the next image is on screen; returns the id and the score given.
 */
async function rateShown(page: Page, wanted: string, wantedFinish: string, count: number): Promise<{ id: string; score: number }> {
  const id = await shownImage(page);
  let digit = wanted;
  let finish = wantedFinish;
  const instruction = page.getByTestId('rate-instruction');
  if (await instruction.isVisible()) {
    // The page never answers a check image by itself; the test does what the banner says:
    // its first number is the rating, a second one the artifacts level.
    const [score, artifacts] = ((await instruction.textContent()) ?? '').match(/\d+/g) ?? [];
    expect(Number(score), 'a check image names the rating to give').toBeGreaterThanOrEqual(1);
    digit = score === '10' ? '0' : (score ?? wanted);
    finish = artifacts === undefined ? 'Enter' : (ARTIFACT_KEYS[Number(artifacts)] ?? 'Enter');
  }
  await page.keyboard.press(digit);
  await expect(page.getByTestId('rate-selected')).toHaveText(digit === '0' ? '10' : digit);
  await page.keyboard.press(finish);
  await expect(page.getByTestId('rate-count')).toHaveText(String(count));
  await expect(page.getByTestId('rate-selected')).toHaveText('–');
  await expect(page.getByTestId('rate-image')).not.toHaveAttribute('data-image-id', id);
  return { id, score: digit === '0' ? 10 : Number(digit) };
}

test('twenty images rated with the keyboard alone, with an undo and a skip, then listed on Ratings', async ({ page, demo }) => {
  test.setTimeout(180_000);
  await page.goto(demo.url);
  await openRateWithImages(page, 25);
  await expect(page.getByTestId('rate-count')).toHaveText('0');

  // The help with both scales opens and closes from the keyboard.
  await page.keyboard.press('?');
  await expect(page.getByTestId('rate-help')).toBeVisible();
  await expect(page.getByTestId('rate-help')).toContainText('Flawless');
  await page.keyboard.press('?');
  await expect(page.getByTestId('rate-help')).toBeHidden();

  const scores: number[] = [];
  for (let i = 1; i <= 20; i++) {
    // Scores 1..10 twice (0 is 10); odd turns send with artifacts, even turns with Enter.
    const digit = String(i % 10);
    const finish = i % 2 === 1 ? (ARTIFACT_KEYS[((i - 1) / 2) % 6] ?? 'q') : 'Enter';
    // Undo takes back a rating that is still waiting on this computer. Online, the backend
    // sends each rating at once, so hold them back for the undo by taking the service away.
    if (i === 4) await setFaults(demo, { ratingsDown: true });
    const rated = await rateShown(page, digit, finish, i);
    scores.push(rated.score);

    if (i === 5) {
      // Undo: the count goes back and the same image is on screen again; rate it anew.
      await page.keyboard.press('Backspace');
      await expect(page.getByTestId('rate-count')).toHaveText('4');
      await expect(page.getByTestId('rate-image')).toHaveAttribute('data-image-id', rated.id);
      scores.pop();
      scores.push((await rateShown(page, digit, 'Enter', 5)).score);
      await setFaults(demo, { ratingsDown: false });
    }
    if (i === 12) {
      // Skip: a new image, and the count stays.
      const skipped = await shownImage(page);
      await page.keyboard.press('s');
      await expect(page.getByTestId('rate-image')).not.toHaveAttribute('data-image-id', skipped);
      await expect(page.getByTestId('rate-count')).toHaveText('12');
    }
  }
  await expect(page.getByTestId('rate-count')).toHaveText('20');
  await expect(page.getByTestId('rate-pending')).toHaveText(/^\d+$/);
  await expect(page.getByTestId('rate-kudos')).toHaveText(/^[\d,.]+$/);

  await page.getByRole('button', { name: 'Ratings', exact: true }).click();
  const rows = page.getByTestId('rating-row');
  await expect(rows).toHaveCount(20);
  for (const row of await rows.all()) await expect(row).toHaveAttribute('data-state', /^(pending|sent|refused)$/);
  await expect(rows.first().getByTestId('rating-state')).toHaveText(/^(pending|sent|refused)/);
  // The histogram has ten bars; a 10-only filter finds the tens given.
  await expect(page.getByTestId('rating-histogram').getByTestId('rating-histogram-bar')).toHaveCount(10);
  await page.getByTestId('rating-filter-min').selectOption('10');
  await expect(rows).toHaveCount(scores.filter((s) => s === 10).length);
  await expect(page.getByTestId('export-csv')).toBeEnabled();
  await expect(page.getByTestId('export-json')).toBeEnabled();
});

test('with the ratings service down, saved images still rate and wait; they are sent when it is back', async ({ page, demo }) => {
  test.setTimeout(180_000);
  await page.goto(demo.url);
  await openRateWithImages(page, 6);
  const pending = page.getByTestId('rate-pending');
  await expect(pending).toHaveText('0');
  await expect(page.getByTestId('rate-count')).toHaveText('0');

  await setFaults(demo, { ratingsDown: true });
  for (let i = 1; i <= 5; i++) {
    await rateShown(page, String(i + 3), i % 2 === 1 ? 'w' : 'Enter', i);
    await expect(pending).toHaveText(String(i));
  }

  await setFaults(demo, { ratingsDown: false });
  // The backend retries on its own; no button is pressed here.
  await expect(pending).toHaveText('0', { timeout: 90_000 });

  await page.getByRole('button', { name: 'Ratings', exact: true }).click();
  await expect(page.getByTestId('rating-row')).toHaveCount(5);
  await expect(page.locator('[data-testid="rating-row"][data-state="sent"]')).toHaveCount(5);
});
