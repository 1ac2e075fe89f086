// Runs the AI Horde stand-in on its own: `npx tsx src-main/standin/cli.ts --port 7777`.
// Point HordeDesk's horde URL at the printed hordeApiUrl; flip faults with
// `curl -X POST <url>/__standin/faults -H 'Content-Type: application/json' -d '{"slowMs":3000}'`.
// `--mixed 50 --seed 7` queues 50 realistic requests at start; `--time-scale 0.1` runs the horde's
// clocks (ttl, uptime, the abort hour) ten times faster.
import { parseArgs } from 'node:util';
import { startStandin, STANDIN_KEYS } from './server';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    mixed: { type: 'string', default: '0' },
    seed: { type: 'string', default: '1' },
    'time-scale': { type: 'string', default: '1' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  console.log('Usage: tsx src-main/standin/cli.ts [--port N] [--mixed COUNT] [--seed S] [--time-scale F]   (port 0 or none: a free port)');
  process.exit(0);
}

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be an integer 0..65535, got ${values.port}`);
  process.exit(2);
}

const mixed = Number(values.mixed);
const timeScale = Number(values['time-scale']);
if (!Number.isInteger(mixed) || mixed < 0 || !(timeScale > 0)) {
  console.error('--mixed must be a non-negative integer and --time-scale a positive number');
  process.exit(2);
}

const standin = await startStandin({ port, jobs: { timeScale } });
if (mixed > 0) standin.enqueueMixed(mixed, values.seed);
console.log(`AI Horde stand-in listening at ${standin.url}`);
console.log(`  horde API:   ${standin.hordeApiUrl}`);
console.log(`  ratings API: ${standin.ratingsApiUrl} (no routes yet)`);
console.log(`  faults:      ${standin.url}/__standin/faults   requests: ${standin.url}/__standin/requests`);
console.log(
  `  jobs:        ${standin.url}/__standin/jobs   queue: /__standin/queue   stats: /__standin/stats   add: POST /__standin/enqueue`,
);
console.log(`  keys: worker owner ${STANDIN_KEYS.workerOwner}, requester ${STANDIN_KEYS.requester}, anonymous ${STANDIN_KEYS.anonymous}`);

function stop(): void {
  standin.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
}
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
