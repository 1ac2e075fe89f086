import { createApp } from '../node/app';
import { defaultDataDir } from '../node/paths';
import { headlessConfFactory } from '../node/settingsStore';
import { parseHeadlessArgs } from './args';
import { startHeadlessServer } from './server';

/** `npm run headless`: the app without Electron, watched from a browser. */
async function main(): Promise<void> {
  const args = parseHeadlessArgs(process.argv.slice(2), { port: 0 });
  const dataDir = args.dataDir ?? defaultDataDir();
  const app = createApp({ shell: 'headless', dataDir, settingsFactory: headlessConfFactory, echoLog: (line) => console.log(line) });
  const server = await startHeadlessServer(app, { port: args.port });
  console.log(`\nHordeDesk (headless) is running. Open this address in your browser:\n\n  ${server.url}\n\nData folder: ${dataDir}\nPress Ctrl+C to stop.`);
  const stop = async (): Promise<void> => {
    await server.close();
    app.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((error: unknown) => {
  console.error(`HordeDesk could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
