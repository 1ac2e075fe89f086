/**
 * Name mapping from diffusers tensor names (what the graph builder asks for) to the keys of an
 * original single-file ldm Stable Diffusion 1.x checkpoint, plus checkpoint family detection.
 * Layout facts: shared/docs/SD-ONNX.md §5.2. The mapping is computed from the config's block counts,
 * so tiny test configs map the same way as SD 1.5.
 */
import type { SdComponent, SdGraphConfig } from '../graph';
import { CheckpointFormatError } from './formatError';

/** ldm key prefixes of the SD1 components. */
export const LDM_PREFIX = {
  unet: 'model.diffusion_model.',
  vae: 'first_stage_model.',
  textEncoder: 'cond_stage_model.transformer.',
} as const;

/** A key present only in SD1-layout UNets (the last output block's resnet has a skip conv). */
export const SD1_DETECTION_KEY = 'model.diffusion_model.output_blocks.11.0.skip_connection.weight';

/** The SD1 detection key for a config: the last output block's skip conv (SD 1.5: `SD1_DETECTION_KEY`). */
export function sd1DetectionKey(config: SdGraphConfig): string {
  const { layersPerBlock, blockOutChannels } = config.unet;
  return `${LDM_PREFIX.unet}output_blocks.${blockOutChannels.length * (layersPerBlock + 1) - 1}.0.skip_connection.weight`;
}

/** Where one diffusers tensor lives in the ldm checkpoint. */
export interface LdmKey {
  /** Primary ldm key. */
  key: string;
  /** Other keys that hold the same tensor in some checkpoints (e.g. CLIP saved without `text_model.`). */
  alternatives?: string[];
  /** `squeeze1x1`: stored as a [out, in, 1, 1] conv kernel, used as a [out, in] Linear weight (same data). */
  transform?: 'squeeze1x1';
}

const UNET_RESNET: Record<string, string> = {
  norm1: 'in_layers.0',
  conv1: 'in_layers.2',
  time_emb_proj: 'emb_layers.1',
  norm2: 'out_layers.0',
  conv2: 'out_layers.3',
  conv_shortcut: 'skip_connection',
};

const VAE_ATTENTION: Record<string, string> = { group_norm: 'norm', to_q: 'q', to_k: 'k', to_v: 'v', 'to_out.0': 'proj_out' };

function unmapped(name: string, component: string): never {
  throw new CheckpointFormatError(`No ldm key is known for ${component} tensor "${name}"`);
}

/** `resnets.N.<rest>` inside a UNet block → `<rest>` with ldm resnet names. */
function unetResnetRest(rest: string): string {
  const dot = rest.indexOf('.');
  const head = rest.slice(0, dot);
  return `${UNET_RESNET[head] ?? head}${rest.slice(dot)}`;
}

/** Maps a diffusers UNet tensor name to its ldm key (without prefix). */
function unetKey(name: string, config: SdGraphConfig): string {
  const { layersPerBlock: lpb, attentionLevels } = config.unet;
  const levels = attentionLevels.length;
  const fixed: Record<string, string> = {
    'time_embedding.linear_1': 'time_embed.0',
    'time_embedding.linear_2': 'time_embed.2',
    conv_in: 'input_blocks.0.0',
    conv_norm_out: 'out.0',
    conv_out: 'out.2',
  };
  const leafDot = name.lastIndexOf('.');
  const fixedHit = fixed[name.slice(0, leafDot)];
  if (fixedHit !== undefined) return `${fixedHit}${name.slice(leafDot)}`;
  let m = /^down_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.+)$/.exec(name);
  if (m) {
    const index = Number(m[1]) * (lpb + 1) + Number(m[3]) + 1;
    return m[2] === 'resnets' ? `input_blocks.${index}.0.${unetResnetRest(m[4] as string)}` : `input_blocks.${index}.1.${m[4]}`;
  }
  m = /^down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.+)$/.exec(name);
  if (m) return `input_blocks.${(Number(m[1]) + 1) * (lpb + 1)}.0.op.${m[2]}`;
  m = /^mid_block\.(resnets|attentions)\.(\d+)\.(.+)$/.exec(name);
  // The resnet renames touch no attention name (norm, proj_in, transformer_blocks, proj_out), so both take them.
  if (m) return `middle_block.${m[1] === 'attentions' ? 1 : Number(m[2]) * 2}.${unetResnetRest(m[3] as string)}`;
  m = /^up_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.+)$/.exec(name);
  if (m) {
    const index = Number(m[1]) * (lpb + 1) + Number(m[3]);
    return m[2] === 'resnets' ? `output_blocks.${index}.0.${unetResnetRest(m[4] as string)}` : `output_blocks.${index}.1.${m[4]}`;
  }
  m = /^up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.+)$/.exec(name);
  if (m) {
    const block = Number(m[1]);
    const hasAttention = attentionLevels[levels - 1 - block] === true;
    return `output_blocks.${block * (lpb + 1) + lpb}.${hasAttention ? 2 : 1}.conv.${m[2]}`;
  }
  return unmapped(name, 'unet');
}

/** Maps a diffusers VAE tensor name (`encoder.*`, `decoder.*`, `quant_conv`, `post_quant_conv`) to its ldm key. */
function vaeKey(name: string, config: SdGraphConfig): LdmKey {
  const levels = config.vae.blockOutChannels.length;
  if (/^(post_)?quant_conv\./.test(name)) return { key: `${LDM_PREFIX.vae}${name}` };
  const m = /^(encoder|decoder)\.(.+)$/.exec(name);
  if (!m) return unmapped(name, 'vae');
  const side = m[1] as string;
  let rest = m[2] as string;
  rest = rest.replace(/^conv_norm_out\./, 'norm_out.');
  let transform: LdmKey['transform'];
  let a: RegExpExecArray | null;
  if ((a = /^mid_block\.attentions\.0\.(group_norm|to_q|to_k|to_v|to_out\.0)\.(weight|bias)$/.exec(rest))) {
    rest = `mid.attn_1.${VAE_ATTENTION[a[1] as string]}.${a[2]}`;
    if (a[1] !== 'group_norm' && a[2] === 'weight') transform = 'squeeze1x1';
  } else if ((a = /^mid_block\.resnets\.(\d+)\.(.+)$/.exec(rest))) {
    rest = `mid.block_${Number(a[1]) + 1}.${a[2]}`;
  } else if ((a = /^down_blocks\.(\d+)\.resnets\.(\d+)\.(.+)$/.exec(rest))) {
    rest = `down.${a[1]}.block.${a[2]}.${a[3]}`;
  } else if ((a = /^down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.+)$/.exec(rest))) {
    rest = `down.${a[1]}.downsample.conv.${a[2]}`;
  } else if ((a = /^up_blocks\.(\d+)\.resnets\.(\d+)\.(.+)$/.exec(rest))) {
    rest = `up.${levels - 1 - Number(a[1])}.block.${a[2]}.${a[3]}`;
  } else if ((a = /^up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.+)$/.exec(rest))) {
    rest = `up.${levels - 1 - Number(a[1])}.upsample.conv.${a[2]}`;
  } else if (!/^(conv_in|conv_out|norm_out)\.(weight|bias)$/.test(rest)) {
    return unmapped(name, 'vae');
  }
  rest = rest.replace(/\.conv_shortcut\./, '.nin_shortcut.');
  return { key: `${LDM_PREFIX.vae}${side}.${rest}`, ...(transform ? { transform } : {}) };
}

/**
 * The ldm checkpoint key holding the diffusers-named tensor `name` of `component`, for SD 1.x
 * single-file checkpoints. Throws `CheckpointFormatError` for a name outside the known layout.
 */
export function diffusersToLdm(name: string, component: SdComponent, config: SdGraphConfig): LdmKey {
  if (component === 'text_encoder') {
    const key = `${LDM_PREFIX.textEncoder}${name}`;
    return name.startsWith('text_model.')
      ? { key, alternatives: [`${LDM_PREFIX.textEncoder}${name.slice('text_model.'.length)}`] }
      : { key };
  }
  if (component === 'unet') return { key: `${LDM_PREFIX.unet}${unetKey(name, config)}` };
  return vaeKey(name, config);
}

/** Checkpoint families told apart by `detectLdmFamily`. */
export type LdmFamily = 'sd1' | 'sd1-inpainting' | 'sd2' | 'sdxl' | 'unknown';

/** Family of a checkpoint from its key set and the shape of the UNet's first conv; `detectionKey` defaults to SD 1.5's. */
export function detectLdmFamily(
  keys: Iterable<string>,
  shapeOf: (key: string) => readonly number[] | undefined,
  detectionKey = SD1_DETECTION_KEY,
): LdmFamily {
  const set = new Set(keys);
  const has = (prefix: string): boolean => [...set].some((k) => k.startsWith(prefix));
  if (has('conditioner.embedders.')) return 'sdxl';
  if (has('cond_stage_model.model.')) return 'sd2';
  if (!set.has(detectionKey)) return 'unknown';
  const convIn = shapeOf(`${LDM_PREFIX.unet}input_blocks.0.0.weight`);
  if (convIn && convIn[1] === 9) return 'sd1-inpainting';
  return 'sd1';
}

/** The families `convertCheckpoint` converts: SD 1.x, and SD 1.x inpainting (a 9-channel UNet input). */
export type ConvertibleFamily = Extract<LdmFamily, 'sd1' | 'sd1-inpainting'>;

/** Throws a `CheckpointFormatError` with a clear message unless the family is convertible (SD 1.x, inpainting included). */
export function assertSupportedFamily(
  family: LdmFamily,
  path: string,
  detectionKey = SD1_DETECTION_KEY,
): asserts family is ConvertibleFamily {
  const why: Record<Exclude<LdmFamily, ConvertibleFamily>, string> = {
    sd2: 'is an SD 2.x checkpoint (OpenCLIP text encoder); only SD 1.x is supported',
    sdxl: 'is an SDXL checkpoint; only SD 1.x is supported',
    unknown: `does not look like an SD 1.x ldm checkpoint (no "${detectionKey}"); diffusers-layout or other files are not supported`,
  };
  if (family !== 'sd1' && family !== 'sd1-inpainting') throw new CheckpointFormatError(`${path} ${why[family]}`);
}
