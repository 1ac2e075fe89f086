/**
 * Hugging Face CLIP checkpoints → our CLIP graphs. The graphs ask for weights by their HF names, so a name maps
 * to itself; what this module decides is which tensors of a file feed a tower, and that they fit:
 * - layouts: `CLIPModel` (both towers, `logit_scale`; `openai/clip-vit-large-patch14`),
 *   `CLIPVisionModelWithProjection` (`vision_model.*` + `visual_projection.weight`) and
 *   `CLIPTextModelWithProjection` (`text_model.*` + `text_projection.weight`);
 * - ignored: the int64 `*.position_ids` buffers (the graph makes positions itself), `logit_scale`, and the other
 *   tower's tensors;
 * - refused, with every problem listed: a missing tensor, a shape or dtype that does not fit, and a tensor under
 *   the tower's own prefixes that the graph does not read (a deeper or wider model than the config says).
 * The sizes come from the shapes (`clipConfigFromCheckpoint`), except the head counts, which no shape holds.
 */
import { type CheckpointTensors, ConversionError, READABLE_DTYPES, listedProblems } from '../convert/convert';
import { CheckpointFormatError } from '../convert/formatError';
import { WeightError, type WeightSource } from '../graph';
import { type ClipTower, expectedClipWeights } from './build';
import type { ClipConfig, ClipTextConfig, ClipVisionConfig } from './config';

/** The name prefixes of each tower's tensors in HF CLIP files. */
export const HF_TOWER_PREFIXES: Readonly<Record<ClipTower, readonly string[]>> = Object.freeze({
  vision: ['vision_model.', 'visual_projection.'],
  text: ['text_model.', 'text_projection.'],
});

/** Whether an HF tensor is not a weight any graph reads: position-id buffers and CLIPModel's `logit_scale`. */
export function isIgnoredHfKey(name: string): boolean {
  return name.endsWith('.position_ids') || name === 'logit_scale';
}

/** The towers a file holds: those whose projection it has. */
export function hfClipTowers(ckpt: Pick<CheckpointTensors, 'entries'>): ClipTower[] {
  const towers: ClipTower[] = [];
  if (ckpt.entries.has('visual_projection.weight')) towers.push('vision');
  if (ckpt.entries.has('text_projection.weight')) towers.push('text');
  return towers;
}

function shapeOf(ckpt: Pick<CheckpointTensors, 'path' | 'entry'>, key: string): readonly number[] {
  const e = ckpt.entry(key);
  if (!e) throw new CheckpointFormatError(`${ckpt.path}: tensor "${key}" is missing; this is not a Hugging Face CLIP checkpoint`);
  return e.shape;
}

function layerCount(ckpt: Pick<CheckpointTensors, 'entries'>, prefix: string): number {
  let n = 0;
  for (const key of ckpt.entries.keys()) {
    const m = key.startsWith(prefix) ? /^(\d+)\./.exec(key.slice(prefix.length)) : null;
    if (m) n = Math.max(n, Number(m[1]) + 1);
  }
  return n;
}

/** Image tower sizes from the shapes; `heads` defaults to width / 64, openai's rule for its CLIP models. */
export function visionConfigFromCheckpoint(ckpt: Pick<CheckpointTensors, 'path' | 'entry' | 'entries'>, heads?: number): ClipVisionConfig {
  const [width = 0, , patchSize = 0] = shapeOf(ckpt, 'vision_model.embeddings.patch_embedding.weight');
  const [positions = 0] = shapeOf(ckpt, 'vision_model.embeddings.position_embedding.weight');
  const grid = Math.round(Math.sqrt(positions - 1));
  if (grid * grid + 1 !== positions)
    throw new CheckpointFormatError(`${ckpt.path}: ${positions} image positions are not a square grid plus the class token`);
  return {
    imageSize: grid * patchSize,
    patchSize,
    width,
    layers: layerCount(ckpt, 'vision_model.encoder.layers.'),
    heads: heads ?? width / 64,
    mlpSize: shapeOf(ckpt, 'vision_model.encoder.layers.0.mlp.fc1.weight')[0] ?? 0,
    projectionDim: shapeOf(ckpt, 'visual_projection.weight')[0] ?? 0,
    layerNormEps: 1e-5,
    activation: 'quick_gelu',
  };
}

/** Text tower sizes from the shapes; EOS is the last id (CLIP's `<|endoftext|>`), `heads` defaults to width / 64. */
export function textConfigFromCheckpoint(ckpt: Pick<CheckpointTensors, 'path' | 'entry' | 'entries'>, heads?: number): ClipTextConfig {
  const [vocabSize = 0, hiddenSize = 0] = shapeOf(ckpt, 'text_model.embeddings.token_embedding.weight');
  return {
    vocabSize,
    hiddenSize,
    intermediateSize: shapeOf(ckpt, 'text_model.encoder.layers.0.mlp.fc1.weight')[0] ?? 0,
    layers: layerCount(ckpt, 'text_model.encoder.layers.'),
    heads: heads ?? hiddenSize / 64,
    maxPositions: shapeOf(ckpt, 'text_model.embeddings.position_embedding.weight')[0] ?? 0,
    layerNormEps: 1e-5,
    activation: 'quick_gelu',
    eosTokenId: vocabSize - 1,
    projectionDim: shapeOf(ckpt, 'text_projection.weight')[0] ?? 0,
  };
}

/** The config of every tower the file holds (head counts as given, else width / 64). */
export function clipConfigFromCheckpoint(
  ckpt: Pick<CheckpointTensors, 'path' | 'entry' | 'entries'>,
  heads: { vision?: number; text?: number } = {},
): ClipConfig {
  const towers = hfClipTowers(ckpt);
  if (towers.length === 0)
    throw new CheckpointFormatError(`${ckpt.path}: neither visual_projection.weight nor text_projection.weight; not a CLIP checkpoint`);
  return {
    ...(towers.includes('vision') ? { vision: visionConfigFromCheckpoint(ckpt, heads.vision) } : {}),
    ...(towers.includes('text') ? { text: textConfigFromCheckpoint(ckpt, heads.text) } : {}),
  };
}

/** One graph weight and the checkpoint tensor that feeds it. */
export interface PlannedClipWeight {
  name: string;
  shape: readonly number[];
  key: string;
}

function weightProblem(ckpt: Pick<CheckpointTensors, 'entry'>, name: string, shape: readonly number[]): string | null {
  const key = name; // the graphs ask for weights by their HF names
  const e = ckpt.entry(key);
  if (!e) return `missing ${key} (shape [${shape.join(', ')}])`;
  if (e.shape.join(',') !== shape.join(',')) return `${key}: shape [${e.shape.join(', ')}], expected [${shape.join(', ')}]`;
  if (!READABLE_DTYPES.has(e.dtype)) return `${key}: dtype ${e.dtype} cannot be converted (need F32, F16 or BF16)`;
  return null;
}

/**
 * Resolves every weight of `tower` to a tensor of the file and checks that nothing under the tower's prefixes is
 * left unread, without reading tensor data. Throws a `ConversionError` listing every problem.
 */
export function planClipWeights(
  ckpt: Pick<CheckpointTensors, 'path' | 'entry' | 'entries'>,
  config: ClipConfig,
  tower: ClipTower,
): Map<string, PlannedClipWeight> {
  const plan = new Map<string, PlannedClipWeight>();
  const problems: string[] = [];
  for (const { name, shape } of expectedClipWeights(config, tower)) {
    const problem = weightProblem(ckpt, name, shape);
    if (problem) problems.push(problem);
    else plan.set(name, { name, shape, key: name });
  }
  const used = new Set([...plan.values()].map((p) => p.key));
  for (const key of ckpt.entries.keys()) {
    const ours = HF_TOWER_PREFIXES[tower].some((p) => key.startsWith(p));
    if (ours && !isIgnoredHfKey(key) && !used.has(key) && !problems.some((p) => p.startsWith(`${key}:`)))
      problems.push(`${key}: not part of a ${tower} tower of this size (config and file disagree)`);
  }
  if (problems.length > 0)
    throw new ConversionError(
      `${ckpt.path}: the CLIP ${tower} tower does not fit (${problems.length} problem(s)):\n  ${listedProblems(problems)}`,
      problems,
    );
  return plan;
}

/** A `WeightSource` that reads planned tensors from the checkpoint when the graph asks for them. */
export function clipWeightSource(
  ckpt: Pick<CheckpointTensors, 'read'>,
  plan: ReadonlyMap<string, PlannedClipWeight>,
  onRead?: (name: string) => void,
): WeightSource {
  return {
    get(name, shape) {
      const p = plan.get(name);
      if (!p) throw new WeightError(name, `Weight ${name} was not planned`);
      if (p.shape.join(',') !== shape.join(','))
        throw new WeightError(name, `Weight ${name}: expected shape [${shape.join(', ')}], planned [${p.shape.join(', ')}]`);
      const data = ckpt.read(p.key);
      onRead?.(name);
      return data;
    },
  };
}
