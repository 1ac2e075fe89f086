import { createApp } from '../node/app';
import { defaultDataDir } from '../node/system/paths';
import { headlessConfFactory } from '../node/system/settingsStore';
import { parseHeadlessArgs, tokenFromEnvironment } from './args';
import { runHeadless } from './lifecycle';
import { startHeadlessServer } from './server';

/** `npm run headless`: the app without Electron, watched from a browser. */
runHeadless('HordeDesk', async (guard) => {
  const args = parseHeadlessArgs(process.argv.slice(2), { port: 0 });
  const token = tokenFromEnvironment(process.env);
  const dataDir = args.dataDir ?? defaultDataDir();
  const app = createApp({ shell: 'headless', dataDir, settingsFactory: headlessConfFactory, echoLog: (line) => console.log(line) });
  guard.useLogger(app.log.child('process'));
  const server = await startHeadlessServer(app, { port: args.port, token });
  console.log(
    `\nHordeDesk (headless) is running. Open this address in your browser:\n\n  ${server.url}\n\nData folder: ${dataDir}\nPress Ctrl+C to stop.`,
  );
  return [() => server.close(), () => app.close()];
});
