// The closed set of Python globals a checkpoint pickle may name, each mapped to an inert TypeScript stand-in.
// Nothing here ever runs Python code: a global not in ALLOWED_GLOBALS is refused the moment the pickle names it.
import { UserFacingError } from '../../../common/result';
import { CheckpointFormatError } from '../formatError';

/** The checkpoint names a Python global outside the allow-list, or exceeds a resource limit (hostile file). */
export class UnsafeCheckpointError extends UserFacingError {
  /** The offending global as `module.name`, when a global was the reason. */
  readonly global: string | undefined;
  constructor(message: string, global?: string) {
    super('ckpt-unsafe', message);
    this.name = 'UnsafeCheckpointError';
    this.global = global;
  }
}

/** Tensor element types, safetensors-style names. */
export type CkptDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** Bytes per element of each dtype. */
export const DTYPE_BYTES: Readonly<Record<CkptDtype, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** A storage named by a BINPERSID `('storage', type, key, location, numel)` tuple: bytes live in `data/<key>`. */
export interface StorageRef {
  readonly kind: 'storage';
  readonly dtype: CkptDtype;
  readonly key: string;
  readonly numel: number;
}

/** A tensor described by `_rebuild_tensor_v2(storage, offset, size, stride, ...)`; offset and stride in elements. */
export interface TensorRef {
  readonly kind: 'tensor';
  readonly storage: StorageRef;
  readonly offset: number;
  readonly size: readonly number[];
  readonly stride: readonly number[];
}

/** Whether a decoded value is a tensor (what `_rebuild_tensor_v2` made). */
export function isTensor(v: unknown): v is TensorRef {
  return (v as { kind?: unknown } | null | undefined)?.kind === 'tensor';
}

/** A harmless allowed object (numpy scalar, lightning callback, ...) kept as inert data, never constructed. */
export class Opaque {
  state: unknown = undefined;
  constructor(
    readonly type: string,
    readonly args: readonly unknown[],
  ) {}
}

/**
 * An allowed callable implemented in TypeScript (pure data transformation). `charge(n)` bills the VM's item budget
 * for work proportional to `n`, so a memoised argument re-used many times cannot make the reader quadratic.
 */
export class SafeFn {
  constructor(readonly call: (args: readonly unknown[], charge: (items: number) => void) => unknown) {}
}

/** An allowed storage class such as `torch.HalfStorage`: only a dtype token. */
export class StorageType {
  constructor(readonly dtype: CkptDtype) {}
}

/** An allowed class whose instances become {@link Opaque} values. */
export class OpaqueType {
  constructor(readonly name: string) {}
}

/** What an allowed global resolves to. */
export type AllowedGlobal = SafeFn | StorageType | OpaqueType;

function isInt(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

function intTuple(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || !v.every(isInt))
    throw new CheckpointFormatError(`_rebuild_tensor_v2: ${what} is not a tuple of non-negative integers.`);
  return [...(v as number[])];
}

function rebuildTensorV2(args: readonly unknown[], charge: (items: number) => void): TensorRef {
  const [storage, offset, size, stride] = args;
  charge((Array.isArray(size) ? size.length : 0) + (Array.isArray(stride) ? stride.length : 0));
  if ((storage as Partial<StorageRef> | null)?.kind !== 'storage') {
    throw new CheckpointFormatError('_rebuild_tensor_v2: first argument is not a storage.');
  }
  if (!isInt(offset)) throw new CheckpointFormatError('_rebuild_tensor_v2: storage offset is not a non-negative integer.');
  const sz = intTuple(size, 'size');
  const st = intTuple(stride, 'stride');
  if (sz.length !== st.length) throw new CheckpointFormatError('_rebuild_tensor_v2: size and stride differ in rank.');
  return { kind: 'tensor', storage: storage as StorageRef, offset, size: sz, stride: st };
}

const firstArg = (): SafeFn => new SafeFn((args) => args[0]);

/**
 * `_rebuild_from_type_v2(func, type, args, state)` → `func(*args)`; func may not be itself (no recursion). It hands
 * `args` on as it is (no work per item), so only `func` charges.
 */
function rebuildFromTypeV2(args: readonly unknown[], charge: (items: number) => void): unknown {
  const [func, , inner] = args;
  if (!(func instanceof SafeFn) || func.call === rebuildFromTypeV2 || !Array.isArray(inner)) {
    throw new CheckpointFormatError('_rebuild_from_type_v2: malformed arguments.');
  }
  return func.call(inner, charge);
}

function codecsEncode(args: readonly unknown[], charge: (items: number) => void): Uint8Array {
  const [text, encoding] = args;
  if (typeof text !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1')) {
    throw new CheckpointFormatError('_codecs.encode: only latin1 text is supported.');
  }
  charge(text.length);
  return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
}

const STORAGES: Record<string, CkptDtype> = {
  DoubleStorage: 'F64',
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};

const OPAQUE = [
  'numpy.core.multiarray.scalar',
  'numpy._core.multiarray.scalar',
  'numpy.dtype',
  'numpy.core.multiarray._reconstruct',
  'numpy._core.multiarray._reconstruct',
  'numpy.ndarray',
  'torch.Size',
  'torch.Tensor',
  'torch.nn.parameter.Parameter',
  'pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint',
  'argparse.Namespace',
];

/** The allow-list: `module.name` → inert stand-in. Everything else is refused with {@link UnsafeCheckpointError}. */
export const ALLOWED_GLOBALS: ReadonlyMap<string, AllowedGlobal> = new Map<string, AllowedGlobal>([
  ['collections.OrderedDict', new SafeFn(() => new Map<unknown, unknown>())],
  ['torch._utils._rebuild_tensor_v2', new SafeFn(rebuildTensorV2)],
  ['torch._utils._rebuild_parameter', firstArg()],
  ['torch._utils._rebuild_parameter_with_state', firstArg()],
  ['torch._tensor._rebuild_from_type_v2', new SafeFn(rebuildFromTypeV2)],
  ['_codecs.encode', new SafeFn(codecsEncode)],
  ...Object.entries(STORAGES).map(([n, d]): [string, AllowedGlobal] => [`torch.${n}`, new StorageType(d)]),
  ...OPAQUE.map((n): [string, AllowedGlobal] => [n, new OpaqueType(n)]),
]);

/** Longest `module` + `name` looked up; every allowed global is far shorter. */
const MAX_GLOBAL_NAME = 256;

/** Resolves `module.name` against the allow-list, or throws {@link UnsafeCheckpointError} naming it. */
export function resolveGlobal(module: string, name: string): AllowedGlobal {
  if (module.length + name.length > MAX_GLOBAL_NAME) {
    const shown = `${module.slice(0, 40)}.${name.slice(0, 40)}…`;
    throw new UnsafeCheckpointError(
      `Refusing to load checkpoint: its pickle references a Python global with an implausibly long name ("${shown}"); nothing from this file was executed.`,
      shown,
    );
  }
  const full = `${module}.${name}`;
  const found = ALLOWED_GLOBALS.get(full);
  if (found === undefined) {
    throw new UnsafeCheckpointError(
      `Refusing to load checkpoint: its pickle references the Python global "${full}", which is not on the allow-list ` +
        'of checkpoint globals. Pickled checkpoints can run arbitrary code; nothing from this file was executed. ' +
        'Prefer a .safetensors version of this model.',
      full,
    );
  }
  return found;
}
