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
 *   `text_encoders.clip_g.…`) is recognised so that a LoRA made for SDXL is refused with that reason.
 *
 * Our graphs ask for weights by their diffusers names (inference/graph), so a target is the diffusers name; the
 * ldm name comes from the converter's own mapping (`convert/ldmKeys.ts`), the one the installed weights came through.
 */
import { LDM_PREFIX, diffusersToLdm } from '../convert/ldmKeys';
import { expectedWeights, type SdGraphConfig } from '../graph';

/** The components a LoRA changes: the UNet (the request's `model` strength) and the text encoder (`clip`). */
export type LoraComponent = 'unet' | 'text_encoder';

/** One weight a LoRA module changes: its component, diffusers name (`….weight`) and shape. */
export interface LoraTarget {
  component: LoraComponent;
  weight: string;
  shape: readonly number[];
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

/** Every LoRA module name (the part before `.lora_up.weight`, `.alpha`, …) this model accepts, with its target. */
export function loraTargets(config: SdGraphConfig): Map<string, LoraTarget> {
  const map = new Map<string, LoraTarget>();
  const add = (key: string, target: LoraTarget): void => {
    if (!map.has(key)) map.set(key, target);
  };
  for (const { name, shape } of expectedWeights(config, 'unet')) {
    if (!name.endsWith('.weight')) continue;
    const target: LoraTarget = { component: 'unet', weight: name, shape };
    const ldm = withoutWeight(diffusersToLdm(name, 'unet', config).key.slice(LDM_PREFIX.unet.length));
    const diffusers = withoutWeight(name);
    add(`lora_unet_${underscored(ldm)}`, target);
    add(`diffusion_model.${ldm}`, target);
    add(`lora_unet_${underscored(diffusers)}`, target);
    add(`lycoris_${underscored(diffusers)}`, target);
    add(processorName(diffusers), target);
    add(`unet.${processorName(diffusers)}`, target);
  }
  for (const { name, shape } of expectedWeights(config, 'text_encoder')) {
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
  return map;
}

/** Module names of SDXL's second text encoder (OpenCLIP bigG): recognised only to refuse them with the reason. */
export function isSdxlSecondEncoderKey(module: string): boolean {
  return /^(lora_te2_|text_encoder_2\.|text_encoders\.clip_g\.)/.test(module);
}
