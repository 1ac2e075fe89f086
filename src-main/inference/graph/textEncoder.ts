/**
 * The CLIP text encoder graph (HF CLIPTextModel as SD1 uses it): token + position embeddings, pre-LN
 * causal transformer layers, final LayerNorm, pooled output at the first EOS token.
 */
import { type GraphBuilder, attr } from './builder';
import { clipEncoderLayer } from './clipEncoder';
import type { SdGraphConfig, TextEncoderConfig } from './config';
import { DIMS, type SdBuildOptions, type SdIoDtypes, elemTypeOf, floatOutput, resolveOptions } from './io';
import { DataType } from './onnxProto';
import { causalMask, layerNorm } from './ops';

const P = 'text_model';

/** Values of a built CLIP text transformer: the final LayerNorm's output, the pooled vector and every layer's input. */
export interface ClipTextTower {
  /** `last_hidden_state` [batch, sequence, hidden] (after the final LayerNorm). */
  last: string;
  /** `pooler_output` [batch, hidden]: `last` at the first EOS token. */
  pooled: string;
  /** The embeddings, then each layer's output, before the final LayerNorm (clip skip reads these). */
  states: string[];
}

/**
 * The CLIP text transformer (HF `text_model.*` weight names) from the graph input `input_ids`: used by the SD
 * text encoder and by the CLIP text tower, which adds `text_projection` to `pooled`.
 */
export function clipTextTower(g: GraphBuilder, c: TextEncoderConfig, io: SdIoDtypes): ClipTextTower {
  const d = c.hiddenSize;
  const idsType = elemTypeOf(io.inputIds);
  const ids = g.cast(g.input('input_ids', idsType, [DIMS.batch, DIMS.sequence]), idsType, DataType.INT64);

  const tokens = g.op('Gather', [g.weight(`${P}.embeddings.token_embedding.weight`, [c.vocabSize, d]), ids], { axis: attr.i(0) });
  const seqLen = g.op('Shape', [ids], { start: attr.i(1), end: attr.i(2) });
  const positions = g.op('Slice', [
    g.weight(`${P}.embeddings.position_embedding.weight`, [c.maxPositions, d]),
    g.constInt64([0]),
    seqLen,
    g.constInt64([0]),
  ]);
  let h = g.op('Add', [tokens, positions]);
  const mask = causalMask(g, c.maxPositions, seqLen);
  const states = [h];
  const layer = { dim: d, heads: c.heads, intermediate: c.intermediateSize, layerNormEps: c.layerNormEps, activation: c.activation };
  for (let l = 0; l < c.layers; l++) {
    h = clipEncoderLayer(g, h, `${P}.encoder.layers.${l}`, layer, mask);
    states.push(h);
  }

  const last = layerNorm(g, h, `${P}.final_layer_norm`, d, c.layerNormEps);
  // Pooled = hidden state at the first EOS. ArgMax returns the first maximum; SD and HF pad with EOS, openai
  // with 0, and EOS is CLIP's highest id, so this is also openai's and HF's `input_ids.argmax(-1)`.
  const isEos = g.op('Cast', [g.op('Equal', [ids, g.constInt64([c.eosTokenId ?? c.vocabSize - 1], [])])], { to: attr.i(DataType.FLOAT) });
  const eosAt = g.op('ArgMax', [isEos], { axis: attr.i(1), keepdims: attr.i(1) });
  const pooled = g.op('GatherND', [last, eosAt], { batch_dims: attr.i(1) });
  return { last, pooled, states };
}

/** Adds the text encoder to `g`. */
export function textEncoderGraph(g: GraphBuilder, config: SdGraphConfig, opts: SdBuildOptions = {}): void {
  const { io, hiddenStates } = resolveOptions(opts);
  const c = config.textEncoder;
  const d = c.hiddenSize;
  const { last, pooled, states } = clipTextTower(g, c, io);

  floatOutput(g, io, 'last_hidden_state', last, [DIMS.batch, DIMS.sequence, d]);
  floatOutput(g, io, 'pooler_output', pooled, [DIMS.batch, d]);
  if (hiddenStates) {
    states.forEach((s, i) => floatOutput(g, io, `hidden_states.${i}`, s, [DIMS.batch, DIMS.sequence, d]));
    // Clip skip as diffusers and ComfyUI apply it: an earlier layer's output through the final
    // LayerNorm. Published exports lack these, so HordeDesk adds them to the models it builds.
    states.forEach((s, i) =>
      floatOutput(g, io, `normed_hidden_states.${i}`, layerNorm(g, s, `${P}.final_layer_norm`, d, c.layerNormEps), [
        DIMS.batch,
        DIMS.sequence,
        d,
      ]),
    );
  }
}
