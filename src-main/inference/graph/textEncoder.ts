/**
 * The CLIP text encoder graph (HF CLIPTextModel as SD1 uses it): token + position embeddings, pre-LN
 * causal transformer layers, final LayerNorm, pooled output at the first EOS token.
 */
import { type GraphBuilder, attr } from './builder';
import type { SdGraphConfig } from './config';
import { DIMS, type SdBuildOptions, elemTypeOf, floatOutput, resolveOptions } from './io';
import { DataType } from './onnxProto';
import { attention, causalMask, gelu, layerNorm, linear, quickGelu } from './ops';

const P = 'text_model';

/** Adds the text encoder to `g`. */
export function textEncoderGraph(g: GraphBuilder, config: SdGraphConfig, opts: SdBuildOptions = {}): void {
  const { io, hiddenStates } = resolveOptions(opts);
  const c = config.textEncoder;
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

  for (let l = 0; l < c.layers; l++) {
    const p = `${P}.encoder.layers.${l}`;
    h = g.scope(p, () => {
      const n1 = layerNorm(g, h, `${p}.layer_norm1`, d, c.layerNormEps);
      const q = linear(g, n1, `${p}.self_attn.q_proj`, d, d);
      const k = linear(g, n1, `${p}.self_attn.k_proj`, d, d);
      const v = linear(g, n1, `${p}.self_attn.v_proj`, d, d);
      const attn = linear(g, attention(g, q, k, v, c.heads, d / c.heads, mask), `${p}.self_attn.out_proj`, d, d);
      const x = g.op('Add', [h, attn]);
      const n2 = layerNorm(g, x, `${p}.layer_norm2`, d, c.layerNormEps);
      const fc1 = linear(g, n2, `${p}.mlp.fc1`, d, c.intermediateSize);
      const act = c.activation === 'quick_gelu' ? quickGelu(g, fc1) : gelu(g, fc1);
      return g.op('Add', [x, linear(g, act, `${p}.mlp.fc2`, c.intermediateSize, d)]);
    });
    states.push(h);
  }

  const last = layerNorm(g, h, `${P}.final_layer_norm`, d, c.layerNormEps);
  // Pooled = hidden state at the first EOS. ArgMax returns the first maximum, and SD pads with EOS too.
  const isEos = g.op('Cast', [g.op('Equal', [ids, g.constInt64([c.eosTokenId ?? c.vocabSize - 1], [])])], { to: attr.i(DataType.FLOAT) });
  const eosAt = g.op('ArgMax', [isEos], { axis: attr.i(1), keepdims: attr.i(1) });
  const pooled = g.op('GatherND', [last, eosAt], { batch_dims: attr.i(1) });

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
