import { KNOWN_SAMPLERS, type BridgeSpec } from '../../src-main/standin/bridges';
import { TINY_WEBP_BASE64 } from '../../src-main/standin/mixed';

// The requests of the conformance run and what issue 12 says should become of each: the horde
// sends HordeDesk what its bridge entry allows (the real one's view, unlisted or with the proposed
// listing), and HordeDesk serves every job it is sent; features it does not implement are
// declined up front, so their requests are never sent to it. Each row's id is stable: CI names
// rows in `--allow-known-gaps`.

/** What became of a request, as the table says it. */
export type OutcomeKind = 'done' | 'not sent' | 'faulted' | 'unfinished';

/** One request of the run. */
export interface RequestRow {
  kind: 'request';
  id: string;
  /** A short description for the table. */
  label: string;
  /** Outcomes that pass; the first is the one the table prints. */
  expect: OutcomeKind[];
  /** The async body, less `prompt` and `models` (the run adds both; the prompt names the row). */
  body: { params: Record<string, unknown>; r2: boolean; source_image?: string; source_processing?: string };
  /** The issue 12 item whose fix this row waits for when it fails today. */
  item?: string;
}

/** A row about the whole run, judged from the totals. */
export interface TotalRow {
  kind: 'total';
  id: 'kudos-ledger' | 'uncompleted-jobs';
  label: string;
  item: string;
}

export type ConformanceRow = RequestRow | TotalRow;

/** Samplers HordeDesk could not run before issue 12 item 1. */
const ITEM1_SAMPLERS = ['k_dpm_fast', 'k_dpm_adaptive', 'dpmsolver'];

const txt2img = (params: Record<string, unknown>, r2 = false): RequestRow['body'] => ({
  params: { width: 64, height: 64, steps: 6, cfg_scale: 7, n: 1, seed: '1001', sampler_name: 'k_euler', karras: true, ...params },
  r2,
});

/** One row per sampler the horde knows × karras: sent if the bridge entry allows it, then done. */
function samplerRows(bridge: BridgeSpec): RequestRow[] {
  return KNOWN_SAMPLERS.flatMap((sampler) =>
    [true, false].map((karras): RequestRow => {
      const sent = (karras ? bridge.karrasSamplers : bridge.otherSamplers).includes(sampler);
      const lcm = sampler === 'lcm';
      return {
        kind: 'request',
        id: `sampler-${sampler}-${karras ? 'karras' : 'plain'}`,
        label: `${sampler}, karras ${karras ? 'on' : 'off'}`,
        expect: [sent ? 'done' : 'not sent'],
        body: txt2img({ sampler_name: sampler, karras, steps: lcm ? 4 : 6, cfg_scale: lcm ? 1.5 : 7 }),
        item: ITEM1_SAMPLERS.includes(sampler) ? '1' : undefined,
      };
    }),
  );
}

/** Sizes, a batch, seeds, many steps, clip_skip and R2 delivery. */
function parameterRows(bridge: BridgeSpec): RequestRow[] {
  const row = (id: string, label: string, expect: OutcomeKind[], body: RequestRow['body'], item?: string): RequestRow => ({
    kind: 'request',
    id,
    label,
    expect,
    body,
    item,
  });
  return [
    row('size-128x64', '128×64', ['done'], txt2img({ width: 128, height: 64 })),
    row('size-64x192', '64×192', ['done'], txt2img({ width: 64, height: 192 })),
    row('size-256x256', '256×256', ['done'], txt2img({ width: 256, height: 256 })),
    row('batch-n3', 'n=3, seed 4242', ['done'], txt2img({ n: 3, seed: '4242' })),
    row('seed-number', 'seed 3141592653', ['done'], txt2img({ seed: '3141592653' })),
    row('seed-text', 'seed "lighthouse" (text)', ['done'], txt2img({ seed: 'lighthouse' })),
    // Served, or never sent because the pop asks the horde to limit steps: whichever the
    // reference worker does (item 2). Popped and then faulted is the failure.
    row('steps-200', '200 steps', ['done', 'not sent'], txt2img({ steps: 200 }), '2'),
    row('clip-skip-2', 'clip_skip 2', [bridge.capabilities.includes('clip_skip') ? 'done' : 'not sent'], txt2img({ clip_skip: 2 })),
    row('r2-upload', 'r2: true (R2 upload)', [bridge.capabilities.includes('r2') ? 'done' : 'not sent'], txt2img({}, true)),
  ];
}

/** One request per feature HordeDesk does not implement: declined up front, never sent to it. */
function declinedRows(): RequestRow[] {
  const declined = (id: string, label: string, body: RequestRow['body']): RequestRow => ({
    kind: 'request',
    id,
    label,
    expect: ['not sent'],
    body,
  });
  const source = { source_image: TINY_WEBP_BASE64, source_processing: 'img2img' };
  return [
    declined('img2img', 'img2img', { ...txt2img({ denoising_strength: 0.6 }), ...source }),
    declined('post-processing', 'post-processing (RealESRGAN_x4plus)', txt2img({ post_processing: ['RealESRGAN_x4plus'] })),
    declined('lora', 'LoRA', txt2img({ loras: [{ name: '247778', model: 0.8 }] })),
    declined('hires-fix', 'hires_fix', txt2img({ hires_fix: true })),
    declined('tiling', 'tiling', txt2img({ tiling: true })),
    declined('controlnet', 'ControlNet (canny)', { ...txt2img({ control_type: 'canny' }), ...source }),
  ];
}

/** Every row of a run against a horde whose entry for HordeDesk is `bridge`. */
export function conformanceRows(bridge: BridgeSpec): ConformanceRow[] {
  return [
    ...samplerRows(bridge),
    ...parameterRows(bridge),
    ...declinedRows(),
    {
      kind: 'total',
      id: 'kudos-ledger',
      label: 'kudos booked as credited',
      item: '5',
    },
    { kind: 'total', id: 'uncompleted-jobs', label: 'popped jobs dropped or faulted', item: '1, 2' },
  ];
}
