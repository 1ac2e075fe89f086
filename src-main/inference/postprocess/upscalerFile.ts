/**
 * Reads a published upscaler file as the horde's stack does: a torch `.pth` (zip with any folder prefix, or the
 * legacy non-zip format) through our restricted unpickler, or a `.safetensors`; then ComfyUI's `load_torch_file`
 * (`state_dict`, or the one item of a one-item dict, unwrapped) and spandrel's `canonicalize_state_dict` (the first of `model_state_dict`, `state_dict`,
 * `params_ema`, `params-ema`, `params`, `model`, `net` that holds a dict is unwrapped; a `module.` or `netG.` prefix
 * every key shares is removed). The format is read from the first bytes, never from the file name.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { type CkptFile, openCkpt } from '../convert/ckpt/ckptReader';
import { isLegacyTorchFile, openLegacyCkpt } from '../convert/ckpt/legacy';
import { SafetensorsReader } from '../convert/safetensors';

/** An open weight file: tensor names (canonicalised), shapes and float32 reads. Call `close()` when done. */
export interface UpscalerTensors {
  /** Which container the file is. */
  readonly container: 'pth-zip' | 'pth-legacy' | 'safetensors';
  names(): string[];
  shape(name: string): number[];
  read(name: string): Float32Array;
  close(): void;
}

/** spandrel's unwrap keys, in its order. */
export const UNWRAP_KEYS = ['model_state_dict', 'state_dict', 'params_ema', 'params-ema', 'params', 'model', 'net'] as const;
/** spandrel's common prefixes, removed in this order when every key has them. */
export const COMMON_PREFIXES = ['module.', 'netG.'] as const;

/**
 * The dict of tensors the horde's loader ends up with, from the unpickled top value. A state dict's own `_metadata`
 * (an attribute in Python, a key once our unpickler merges the BUILD state) is not one of its items.
 */
export function hordeStateDict(top: unknown): unknown {
  if (!(top instanceof Map)) return top;
  let dict: Map<unknown, unknown> = top;
  const items = [...dict.keys()].filter((k) => k !== '_metadata');
  const only = items.length === 1 ? dict.get(items[0]) : undefined;
  // ComfyUI: `state_dict` if present, else the value of a lone key that holds a dict.
  const comfy = dict.get('state_dict') ?? only;
  if (comfy instanceof Map) dict = comfy;
  for (const key of UNWRAP_KEYS) {
    const inner = dict.get(key);
    if (inner instanceof Map) return inner;
  }
  return dict;
}

/** `names` with each of {@link COMMON_PREFIXES} removed when every name starts with it: new name → file name. */
export function stripCommonPrefixes(names: readonly string[]): Map<string, string> {
  let current = names.map((n) => [n, n] as const);
  for (const prefix of COMMON_PREFIXES) {
    if (current.length > 0 && current.every(([n]) => n.startsWith(prefix))) current = current.map(([n, f]) => [n.slice(prefix.length), f]);
  }
  return new Map(current);
}

function readHead(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(4);
    readSync(fd, head, 0, 4, 0);
    return head;
  } finally {
    closeSync(fd);
  }
}

/** A table over a checkpoint, with the prefix rule applied. */
function fromCkpt(ckpt: CkptFile, container: 'pth-zip' | 'pth-legacy'): UpscalerTensors {
  return renamed(container, ckpt.names(), ckpt.shape, ckpt.read, () => ckpt.close());
}

function renamed(
  container: UpscalerTensors['container'],
  fileNames: readonly string[],
  shape: (name: string) => number[],
  read: (name: string) => Float32Array,
  close: () => void,
): UpscalerTensors {
  const map = stripCommonPrefixes(fileNames);
  const fileName = (name: string): string => {
    const f = map.get(name);
    if (f === undefined) throw new Error(`The upscaler file has no tensor "${name}".`);
    return f;
  };
  return { container, names: () => [...map.keys()], shape: (n) => shape(fileName(n)), read: (n) => read(fileName(n)), close };
}

/**
 * Opens an upscaler weight file (`.pth` zip or legacy, `.safetensors`) and presents the state dict the horde's
 * loader would build. Throws CheckpointFormatError for malformed files, UnsafeCheckpointError for a pickle that
 * names a global outside the allow-list (nothing is executed).
 */
export function openUpscalerFile(path: string): UpscalerTensors {
  const head = readHead(path);
  if (head.readUInt32LE(0) === 0x04034b50) return fromCkpt(openCkpt(path, { selectStateDict: hordeStateDict }), 'pth-zip');
  if (isLegacyTorchFile(head)) return fromCkpt(openLegacyCkpt(path, { selectStateDict: hordeStateDict }), 'pth-legacy');
  const st = new SafetensorsReader(path);
  const names = [...st.entries.keys()];
  return renamed(
    'safetensors',
    names,
    (n) => [...(st.entries.get(n)?.shape ?? [])],
    (n) => st.read(n),
    () => st.close(),
  );
}
