import { resolve } from 'node:path';
import { startStandin } from '../../test/standin/server';
import { createApp } from '../node/app';
import { headlessConfFactory } from '../node/settingsStore';
import { writeTinyModel } from '../node/tinyModel';
import { parseHeadlessArgs } from './args';
import { runHeadless } from './lifecycle';
import { startHeadlessServer } from './server';

/**
 * `npm run demo`: the headless app wired to the local horde stand-in, with its data in
 * `.demo/` so a user's real HordeDesk data is never touched.
 */
runHeadless('The HordeDesk demo', async () => {
  const args = parseHeadlessArgs(process.argv.slice(2), { port: 8787 });
  const dataDir = args.dataDir ?? resolve(import.meta.dirname, '../../.demo/data');
  const standin = await startStandin();
  const app = createApp({ shell: 'headless', dataDir, settingsFactory: headlessConfFactory, echoLog: (line) => console.log(line) });
  app.settings.update({ hordeUrl: standin.hordeApiUrl, ratingsUrl: standin.ratingsApiUrl });
  // The embedded default model: tiny, random weights, real architecture (Generate page).
  await writeTinyModel(app.generation.modelsDir);
  let server;
  try {
    server = await startHeadlessServer(app, { port: args.port });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    console.log(`Port ${args.port} is busy; using a free one.`);
    server = await startHeadlessServer(app, { port: 0 });
  }
  console.log(`\nHordeDesk demo is running against the local horde stand-in at ${standin.url}.`);
  console.log(`Open this address in your browser:\n\n  ${server.url}\n\nDemo data: ${dataDir}\nPress Ctrl+C to stop.`);
  return [() => server.close(), () => standin.close(), () => app.close()];
});
