import { TINY_MODEL_NAME } from '../../src-main/node/models/tinyModel';
import type { ConformanceOptions } from './drive';

// The command line of `npm run conformance -- …`.

export const CONFORMANCE_USAGE = `Usage: npm run conformance -- [options]

Drives a whole round trip against a horde: posts txt2img requests (every sampler with karras on and
off, sizes, a batch, seeds, 200 steps, clip_skip, R2), one request per kind (img2img, inpainting with a
mask and by alpha, outpainting, hires_fix, tiling) and one per feature HordeDesk declines,
runs the HordeDesk worker with the tiny model until they settle, and prints what became of each.
Without --horde it starts the stand-in itself.

  --horde URL               the horde's API root, e.g. http://localhost:7001/api
  --worker-key KEY          the worker owner's API key (needed with --horde)
  --requester-key KEY       the requester's API key (needed with --horde)
  --listing unlisted|proposed
                            HordeDesk's entry in the horde's bridge_reference.py: none (the public
                            horde today, the default) or the one docs/upstream-listing.md proposes
  --model NAME              the name the tiny model is served under (default ${TINY_MODEL_NAME}); a
                            development horde knows only its reference's names (e.g. stable_diffusion)
  --inpainting-model NAME   a second tiny model, served under a name the horde's reference marks as
                            inpainting, so the horde sends painting requests at all (default with a
                            stand-in: stable_diffusion_inpainting; with --horde: none, painting rows
                            then expect "not sent")
  --worker-name NAME        default "HordeDesk Conformance Worker"
  --timeout-s N             give up after N seconds of waiting (default 90)
  --poll-ms N               how often open requests are checked (default 500)
  --allow-known-gaps IDS    comma-separated row ids that may differ without failing the run
  --only IDS                run only these rows (comma-separated ids, as the table names them)

Exit status: 0 when every row is as expected or an allowed gap, 1 when a row differs, 2 on a usage
or set-up error.`;

/** A command line that cannot be run; the message says why. */
export class UsageError extends Error {
  override name = 'UsageError';
}

function positive(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new UsageError(`${flag} takes a whole number above 0, not "${text}"`);
  return value;
}

const VALUE_FLAGS = [
  '--horde',
  '--worker-key',
  '--requester-key',
  '--listing',
  '--model',
  '--inpainting-model',
  '--worker-name',
  '--timeout-s',
  '--poll-ms',
  '--allow-known-gaps',
  '--only',
];

/** Reads the options; throws {@link UsageError} for anything it does not know. */
export function parseConformanceArgs(argv: readonly string[]): Omit<ConformanceOptions, 'progress'> {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 1) {
    const [flag, inline] = (argv[i] ?? '').split(/=(.*)/s, 2) as [string, string | undefined];
    if (!VALUE_FLAGS.includes(flag)) throw new UsageError(`unknown option "${argv[i]}"`);
    const value = inline ?? argv[++i];
    if (value === undefined || value === '') throw new UsageError(`${flag} needs a value`);
    values.set(flag, value);
  }
  const listing = values.get('--listing') ?? 'unlisted';
  if (listing !== 'unlisted' && listing !== 'proposed') throw new UsageError(`--listing is "unlisted" or "proposed", not "${listing}"`);
  const horde = values.get('--horde') ?? null;
  if (horde !== null && !(values.has('--worker-key') && values.has('--requester-key'))) {
    throw new UsageError('--horde needs --worker-key and --requester-key');
  }
  return {
    hordeUrl: horde,
    workerKey: values.get('--worker-key') ?? null,
    requesterKey: values.get('--requester-key') ?? null,
    listing,
    model: values.get('--model') ?? TINY_MODEL_NAME,
    inpaintingModel: values.get('--inpainting-model') ?? (horde === null ? 'stable_diffusion_inpainting' : null),
    workerName: values.get('--worker-name') ?? 'HordeDesk Conformance Worker',
    timeoutS: positive('--timeout-s', values.get('--timeout-s') ?? '90'),
    pollMs: positive('--poll-ms', values.get('--poll-ms') ?? '500'),
    allowedGaps: new Set(idList(values.get('--allow-known-gaps'))),
    only: values.has('--only') ? new Set(idList(values.get('--only'))) : null,
  };
}

function idList(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((id) => id.trim())
    .filter(Boolean);
}
