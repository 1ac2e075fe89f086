/**
 * The upscalers' ONNX graphs, written with our graph builder. Weights are asked for by their BasicSR (new-layout)
 * names for every RRDB file, and by `body.N` for SRVGGNetCompact; `architecture.ts` maps each file's own names.
 *
 * I/O: `image` f32 [batch, 3, height, width] in [0, 1] → `upscaled` f32 [batch, 3, height·scale, width·scale], raw
 * (unclamped, as the reference code's output; the runner clamps each tile as spandrel does). A pixel-unshuffle
 * model needs height and width divisible by its factor (the runner pads tiles to a multiple of 4, as spandrel does).
 */
import {
  BUILDER_VERSION,
  DataType,
  GraphBuilder,
  attr,
  type InitializerSink,
  type ModelSpec,
  type Opset,
  type WeightSource,
} from '../graph';
import { conv2d, upsampleNearest2x } from '../graph/ops';
import type { CompactSpec, RrdbSpec, UpscalerSpec } from './spec';

/** Input and output names. */
export const UPSCALER_INPUT = 'image';
export const UPSCALER_OUTPUT = 'upscaled';

/** LeakyReLU slope of every RRDB activation. */
const RRDB_SLOPE = 0.2;
/** Residual scaling inside RDBs and RRDBs. */
const RESIDUAL_SCALE = 0.2;

function lrelu(g: GraphBuilder, x: string): string {
  return g.op('LeakyRelu', [x], { alpha: attr.f(RRDB_SLOPE) });
}

function scaledResidual(g: GraphBuilder, y: string, x: string): string {
  return g.op('Add', [g.op('Mul', [y, g.constFloat([RESIDUAL_SCALE], [])]), x]);
}

/** ResidualDenseBlock_5C: four growing convs with LeakyReLU over the concatenation so far, a fifth back to nf. */
function rdb(g: GraphBuilder, x: string, prefix: string, nf: number, gc: number): string {
  return g.scope(prefix, () => {
    const parts = [x];
    for (let k = 1; k <= 4; k++) {
      const input = parts.length === 1 ? x : g.op('Concat', [...parts], { axis: attr.i(1) });
      parts.push(lrelu(g, conv2d(g, input, `${prefix}.conv${k}`, nf + (k - 1) * gc, gc, 3)));
    }
    const x5 = conv2d(g, g.op('Concat', [...parts], { axis: attr.i(1) }), `${prefix}.conv5`, nf + 4 * gc, nf, 3);
    return scaledResidual(g, x5, x);
  });
}

function rrdb(g: GraphBuilder, x: string, prefix: string, nf: number, gc: number): string {
  let h = x;
  for (let r = 1; r <= 3; r++) h = rdb(g, h, `${prefix}.rdb${r}`, nf, gc);
  return scaledResidual(g, h, x);
}

/**
 * RRDBNet as BasicSR and the 2018 code compute it. A pixel-unshuffle becomes SpaceToDepth, whose channel order
 * (offset-major) differs from torch's (channel-major): the weight source permutes `conv_first.weight`'s input
 * channels to match (see `unshuffleToSpaceToDepth`).
 */
function rrdbNet(g: GraphBuilder, image: string, s: RrdbSpec): string {
  const inC = 3 * s.shuffle * s.shuffle;
  const x = s.shuffle > 1 ? g.op('SpaceToDepth', [image], { blocksize: attr.i(s.shuffle) }) : image;
  const feat = conv2d(g, x, 'conv_first', inC, s.features, 3);
  let body = feat;
  for (let b = 0; b < s.blocks; b++) body = rrdb(g, body, `body.${b}`, s.features, s.growth);
  let h = g.op('Add', [feat, conv2d(g, body, 'conv_body', s.features, s.features, 3)]);
  for (let i = 1; i <= s.upconvs; i++) h = lrelu(g, conv2d(g, upsampleNearest2x(g, h), `conv_up${i}`, s.features, s.features, 3));
  return conv2d(g, lrelu(g, conv2d(g, h, 'conv_hr', s.features, s.features, 3)), 'conv_last', s.features, 3, 3);
}

/** Nearest ×`factor` (torch's 'nearest': out[y][x] = in[⌊y/f⌋][⌊x/f⌋]). */
function upsampleNearest(g: GraphBuilder, x: string, factor: number): string {
  return g.op('Resize', [x, '', g.constFloat32([1, 1, factor, factor])], {
    mode: attr.s('nearest'),
    coordinate_transformation_mode: attr.s('asymmetric'),
    nearest_mode: attr.s('floor'),
  });
}

/** SRVGGNetCompact: conv + PReLU pairs, a last conv to 3·s² channels, pixel shuffle, plus the nearest-upsampled input. */
function compactNet(g: GraphBuilder, image: string, s: CompactSpec): string {
  const nf = s.features;
  const prelu = (x: string, index: number): string => g.op('PRelu', [x, g.weight(`body.${index}.weight`, [nf], { dims: [nf, 1, 1] })]);
  let h = prelu(conv2d(g, image, 'body.0', 3, nf, 3), 1);
  for (let i = 1; i <= s.convs; i++) h = prelu(conv2d(g, h, `body.${2 * i}`, nf, nf, 3), 2 * i + 1);
  const last = conv2d(g, h, `body.${2 * s.convs + 2}`, nf, 3 * s.scale * s.scale, 3);
  const shuffled = g.op('DepthToSpace', [last], { blocksize: attr.i(s.scale), mode: attr.s('CRD') });
  return g.op('Add', [shuffled, upsampleNearest(g, image, s.scale)]);
}

/** Options of {@link buildUpscalerGraph}. */
export interface UpscalerBuildOptions {
  sink?: InitializerSink;
  opset?: Opset;
}

function builder(spec: UpscalerSpec, weights: WeightSource | null, opts: UpscalerBuildOptions): GraphBuilder {
  return new GraphBuilder({ opset: opts.opset ?? 17, dtype: 'fp32', weights, sink: opts.sink, name: `upscaler_${spec.arch}` });
}

function buildInto(g: GraphBuilder, spec: UpscalerSpec): void {
  const image = g.input(UPSCALER_INPUT, DataType.FLOAT, ['batch', 3, 'height', 'width']);
  const out = spec.arch === 'rrdb' ? rrdbNet(g, image, spec) : compactNet(g, image, spec);
  g.output(UPSCALER_OUTPUT, out, g.floatType, DataType.FLOAT, ['batch', 3, 'out_height', 'out_width']);
}

/** The upscaler's graph with its weights (fp32, as ComfyUI runs these models). */
export function buildUpscalerGraph(spec: UpscalerSpec, weights: WeightSource, opts: UpscalerBuildOptions = {}): ModelSpec {
  const g = builder(spec, weights, opts);
  buildInto(g, spec);
  return g.finish(`HordeDesk ${spec.arch} upscaler ×${spec.scale} (builder ${BUILDER_VERSION})`);
}

/** Every weight the graph asks for, by canonical name, with its shape, in graph order (no tensor is allocated). */
export function expectedUpscalerWeights(spec: UpscalerSpec): { name: string; shape: readonly number[] }[] {
  const g = builder(spec, null, {});
  buildInto(g, spec);
  return g.weightLog;
}

/**
 * `conv_first.weight` [out, 3·f², k, k] reordered for SpaceToDepth: torch's unshuffle puts offset (i, j) of
 * channel c at c·f² + i·f + j, SpaceToDepth at (i·f + j)·3 + c.
 */
export function unshuffleToSpaceToDepth(weight: Float32Array, outC: number, factor: number, kernelArea: number): Float32Array {
  const inC = 3 * factor * factor;
  const out = new Float32Array(weight.length);
  for (let o = 0; o < outC; o++) {
    for (let c = 0; c < 3; c++) {
      for (let off = 0; off < factor * factor; off++) {
        const from = (o * inC + c * factor * factor + off) * kernelArea;
        const to = (o * inC + off * 3 + c) * kernelArea;
        out.set(weight.subarray(from, from + kernelArea), to);
      }
    }
  }
  return out;
}
