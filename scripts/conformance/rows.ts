import type { ModelKinds } from '../../src-main/common/inference';
import { TXT2IMG_ONLY } from '../../src-main/core/worker/jobKinds';
import { KNOWN_SAMPLERS, type BridgeSpec } from '../../src-main/standin/bridges';
import { kindRequest, type StandinKind } from '../../src-main/standin/kinds';
import { TINY_WEBP_BASE64 } from '../../src-main/standin/mixed';

// The requests of the conformance run and what issue 12 says should become of each: the horde
// sends HordeDesk what its bridge entry allows (the real one's view, unlisted or with the proposed
// listing), and HordeDesk serves every job it is sent; features it does not implement are
// declined up front, so their requests are never sent to it. The request kinds of issue 14 (img2img,
// painting, hires_fix, tiling) are sent when the bridge entry allows them and, for img2img and
// painting, when HordeDesk's pop does (its models serve them); then they must be done. Each row's
// id is stable: CI names rows in `--allow-known-gaps`.

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
  body: { params: Record<string, unknown>; r2: boolean; source_image?: string; source_processing?: string; source_mask?: string };
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
    declined('post-processing', 'post-processing (RealESRGAN_x4plus)', txt2img({ post_processing: ['RealESRGAN_x4plus'] })),
    declined('lora', 'LoRA', txt2img({ loras: [{ name: '247778', model: 0.8 }] })),
    declined('controlnet', 'ControlNet (canny)', { ...txt2img({ control_type: 'canny' }), ...source }),
    declined(
      'qr-code',
      'QR code workflow',
      txt2img({ workflow: 'qr_code', extra_texts: [{ text: 'https://example.org', reference: 'qr_code' }] }),
    ),
  ];
}

/** What the worker of a run serves: its model's kinds, and whether it also offers a model the horde counts as inpainting. */
export interface ServedKinds {
  kinds: ModelKinds;
  inpaintingModel: boolean;
}

/** The request kinds of issue 14 (kinds.ts draws their sources), with what the horde needs to send each. */
const KIND_ROWS: readonly {
  id: string;
  kind: StandinKind;
  label: string;
  capability: 'img2img' | 'inpainting' | 'hires_fix' | 'tiling';
}[] = [
  { id: 'img2img', kind: 'img2img', label: 'img2img (denoise 0.6)', capability: 'img2img' },
  { id: 'inpainting', kind: 'inpainting', label: 'inpainting with a mask', capability: 'inpainting' },
  { id: 'inpainting-alpha', kind: 'inpainting-alpha', label: 'inpainting by the alpha', capability: 'inpainting' },
  { id: 'outpainting', kind: 'outpainting', label: 'outpainting (transparent border)', capability: 'inpainting' },
  { id: 'hires-fix', kind: 'hires_fix', label: 'hires_fix (576²)', capability: 'hires_fix' },
  { id: 'tiling', kind: 'tiling', label: 'tiling', capability: 'tiling' },
];

/**
 * Whether the horde sends a kind to HordeDesk: its bridge entry must list the capability (img2img
 * too for painting); img2img and painting also need HordeDesk's pop to allow them, which it does
 * when its model serves them, and painting an inpainting model among the worker's (§2.2, §5.2).
 * hires_fix and tiling have no pop flag.
 */
function kindSent(bridge: BridgeSpec, served: ServedKinds, capability: (typeof KIND_ROWS)[number]['capability']): boolean {
  const has = (c: string) => bridge.capabilities.includes(c as never);
  if (capability === 'img2img') return has('img2img') && served.kinds.img2img;
  if (capability === 'inpainting')
    return has('img2img') && has('inpainting') && (served.kinds.inpainting || served.kinds.outpainting) && served.inpaintingModel;
  return has(capability);
}

/** One row per request kind: done when the horde sends it (and then HordeDesk must serve it), else not sent. */
function kindRows(bridge: BridgeSpec, served: ServedKinds): RequestRow[] {
  return KIND_ROWS.map(({ id, kind, label, capability }) => {
    const request = kindRequest(kind, { r2: false });
    const { params = {}, source_image, source_processing, source_mask } = request;
    const body: RequestRow['body'] = { ...txt2img({ ...params, seed: '1001', steps: 6 }), source_image, source_processing, source_mask };
    return { kind: 'request', id, label, expect: [kindSent(bridge, served, capability) ? 'done' : 'not sent'], body };
  });
}

/** Every row of a run against a horde whose entry for HordeDesk is `bridge`. */
export function conformanceRows(
  bridge: BridgeSpec,
  served: ServedKinds = { kinds: TXT2IMG_ONLY, inpaintingModel: false },
): ConformanceRow[] {
  return [
    ...samplerRows(bridge),
    ...parameterRows(bridge),
    ...kindRows(bridge, served),
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
