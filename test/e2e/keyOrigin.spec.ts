import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from './fixtures';

// The demo's key is confirmed for the stand-in. Pointing the horde elsewhere asks first, on the
// Settings page and on the Dashboard; "Go back" restores the address, "Send my key there" accepts it.

test('a new horde address asks before the key goes there: Go back, then Send my key there', async ({ page, demo }) => {
  const elsewhere = 'http://127.0.0.1:9';
  await page.goto(demo.url);
  await page.getByRole('button', { name: 'Settings' }).click();
  await expect(page.getByTestId('key-origin-card')).toHaveCount(0);
  await page.getByLabel('AI Horde URL').fill(`${elsewhere}/api`);
  await page.getByRole('button', { name: 'Save', exact: true }).click();

  const card = page.getByTestId('key-origin-card');
  await expect(card).toContainText(`Your settings now send your API key to ${elsewhere}. Send it there?`);
  await page.getByRole('button', { name: 'Dashboard' }).click();
  await expect(card).toContainText(elsewhere);

  await page.getByRole('button', { name: 'Settings' }).click();
  await card.getByRole('button', { name: `Go back to ${demo.standinUrl}` }).click();
  await expect(card).toHaveCount(0);
  await expect(page.getByLabel('AI Horde URL')).toHaveValue(`${demo.standinUrl}/api`);

  await page.getByLabel('AI Horde URL').fill(`${elsewhere}/api`);
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await card.getByRole('button', { name: 'Send my key there' }).click();
  await expect(card).toHaveCount(0);
  // What was confirmed sits beside the key, not in settings.json.
  expect(readFileSync(join(demo.dataDir, 'secrets', 'apikey-origins.json'), 'utf8')).toContain(elsewhere);
  expect(readFileSync(join(demo.dataDir, 'settings.json'), 'utf8')).not.toMatch(/apikey|origins/i);
});
