import { parseArgs } from 'node:util';

export interface HeadlessArgs {
  port: number;
  dataDir: string | undefined;
  /** Demo only: set the worker up but do not start it. */
  idle: boolean;
  /** Demo only: no key, no worker name: the user goes through onboarding. */
  fresh: boolean;
}

/** `--port N` (0 = any free port) and `--data-dir PATH`; anything else is a clear error. */
export function parseHeadlessArgs(argv: string[], defaults: { port: number }): HeadlessArgs {
  const { values } = parseArgs({
    args: argv,
    options: { port: { type: 'string' }, 'data-dir': { type: 'string' }, idle: { type: 'boolean' }, fresh: { type: 'boolean' }, help: { type: 'boolean' } },
    strict: true,
  });
  if (values.help) {
    console.log('Usage: npm run headless|demo -- [--port N] [--data-dir PATH] [--idle (demo: do not start the worker)] [--fresh (demo: start with onboarding)]');
    process.exit(0);
  }
  const port = values.port === undefined ? defaults.port : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a number from 0 to 65535, got ${values.port}`);
  return { port, dataDir: values['data-dir'], idle: values.idle === true, fresh: values.fresh === true };
}
