import { CONFORMANCE_USAGE, parseConformanceArgs, UsageError } from './conformance/args';
import { runConformance } from './conformance/drive';

// `npm run conformance -- --horde URL --worker-key K --requester-key K2`: HordeDesk against a horde,
// one whole round trip, judged row by row (scripts/conformance/). Without --horde it runs against a
// stand-in it starts; CI does that after `npm test` (.ci/run). The table goes to stdout, progress
// to stderr. Keys are passed to the horde only, never printed.

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(CONFORMANCE_USAGE);
    return 0;
  }
  const options = parseConformanceArgs(argv);
  const outcome = await runConformance({ ...options, progress: (line) => console.error(line) });
  console.log(outcome.report.join('\n'));
  return outcome.exitCode;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) console.error(`conformance: ${error.message}\n\n${CONFORMANCE_USAGE}`);
    else console.error('conformance: the run could not be completed:', error);
    process.exit(2);
  },
);
