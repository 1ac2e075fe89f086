// Pickles written by hand for tests of the restricted unpickler: opcodes by name, values with their arguments,
// and the `_rebuild_tensor_v2` call torch.save writes for each tensor.

/** A piece of a pickle: a byte, bytes, or text written as latin1 bytes. */
export type Part = number | readonly number[] | string;

/** Opcodes by their names in CPython's pickletools. */
export const OP = {
  PROTO: 0x80,
  FRAME: 0x95,
  STOP: 0x2e,
  MARK: 0x28,
  POP: 0x30,
  POP_MARK: 0x31,
  DUP: 0x32,
  NONE: 0x4e,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  BININT: 0x4a,
  BININT1: 0x4b,
  BININT2: 0x4d,
  LONG1: 0x8a,
  LONG4: 0x8b,
  BINFLOAT: 0x47,
  SHORT_BINUNICODE: 0x8c,
  BINUNICODE: 0x58,
  BINUNICODE8: 0x8d,
  SHORT_BINSTRING: 0x55,
  BINSTRING: 0x54,
  SHORT_BINBYTES: 0x43,
  BINBYTES: 0x42,
  BINBYTES8: 0x8e,
  EMPTY_DICT: 0x7d,
  EMPTY_LIST: 0x5d,
  EMPTY_TUPLE: 0x29,
  EMPTY_SET: 0x8f,
  DICT: 0x64,
  LIST: 0x6c,
  TUPLE: 0x74,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  FROZENSET: 0x91,
  SETITEM: 0x73,
  SETITEMS: 0x75,
  APPEND: 0x61,
  APPENDS: 0x65,
  ADDITEMS: 0x90,
  BINPUT: 0x71,
  LONG_BINPUT: 0x72,
  MEMOIZE: 0x94,
  BINGET: 0x68,
  LONG_BINGET: 0x6a,
  GLOBAL: 0x63,
  STACK_GLOBAL: 0x93,
  REDUCE: 0x52,
  NEWOBJ: 0x81,
  BUILD: 0x62,
  BINPERSID: 0x51,
} as const;

/** Little-endian unsigned 32-bit. */
export const u32 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
/** Little-endian unsigned 64-bit. */
export const u64 = (n: number | bigint): number[] => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return [...b];
};

/** Concatenates parts into pickle bytes. */
export function pk(...parts: Part[]): Uint8Array {
  return Uint8Array.from(
    parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : typeof p === 'number' ? [p] : [...p])),
  );
}

/** A whole pickle: PROTO 2, the parts, STOP. */
export const pickle = (...parts: Part[]): Uint8Array => pk(OP.PROTO, 2, ...parts, OP.STOP);

/** A str (SHORT_BINUNICODE, or BINUNICODE past 255 bytes; UTF-8). */
export function str(s: string): number[] {
  const b = [...Buffer.from(s, 'utf8')];
  return b.length < 256 ? [OP.SHORT_BINUNICODE, b.length, ...b] : [OP.BINUNICODE, ...u32(b.length), ...b];
}

/** An int (BININT, signed 32-bit). */
export const int = (n: number): number[] => [OP.BININT, ...u32(n >>> 0)];

/** A GLOBAL `module.name`. */
export const global = (module: string, name: string): number[] => [OP.GLOBAL, ...Buffer.from(`${module}\n${name}\n`, 'latin1')];

/** A tuple of the items (MARK … TUPLE). */
export const tuple = (...items: Part[]): number[] => [...pk(OP.MARK, ...items, OP.TUPLE)];

/** `('storage', torch.<type>, key, 'cpu', numel)` BINPERSID: a storage reference. */
export const storage = (type: string, key: string, numel: number): number[] => [
  ...tuple(str('storage'), global('torch', type), str(key), str('cpu'), int(numel)),
  OP.BINPERSID,
];

/** The `_rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())` call torch.save writes for a tensor. */
export function tensor(t: {
  type?: string;
  key: string;
  numel: number;
  offset?: number;
  size: readonly number[];
  stride?: readonly number[];
}): number[] {
  const stride = t.stride ?? t.size.map((_, i) => t.size.slice(i + 1).reduce((a, b) => a * b, 1));
  return [
    ...global('torch._utils', '_rebuild_tensor_v2'),
    ...tuple(
      storage(t.type ?? 'FloatStorage', t.key, t.numel),
      int(t.offset ?? 0),
      tuple(...t.size.map(int)),
      tuple(...stride.map(int)),
      OP.NEWFALSE,
      global('collections', 'OrderedDict'),
      OP.EMPTY_TUPLE,
      OP.REDUCE,
    ),
    OP.REDUCE,
  ];
}

/** A pickle of one dict `{name: value}` (values are parts, e.g. `tensor(...)`). */
export function dictPickle(entries: readonly (readonly [string, Part])[]): Uint8Array {
  return pickle(OP.EMPTY_DICT, OP.MARK, ...entries.flatMap(([k, v]) => [str(k), v]), OP.SETITEMS);
}
