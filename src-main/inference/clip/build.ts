/**
 * Builds the CLIP towers' ONNX models with the SD graph builder's machinery (weights by name, fp32 or fp16,
 * opset 17 or 21, inline or streamed initializers), and lists the weights each tower reads.
 */
import {
  DEFAULT_IO_DTYPES,
  type FloatDtype,
  GraphBuilder,
  type InitializerSink,
  type ModelSpec,
  type Opset,
  type SdIoDtypes,
  type WeightSource,
  type WeightSpec,
} from '../graph';
import { type ClipConfig, validateClipConfig } from './config';
import { textTowerGraph, visionTowerGraph } from './graphs';

/** A CLIP tower; the name is also its folder in a CLIP model folder. */
export type ClipTower = 'vision' | 'text';

/** Both towers, image first. */
export const CLIP_TOWERS: readonly ClipTower[] = ['vision', 'text'];

/** Options of `buildClipTower`. */
export interface ClipBuildOptions {
  /** Weight and compute precision (default fp32). Inputs and outputs stay float32 / int32 either way. */
  dtype?: FloatDtype;
  /** 17 (default) or 21. */
  opset?: Opset;
  /** Where initializer bytes go (default inline). */
  sink?: InitializerSink;
  /** `input_ids` element type (default int32). */
  inputIds?: SdIoDtypes['inputIds'];
}

function addTower(g: GraphBuilder, tower: ClipTower, config: ClipConfig, io: SdIoDtypes): void {
  validateClipConfig(config);
  if (tower === 'vision') {
    if (!config.vision) throw new Error('This CLIP config has no image tower');
    visionTowerGraph(g, config.vision, io);
  } else {
    if (!config.text) throw new Error('This CLIP config has no text tower');
    textTowerGraph(g, config.text, io);
  }
}

/**
 * Builds one tower. Image: `pixel_values` f32 [batch, 3, size, size] → `last_hidden_state`, `pooler_output`,
 * `image_embeds` f32 [batch, projection]. Text: `input_ids` int32 [batch, sequence] → `last_hidden_state`,
 * `pooler_output`, `text_embeds` f32 [batch, projection]. Embeddings are not normalised.
 */
export function buildClipTower(tower: ClipTower, config: ClipConfig, weights: WeightSource, opts: ClipBuildOptions = {}): ModelSpec {
  const g = new GraphBuilder({
    opset: opts.opset ?? 17,
    dtype: opts.dtype ?? 'fp32',
    weights,
    ...(opts.sink ? { sink: opts.sink } : {}),
    name: `clip_${tower}`,
  });
  addTower(g, tower, config, { ...DEFAULT_IO_DTYPES, inputIds: opts.inputIds ?? DEFAULT_IO_DTYPES.inputIds });
  return g.finish(`HordeDesk CLIP ${tower} tower`);
}

/**
 * The Hugging Face-named weights a tower reads, with their shapes, in graph order: computed by walking the
 * builder without a weight source, so the list cannot drift from what the graph asks for.
 */
export function expectedClipWeights(config: ClipConfig, tower: ClipTower): WeightSpec[] {
  const g = new GraphBuilder({ opset: 17, dtype: 'fp32', weights: null, name: `clip_${tower}` });
  addTower(g, tower, config, DEFAULT_IO_DTYPES);
  return g.weightLog;
}
