import { afterEach, expect, test } from 'vitest';
import type { HordeDeskApp } from '../../src-main/node/app';
import { testApp } from '../helpers/app';
import { startRecordingServer, type RecordingServer } from '../helpers/recordingServer';
import { until } from '../helpers/worker';

// A settings file (or any settings change) that points the horde or the ratings service at
// another origin must not take the API key along until the user confirms that origin.

const KEY = 'abcdefghijklmnopqrstuv';
const servers: RecordingServer[] = [];
let app: (HordeDeskApp & { dataDir: string }) | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A service that is always busy (503): enough to see who sends it what. */
async function busyService(): Promise<RecordingServer> {
  const s = await startRecordingServer((_req, res) => res.writeHead(503, { 'Content-Type': 'text/plain' }).end('busy'));
  servers.push(s);
  return s;
}

async function setUp() {
  const trusted = await busyService();
  const other = await busyService();
  app = testApp();
  app.settings.update({ hordeUrl: `${trusted.url}/api`, ratingsUrl: `${trusted.url}/api/v1` });
  // Setting the key while these URLs are shown confirms their origin (the horde is busy: kept unchecked).
  await app.handlers['apiKey.set']({ apiKey: KEY });
  expect(trusted.requests.map((r) => r.apikey)).toEqual([KEY]);
  const file = JSON.stringify({ hordeUrl: `${other.url}/api`, ratingsUrl: `${other.url}/ratings/v1` });
  await app.handlers['settings.import']({ content: file });
  return { app, trusted, other };
}

const keyed = (s: RecordingServer) => s.requests.filter((r) => r.apikey !== null);

test('an imported settings file sends no key to a new origin until the user confirms it; then it does', async () => {
  const { app, trusted, other } = await setUp();
  expect((await app.handlers['apiKey.status']({})).pendingOrigins).toEqual([
    { service: 'horde', origin: other.url, previousOrigin: trusted.url, previousUrl: `${trusted.url}/api` },
    { service: 'ratings', origin: other.url, previousOrigin: trusted.url, previousUrl: `${trusted.url}/api/v1` },
  ]);

  // Everything that would carry the key is held back, with the reason in words.
  const reconcile = await app.handlers['kudos.reconcile']({});
  expect(reconcile.message).toContain(`Your settings now send your API key to ${other.url}`);
  await expect(app.handlers['rating.datasets']({})).rejects.toThrow(/Nothing is sent there until you confirm it in Settings/);
  await app.handlers['worker.checkName']({ name: 'Desk Dreamer 01' });
  // The worker does not pop.
  await app.handlers['models.createTiny']({});
  app.settings.update({ workerName: 'Desk Dreamer 01' });
  await app.handlers['worker.start']({});
  await until(() => app.worker.status().state === 'error');
  expect(app.worker.status().message).toContain(`send your API key to ${other.url}`);
  // Calls that need no key still go (the Dashboard's horde status), without it.
  await app.handlers['horde.status']({});
  expect(other.requests.length).toBeGreaterThan(0);
  expect(keyed(other)).toEqual([]);

  const confirmed = await app.handlers['apiKey.confirmOrigins']({});
  expect(confirmed.pendingOrigins).toEqual([]);
  await app.handlers['kudos.reconcile']({});
  await app.handlers['rating.datasets']({}).catch(() => undefined);
  // The worker stopped for the key resumes once the key may be sent (issue 12 item 6): its pops go there too.
  await until(() => keyed(other).some((r) => r.path === '/api/v2/generate/pop'));
  expect([...new Set(keyed(other).map((r) => r.path))].sort()).toEqual([
    '/api/v2/find_user',
    '/api/v2/generate/pop',
    '/ratings/v1/datasets',
  ]);
});

test('"Go back" restores the confirmed URLs, and a restart remembers what was confirmed', async () => {
  const { app: first, trusted, other } = await setUp();
  const back = await first.handlers['apiKey.revertOrigins']({});
  expect(back.pendingOrigins).toEqual([]);
  expect(first.settings.get()).toMatchObject({ hordeUrl: `${trusted.url}/api`, ratingsUrl: `${trusted.url}/api/v1` });
  // Moved again and the app restarted: still pending, the key still stays home.
  first.settings.update({ hordeUrl: `${other.url}/api` });
  const dataDir = first.dataDir;
  await first.close();
  app = testApp({ dataDir });
  expect((await app.handlers['apiKey.status']({})).pendingOrigins.map((p) => p.origin)).toEqual([other.url]);
  await app.handlers['kudos.reconcile']({});
  expect(keyed(other)).toEqual([]);
  // The confirmed origins live beside the key, never in the settings file.
  expect(JSON.stringify(app.settings.get())).not.toContain(trusted.url.replace('http://', '') + '"');
});
