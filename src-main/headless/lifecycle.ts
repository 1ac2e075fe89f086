import type { Logger } from '../core/log';

/** Lets the entry hand its app logger to the process-level guard once the app exists. */
export interface ProcessGuard {
  useLogger(log: Logger): void;
}

/** Until the app has a logger, the guard writes to stderr. */
function consoleLogger(): Logger {
  const logger: Logger = {
    info: (m, d) => console.log(m, d ?? ''),
    warn: (m, d) => console.error(m, d ?? ''),
    error: (m, d) => console.error(m, d ?? ''),
    child: () => logger,
  };
  return logger;
}

/**
 * Process-level guards for the headless entries.
 *
 * - An unhandled rejection is a promise somebody forgot to await: the operation it belonged to
 *   has already failed, exactly as if its error had been caught, so the app's state is no worse
 *   than after any handled error. It is logged and the app keeps serving (Node's default would
 *   exit, taking the worker and the rater down over, say, one bad request).
 * - An uncaught exception is different: it unwound a synchronous call stack half-way, and Node
 *   documents the process as being in an undefined state afterwards. HordeDesk's storage is
 *   built to survive a crash (SQLite WAL with synchronous=FULL; ratings and ledger rows are
 *   durable before they are acknowledged), so stopping at once loses nothing that was
 *   promised, while carrying on, or running shutdown code, on a broken state could. So it is
 *   logged (the file logger writes synchronously) and the process exits with code 1; the page
 *   shows "Not connected — reconnecting…" until the app is started again.
 */
export function installProcessGuard(what: string): ProcessGuard {
  let log = consoleLogger();
  process.on('unhandledRejection', (reason) => {
    log.error('an operation failed without anyone waiting for it; HordeDesk keeps running', reason);
  });
  process.on('uncaughtException', (error) => {
    log.error('an unexpected error; HordeDesk stops now (nothing acknowledged is lost)', error);
    console.error(`${what} stopped after an unexpected error (details in the log). Start it again.`);
    process.exit(1);
  });
  return {
    useLogger(next) {
      log = next;
    },
  };
}

/**
 * Runs `main`, reporting a start-up failure in one plain sentence; once started, Ctrl+C or
 * SIGTERM runs the returned closers in order and exits. The process-level guard is in place
 * before `main` runs; `main` hands it the app's logger.
 */
export function runHeadless(what: string, main: (guard: ProcessGuard) => Promise<(() => void | Promise<void>)[]>): void {
  const guard = installProcessGuard(what);
  main(guard)
    .then((closers) => {
      const stop = async (): Promise<void> => {
        for (const close of closers) await close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop());
      process.once('SIGTERM', () => void stop());
    })
    .catch((error: unknown) => {
      console.error(`${what} could not start: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    });
}
