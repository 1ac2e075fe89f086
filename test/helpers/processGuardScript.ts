// A headless entry in miniature for test/integration/processGuard.test.ts: it starts through
// runHeadless (so the process-level guard is installed exactly as in main.ts and demo.ts),
// hands the guard a logger that prints, then misbehaves the way argv[2] says.
import { runHeadless } from '../../src-main/headless/lifecycle';

const mode = process.argv[2];
const print = (level: string) => (message: string, detail?: unknown) =>
  console.log(`${level} ${message} ${detail instanceof Error ? detail.message : String(detail)}`);

runHeadless('Guard test', async (guard) => {
  guard.useLogger({
    info: print('INFO'),
    warn: print('WARN'),
    error: print('ERROR'),
    child: () => {
      throw new Error('unused');
    },
  });
  if (mode === 'rejection') {
    void Promise.reject(new Error('a promise nobody awaited'));
    // Still alive a moment later: say so, then stop normally.
    setTimeout(() => {
      console.log('still serving');
      process.exit(0);
    }, 100);
  } else if (mode === 'exception') {
    setTimeout(() => {
      throw new Error('a half-finished update');
    }, 0);
    setTimeout(() => console.log('still running after an uncaught exception'), 100);
  }
  return [];
});
