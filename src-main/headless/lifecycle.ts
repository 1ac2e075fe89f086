/**
 * Runs `main`, reporting a start-up failure in one plain sentence; once started, Ctrl+C or
 * SIGTERM runs the returned closers in order and exits.
 */
export function runHeadless(what: string, main: () => Promise<(() => void | Promise<void>)[]>): void {
  main()
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
