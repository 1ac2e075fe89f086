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
    options: {
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      idle: { type: 'boolean' },
      fresh: { type: 'boolean' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(
      'Usage: npm run headless|demo -- [--port N] [--data-dir PATH] [--idle (demo: do not start the worker)] [--fresh (demo: start with onboarding)]',
    );
    process.exit(0);
  }
  const port = values.port === undefined ? defaults.port : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a number from 0 to 65535, got ${values.port}`);
  return { port, dataDir: values['data-dir'], idle: values.idle === true, fresh: values.fresh === true };
}

/** The environment variable that fixes the page token across restarts (scripts, tests, service managers). */
export const TOKEN_VARIABLE = 'HORDEDESK_TOKEN';

/**
 * A fixed access token from `HORDEDESK_TOKEN`, or undefined for a fresh random one. An
 * environment variable rather than an argument, because other users on the machine can read a
 * process's arguments but not its environment. It must be as hard to guess as the random one.
 */
export function tokenFromEnvironment(env: Record<string, string | undefined>): string | undefined {
  const token = env[TOKEN_VARIABLE];
  if (token === undefined || token === '') return undefined;
  if (!/^[A-Za-z0-9_-]{32,128}$/.test(token)) throw new Error(`${TOKEN_VARIABLE} must be 32 to 128 characters of A-Z, a-z, 0-9, _ and -`);
  return token;
}
