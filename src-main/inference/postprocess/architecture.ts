/**
 * Which upscaler a state dict holds, read from its key names and weight shapes as spandrel (the horde's loader) does,
 * and the map from our graph's weight names to the file's. Anything that cannot be mapped is refused with an
 * {@link UpscalerFormatError} naming the tensor: an unknown layout, ESRGAN+, a missing or mis-shaped tensor, and
 * a left-over one (spandrel loads strictly, so the horde refuses those files too).
 */
import { UpscalerFormatError } from './errors';
import { expectedUpscalerWeights } from './graphs';
import type { CompactSpec, RrdbSpec, UpscalerLayout, UpscalerSpec } from './spec';

/** Tensor names and shapes (an open file, or a list in tests). */
export interface ShapeTable {
  names(): string[];
  shape(name: string): number[];
}

/** An upscaler's numbers and, for each weight our graph asks for, the file's tensor name. */
export interface UpscalerPlan {
  readonly spec: UpscalerSpec;
  /** Graph (canonical) name → the file's name. */
  readonly keys: ReadonlyMap<string, string>;
}

/** Highest captured index among `names` matching `re` (−1 when none does). */
function maxIndex(names: readonly string[], re: RegExp): number {
  let max = -1;
  for (const n of names) {
    const m = re.exec(n);
    if (m) max = Math.max(max, Number(m[1]));
  }
  return max;
}

/** Layout by spandrel's detection keys (ESRGAN+ refused first: its RDBs carry extra 1×1 convs). */
function detectLayout(names: readonly string[]): UpscalerLayout {
  const plus = names.find((n) => /\.conv1x1\./.test(n));
  if (plus !== undefined)
    throw new UpscalerFormatError(`This is an ESRGAN+ file (it has "${plus}"), which HordeDesk does not run yet.`, plus);
  const has = new Set(names);
  const all = (...keys: string[]): boolean => keys.every((k) => has.has(k));
  if (all('model.0.weight', 'model.1.sub.0.RDB1.conv1.0.weight')) return 'esrgan-old';
  if (all('conv_first.weight', 'body.0.rdb1.conv1.weight', 'conv_body.weight', 'conv_last.weight')) return 'basicsr';
  if (all('conv_first.weight', 'RRDB_trunk.0.RDB1.conv1.weight', 'trunk_conv.weight', 'conv_last.weight')) return 'esrgan-intermediate';
  if (all('body.0.weight', 'body.1.weight')) return 'compact';
  const first = names[0];
  throw new UpscalerFormatError(
    `Not an upscaler HordeDesk can map: no RRDBNet (ESRGAN, Real-ESRGAN) or SRVGGNetCompact layout fits its tensors` +
      `${first === undefined ? ' (the file holds none)' : ` (the first is "${first}")`}.`,
    first,
  );
}

/** Numbers that decide the RRDB names: blocks, and ×2 stages (from the old layout's Sequential length). */
function rrdbIndices(layout: RrdbSpec['layout'], names: readonly string[]): { blocks: number; upconvs: number } {
  if (layout === 'basicsr')
    return { blocks: maxIndex(names, /^body\.(\d+)\.rdb/) + 1, upconvs: Math.max(0, maxIndex(names, /^conv_up(\d+)\./)) };
  if (layout === 'esrgan-intermediate')
    return { blocks: maxIndex(names, /^RRDB_trunk\.(\d+)\./) + 1, upconvs: Math.max(0, maxIndex(names, /^upconv(\d+)\./)) };
  // spandrel: scale = 2^((len − 5) // 3) for the Sequential's length.
  const seqLen = maxIndex(names, /^model\.(\d+)\./) + 1;
  return { blocks: maxIndex(names, /^model\.1\.sub\.(\d+)\.RDB/) + 1, upconvs: Math.max(0, Math.floor((seqLen - 5) / 3)) };
}

/** Our (BasicSR) name → the file's, for an RRDB layout. */
function rrdbFileName(layout: RrdbSpec['layout'], name: string, blocks: number, upconvs: number): string {
  if (layout === 'basicsr') return name;
  const [module = '', leaf = ''] = /^(.*)\.(weight|bias)$/.exec(name)?.slice(1) ?? [];
  const body = /^body\.(\d+)\.rdb(\d)\.conv(\d)$/.exec(module);
  const up = /^conv_up(\d+)$/.exec(module);
  if (layout === 'esrgan-intermediate') {
    const fixed: Record<string, string> = { conv_body: 'trunk_conv', conv_hr: 'HRconv' };
    if (body) return `RRDB_trunk.${body[1]}.RDB${body[2]}.conv${body[3]}.${leaf}`;
    if (up) return `upconv${up[1]}.${leaf}`;
    return `${fixed[module] ?? module}.${leaf}`;
  }
  if (body) return `model.1.sub.${body[1]}.RDB${body[2]}.conv${body[3]}.0.${leaf}`;
  if (up) return `model.${3 * Number(up[1])}.${leaf}`;
  const fixed: Record<string, number | string> = {
    conv_first: 0,
    conv_body: `1.sub.${blocks}`,
    conv_hr: 3 * upconvs + 2,
    conv_last: 3 * upconvs + 4,
  };
  return `model.${fixed[module] ?? module}.${leaf}`;
}

/** A weight's shape, or a refusal naming the tensor when the file lacks it. */
function need(table: ShapeTable, has: ReadonlySet<string>, fileName: string): number[] {
  if (!has.has(fileName)) throw new UpscalerFormatError(`The upscaler file lacks the tensor "${fileName}".`, fileName);
  return table.shape(fileName);
}

function conv3Shape(shape: readonly number[]): boolean {
  return shape.length === 4 && shape[2] === 3 && shape[3] === 3;
}

/** RRDBNet numbers from the shapes: features and input channels from conv_first, growth from conv1, scale. */
function rrdbSpec(layout: RrdbSpec['layout'], table: ShapeTable, has: ReadonlySet<string>): RrdbSpec {
  const { blocks, upconvs } = rrdbIndices(layout, [...has]);
  const file = (name: string): string => rrdbFileName(layout, name, blocks, upconvs);
  const first = need(table, has, file('conv_first.weight'));
  if (!conv3Shape(first))
    throw new UpscalerFormatError(
      `"${file('conv_first.weight')}" has shape [${first.join(', ')}], not a 3×3 convolution.`,
      file('conv_first.weight'),
    );
  const [features = 0, inC = 0] = first;
  const shuffle = ({ 3: 1, 12: 2, 48: 4 } as Record<number, 1 | 2 | 4 | undefined>)[inC];
  if (shuffle === undefined)
    throw new UpscalerFormatError(
      `"${file('conv_first.weight')}" takes ${inC} input channels; HordeDesk runs RGB upscalers (3, or 12 and 48 behind a pixel-unshuffle).`,
      file('conv_first.weight'),
    );
  const growth = need(table, has, file('body.0.rdb1.conv1.weight'))[0] ?? 0;
  const scale = 2 ** upconvs / shuffle;
  if (!Number.isInteger(scale))
    throw new UpscalerFormatError(
      `${upconvs} upsampling stages behind a ×${shuffle} pixel-unshuffle make no whole scale.`,
      file('conv_first.weight'),
    );
  return { arch: 'rrdb', layout, scale, shuffle, features, blocks, growth, upconvs };
}

/** SRVGGNetCompact numbers: features from body.0, convs from the highest index, scale from the last conv's width. */
function compactSpec(table: ShapeTable, has: ReadonlySet<string>): CompactSpec {
  const last = maxIndex([...has], /^body\.(\d+)\./);
  if (last < 2 || last % 2 !== 0)
    throw new UpscalerFormatError(
      `SRVGGNetCompact ends with a convolution at an even index; "body.${last}" is not one.`,
      `body.${last}.weight`,
    );
  const features = need(table, has, 'body.0.weight')[0] ?? 0;
  const outC = need(table, has, `body.${last}.weight`)[0] ?? 0;
  const scale = Math.round(Math.sqrt(outC / 3));
  if (scale < 1 || 3 * scale * scale !== outC)
    throw new UpscalerFormatError(
      `"body.${last}.weight" has ${outC} outputs, not 3·scale² for an RGB pixel shuffle.`,
      `body.${last}.weight`,
    );
  return { arch: 'compact', layout: 'compact', scale, features, convs: (last - 2) / 2 };
}

/** Checks every weight the graph asks for against the file, and that nothing is left over. */
function mapWeights(spec: UpscalerSpec, table: ShapeTable, has: ReadonlySet<string>): Map<string, string> {
  const keys = new Map<string, string>();
  for (const { name, shape } of expectedUpscalerWeights(spec)) {
    const fileName = spec.arch === 'rrdb' ? rrdbFileName(spec.layout, name, spec.blocks, spec.upconvs) : name;
    const found = need(table, has, fileName);
    if (found.join(',') !== shape.join(','))
      throw new UpscalerFormatError(
        `"${fileName}" has shape [${found.join(', ')}]; a ${describe(spec)} needs [${shape.join(', ')}].`,
        fileName,
      );
    keys.set(name, fileName);
  }
  const used = new Set(keys.values());
  const extra = [...has].find((n) => !used.has(n));
  if (extra !== undefined)
    throw new UpscalerFormatError(`"${extra}" is not part of a ${describe(spec)}; the horde's loader refuses such files too.`, extra);
  return keys;
}

/** A short description: "RRDBNet ×4 (64 features, 23 blocks, growth 32)". */
export function describe(spec: UpscalerSpec): string {
  if (spec.arch === 'compact') return `SRVGGNetCompact ×${spec.scale} (${spec.features} features, ${spec.convs} convs)`;
  const unshuffle = spec.shuffle > 1 ? `, pixel-unshuffle ${spec.shuffle}` : '';
  return `RRDBNet ×${spec.scale} (${spec.features} features, ${spec.blocks} blocks, growth ${spec.growth}${unshuffle})`;
}

/** Reads the architecture and numbers of an upscaler state dict and maps its weights, or refuses naming the tensor. */
export function planUpscaler(table: ShapeTable): UpscalerPlan {
  const names = table.names();
  const has = new Set(names);
  const layout = detectLayout(names);
  const spec = layout === 'compact' ? compactSpec(table, has) : rrdbSpec(layout, table, has);
  return { spec, keys: mapWeights(spec, table, has) };
}
