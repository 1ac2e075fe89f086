// Runs the AI Horde stand-in on its own: `npx tsx test/standin/cli.ts --port 7777`.
// Point HordeDesk's horde URL at the printed hordeApiUrl; flip faults with
// `curl -X POST <url>/__standin/faults -H 'Content-Type: application/json' -d '{"slowMs":3000}'`.
import { parseArgs } from 'node:util';
import { startStandin, STANDIN_KEYS } from './server';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  console.log('Usage: tsx test/standin/cli.ts [--port N]   (0 or none: a free port)');
  process.exit(0);
}

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be an integer 0..65535, got ${values.port}`);
  process.exit(2);
}

const standin = await startStandin({ port });
console.log(`AI Horde stand-in listening at ${standin.url}`);
console.log(`  horde API:   ${standin.hordeApiUrl}`);
console.log(`  ratings API: ${standin.ratingsApiUrl} (no routes yet)`);
console.log(`  faults:      ${standin.url}/__standin/faults   requests: ${standin.url}/__standin/requests`);
console.log(`  keys: worker owner ${STANDIN_KEYS.workerOwner}, requester ${STANDIN_KEYS.requester}, anonymous ${STANDIN_KEYS.anonymous}`);

function stop(): void {
  standin.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
}
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
