/**
 * Which layer of our model a LoRA key names. The names are the ones the reference worker's ComfyUI accepts
 * (comfyanonymous/ComfyUI `comfy/lora.py`, `model_lora_keys_unet` and `model_lora_keys_clip`, stored version
 * 41444b5):
 *
 * - UNet, for every `diffusion_model.<ldm>.weight` of the model: `lora_unet_<ldm with . as _>` (what kohya's
 *   sd-scripts writes for SD 1.x, e.g. `lora_unet_input_blocks_1_1_proj_in`) and the generic `diffusion_model.<ldm>`;
 *   for every diffusers name (`comfy.utils.unet_to_diffusers`): `lora_unet_<diffusers with . as _>` (kohya's other
 *   spelling, e.g. `lora_unet_down_blocks_0_attentions_0_proj_in`), `lycoris_<same>` (SimpleTuner) and the diffusers
 *   names `<name>` and `unet.<name>` with `.to_` written `.processor.to_` and a trailing `.to_out.0` written
 *   `.to_out` (diffusers' attention-processor LoRAs).
 * - Text encoder, for each CLIP layer b and module c of `LORA_CLIP_MAP` (mlp.fc1, mlp.fc2, self_attn.{q,k,v,out}_proj):
 *   `lora_te_text_model_encoder_layers_<b>_<c with . as _>`, `lora_te1_…` (the first encoder, SDXL's CLIP-L),
 *   `text_encoder.text_model.encoder.layers.<b>.<c>` (diffusers), and for every text-encoder weight the generic
 *   `text_encoders.clip_l.transformer.<name>`. SDXL's second encoder (`lora_te2_…`, `text_encoder_2.…`,
 *   `text_encoders.clip_g.…`) is recognised on an SD 1.x model so that a LoRA made for SDXL is refused with that
 *   reason; on an SDXL model `sdxlLoraTargets` maps it.
 *
 * Our graphs ask for weights by their diffusers names (inference/graph), so a target is the diffusers name; the
 * ldm name comes from the converter's own mapping (`convert/ldmKeys.ts`), the one the installed weights came through.
 */
import { LDM_PREFIX, diffusersToLdm } from '../convert/ldmKeys';
import { SDXL_PREFIX, sdxlTensorKey } from '../convert/sdxlKeys';
import { expectedWeights, type SdGraphConfig, type WeightSpec } from '../graph';
import type { SdxlGraphConfig } from '../graph/sdxlConfig';
import { expectedSdxlWeights } from '../graph/sdxlModel';

/**
 * The components a LoRA changes: the UNet (the request's `model` strength) and the text encoders (`clip`; SDXL's
 * second one, OpenCLIP-G, is `text_encoder_2`).
 */
export type LoraComponent = 'unet' | 'text_encoder' | 'text_encoder_2';

/** One weight a LoRA module changes: its component, diffusers name (`….weight`) and shape. */
export interface LoraTarget {
  component: LoraComponent;
  weight: string;
  /** The shape the module's change must have: the whole weight's, or the rows' (`rows`). */
  shape: readonly number[];
  /**
   * Only these rows (first axis, diffusers layout) of `weight`: OpenCLIP keeps q, k and v stacked in one
   * `attn.in_proj_weight` [3d, d], where the LoRA (and ComfyUI's HF-layout CLIP-G) has separate q/k/v_proj [d, d].
   */
  rows?: { offset: number; count: number; of: readonly number[] };
  /**
   * The weight is stored under its own name as the transpose of this [out, in] matrix (OpenCLIP's `text_projection`,
   * used as x @ text_projection, is the transpose of the Hugging Face / ComfyUI `text_projection.weight`).
   */
  storedTransposed?: true;
}

/** ComfyUI's `LORA_CLIP_MAP`: CLIP module → the underscore spelling in kohya keys. */
export const LORA_CLIP_MAP: Readonly<Record<string, string>> = {
  'mlp.fc1': 'mlp_fc1',
  'mlp.fc2': 'mlp_fc2',
  'self_attn.k_proj': 'self_attn_k_proj',
  'self_attn.q_proj': 'self_attn_q_proj',
  'self_attn.v_proj': 'self_attn_v_proj',
  'self_attn.out_proj': 'self_attn_out_proj',
};

const underscored = (name: string): string => name.replace(/\./g, '_');
const withoutWeight = (name: string): string => name.slice(0, -'.weight'.length);

/** The diffusers attention-processor spelling ComfyUI maps (`.to_q` → `.processor.to_q`, `.to_out.0` → `.processor.to_out`). */
function processorName(diffusers: string): string {
  const name = diffusers.replace(/\.to_/g, '.processor.to_');
  return name.endsWith('.to_out.0') ? name.slice(0, -2) : name;
}

type AddTarget = (key: string, target: LoraTarget) => void;

/** ComfyUI's UNet names for each weight: `ldmOf` gives the weight's ldm name (after `diffusion_model.`). */
function addUnetTargets(add: AddTarget, weights: readonly WeightSpec[], ldmOf: (name: string) => string): void {
  for (const { name, shape } of weights) {
    if (!name.endsWith('.weight')) continue;
    const target: LoraTarget = { component: 'unet', weight: name, shape };
    const ldm = withoutWeight(ldmOf(name));
    const diffusers = withoutWeight(name);
    add(`lora_unet_${underscored(ldm)}`, target);
    add(`diffusion_model.${ldm}`, target);
    add(`lora_unet_${underscored(diffusers)}`, target);
    add(`lycoris_${underscored(diffusers)}`, target);
    add(processorName(diffusers), target);
    add(`unet.${processorName(diffusers)}`, target);
  }
}

/** ComfyUI's names for the (first) CLIP text encoder, in the Hugging Face layout our graphs store. */
function addClipLTargets(add: AddTarget, weights: readonly WeightSpec[]): void {
  for (const { name, shape } of weights) {
    if (!name.endsWith('.weight')) continue;
    const target: LoraTarget = { component: 'text_encoder', weight: name, shape };
    const module = withoutWeight(name);
    add(`text_encoders.clip_l.transformer.${module}`, target);
    const layer = /^text_model\.encoder\.layers\.(\d+)\.(.+)$/.exec(module);
    const mapped = layer ? LORA_CLIP_MAP[layer[2] as string] : undefined;
    if (!layer || mapped === undefined) continue;
    add(`lora_te_text_model_encoder_layers_${layer[1]}_${mapped}`, target);
    add(`lora_te1_text_model_encoder_layers_${layer[1]}_${mapped}`, target);
    add(`text_encoder.${module}`, target);
  }
}

function targetMap(): { map: Map<string, LoraTarget>; add: AddTarget } {
  const map = new Map<string, LoraTarget>();
  return { map, add: (key, target) => void (map.has(key) ? undefined : map.set(key, target)) };
}

/** Every LoRA module name (the part before `.lora_up.weight`, `.alpha`, …) this SD 1.x model accepts, with its target. */
export function loraTargets(config: SdGraphConfig): Map<string, LoraTarget> {
  const { map, add } = targetMap();
  addUnetTargets(add, expectedWeights(config, 'unet'), (name) => diffusersToLdm(name, 'unet', config).key.slice(LDM_PREFIX.unet.length));
  addClipLTargets(add, expectedWeights(config, 'text_encoder'));
  return map;
}

/** OpenCLIP's module for each Hugging Face CLIP module of `LORA_CLIP_MAP` (q/k/v are rows of `in_proj_weight`). */
const OPEN_CLIP_MODULE: Readonly<Record<string, { weight: string; row?: number }>> = {
  'mlp.fc1': { weight: 'mlp.c_fc.weight' },
  'mlp.fc2': { weight: 'mlp.c_proj.weight' },
  'self_attn.q_proj': { weight: 'attn.in_proj_weight', row: 0 },
  'self_attn.k_proj': { weight: 'attn.in_proj_weight', row: 1 },
  'self_attn.v_proj': { weight: 'attn.in_proj_weight', row: 2 },
  'self_attn.out_proj': { weight: 'attn.out_proj.weight' },
};

/**
 * Every LoRA module name an SDXL model accepts (ComfyUI `model_lora_keys_unet` / `model_lora_keys_clip` with both
 * CLIP-L and CLIP-G present, stored version 41444b5):
 * - UNet: as for SD 1.x, with SDXL's ldm numbering (`lora_unet_input_blocks_4_1_transformer_blocks_1_attn1_to_q`,
 *   `lora_unet_label_emb_0_0`) from the converter's own mapping (`convert/sdxlKeys.ts`) and diffusers' names.
 * - CLIP-L (`text_encoder`): `lora_te_…`, `lora_te1_…`, `text_encoder.…`, `text_encoders.clip_l.transformer.…`.
 * - CLIP-G (`text_encoder_2`): `lora_te2_text_model_encoder_layers_<b>_<c>` and the diffusers
 *   `text_encoder_2.text_model.encoder.layers.<b>.<c>` (plus the generic `text_encoders.clip_g.transformer.…`), which
 *   ComfyUI applies to its Hugging Face-layout CLIP-G; our graph keeps OpenCLIP's layout, so q/k/v_proj patch their
 *   rows of the stacked `attn.in_proj_weight`, fc1/fc2 are `mlp.c_fc`/`mlp.c_proj`, out_proj is `attn.out_proj`.
 */
export function sdxlLoraTargets(config: SdxlGraphConfig): Map<string, LoraTarget> {
  const { map, add } = targetMap();
  addUnetTargets(add, expectedSdxlWeights(config, 'unet'), (name) =>
    sdxlTensorKey(name, 'unet', config).key.slice(SDXL_PREFIX.unet.length),
  );
  addClipLTargets(add, expectedSdxlWeights(config, 'text_encoder'));
  const g = config.textEncoder2;
  const d = g.width;
  const shapes = new Map(expectedSdxlWeights(config, 'text_encoder_2').map((w) => [w.name, w.shape]));
  for (let b = 0; b < g.layers; b++)
    for (const [hf, mapped] of Object.entries(LORA_CLIP_MAP)) {
      const open = OPEN_CLIP_MODULE[hf] as { weight: string; row?: number };
      const weight = `transformer.resblocks.${b}.${open.weight}`;
      const full = shapes.get(weight);
      if (!full) continue;
      const target: LoraTarget =
        open.row === undefined
          ? { component: 'text_encoder_2', weight, shape: full }
          : { component: 'text_encoder_2', weight, shape: [d, d], rows: { offset: open.row * d, count: d, of: full } };
      const module = `text_model.encoder.layers.${b}.${hf}`;
      add(`lora_te2_text_model_encoder_layers_${b}_${mapped}`, target);
      add(`text_encoder_2.${module}`, target);
      add(`text_encoders.clip_g.transformer.${module}`, target);
    }
  // ComfyUI (41444b5) maps `lora_te2_text_projection` (OneTrainer) onto CLIP-G's text_projection.weight [proj, d].
  add('lora_te2_text_projection', {
    component: 'text_encoder_2',
    weight: 'text_projection',
    shape: [g.projectionDim, d],
    storedTransposed: true,
  });
  return map;
}

/** Module names of SDXL's second text encoder (OpenCLIP bigG): recognised only to refuse them with the reason. */
export function isSdxlSecondEncoderKey(module: string): boolean {
  return /^(lora_te2_|text_encoder_2\.|text_encoders\.clip_g\.)/.test(module);
}
