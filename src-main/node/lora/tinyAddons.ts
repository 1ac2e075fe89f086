import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSafetensors, type SafetensorsTensor } from '../../inference/convert/safetensors';
import { expectedWeights, makeTinyConfig } from '../../inference/graph';
import { mulberry32 } from '../../inference/graph/weights';
import { TINY_VOCAB_SIZE } from '../../inference/tokenizer';

// Tiny add-on files for the tiny model (node/models/tinyModel.ts), for the demo's fake CivitAI: a kohya-style
// LoRA on one cross-attention projection and one text-encoder MLP layer (the layouts trainers write: lora_down,
// lora_up and alpha per module, F16), and a textual inversion of two vectors at the text encoder's width, as the
// AI Hordeling hands them out (`emb_params` in a .safetensors). Seeded: the same seed gives the same bytes.

/** The tiny model's weight shape by diffusers name. */
function shapeOf(component: 'unet' | 'text_encoder', weight: string): number[] {
  const spec = expectedWeights(makeTinyConfig({ vocabSize: TINY_VOCAB_SIZE }), component).find((w) => w.name === weight);
  if (!spec) throw new Error(`the tiny model has no ${component} weight ${weight}`);
  return [...spec.shape];
}

function normal(next: () => number, n: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (next() * 2 - 1) * scale * Math.sqrt(3);
  return out;
}

/** The kohya modules of the tiny LoRA: (module key, component, diffusers weight). */
const MODULES: readonly [key: string, component: 'unet' | 'text_encoder', weight: string][] = [
  ['lora_unet_input_blocks_1_1_proj_in', 'unet', 'down_blocks.0.attentions.0.proj_in.weight'],
  [
    'lora_unet_input_blocks_1_1_transformer_blocks_0_attn2_to_k',
    'unet',
    'down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight',
  ],
  ['lora_te_text_model_encoder_layers_0_mlp_fc1', 'text_encoder', 'text_model.encoder.layers.0.mlp.fc1.weight'],
];

/** The bytes of a tiny kohya LoRA for the tiny model (rank 4, alpha 4, F16), seeded; `strength` scales its change. */
export function tinyLoraBytes(seed: number, strength = 1): Buffer {
  const next = mulberry32(seed);
  const tensors: SafetensorsTensor[] = [];
  for (const [key, component, weight] of MODULES) {
    const shape = shapeOf(component, weight);
    const [out = 1, inC = 1, ...kernel] = shape;
    const rank = 4;
    const down = kernel.length ? [rank, inC, ...kernel] : [rank, inC];
    const up = kernel.length ? [out, rank, 1, 1] : [out, rank];
    const fanIn = down.slice(1).reduce((a, b) => a * b, 1);
    tensors.push({ name: `${key}.lora_down.weight`, dtype: 'F16', shape: down, data: normal(next, rank * fanIn, 1 / Math.sqrt(fanIn)) });
    tensors.push({ name: `${key}.lora_up.weight`, dtype: 'F16', shape: up, data: normal(next, out * rank, strength / Math.sqrt(rank)) });
    tensors.push({ name: `${key}.alpha`, dtype: 'F32', shape: [], data: new Float32Array([rank]) });
  }
  return writeToBuffer(tensors, { ss_network_module: 'networks.lora' });
}

/** The bytes of a tiny textual inversion (two vectors at the tiny text encoder's width) as `emb_params`, seeded. */
export function tinyEmbeddingBytes(seed: number): Buffer {
  const width = makeTinyConfig({ vocabSize: TINY_VOCAB_SIZE }).textEncoder.hiddenSize;
  return writeToBuffer([{ name: 'emb_params', dtype: 'F32', shape: [2, width], data: normal(mulberry32(seed), 2 * width, 0.5) }]);
}

function writeToBuffer(tensors: SafetensorsTensor[], metadata?: Record<string, string>): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'hordedesk-tiny-addon-'));
  try {
    const path = join(dir, 'addon.safetensors');
    writeSafetensors(path, tensors, metadata);
    return readFileSync(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
