// A restricted pickle virtual machine (protocols 2-5, the binary opcodes torch.save emits).
// It builds plain data only: dicts become Map, lists arrays, tuples frozen arrays, str string, bytes Uint8Array,
// int number (bigint beyond 2^53), float number. Globals resolve through the allow-list and are never executed;
// REDUCE/NEWOBJ/BUILD only ever call the TypeScript stand-ins in allowList.ts. The VM is iterative (no recursion).
import {
  type StorageRef, Opaque, OpaqueType, SafeFn, StorageType, UnsafeCheckpointError, resolveGlobal,
} from './allowList';
import { CkptFormatError } from './zip';

/** Resource limits that bound what a hostile pickle can make the VM allocate. */
export interface UnpickleLimits {
  /** Most values on the stack at once (also bounds nesting built without MARK). */
  readonly maxStack: number;
  /** Most memo entries. */
  readonly maxMemo: number;
  /** Most open MARKs (nesting depth). */
  readonly maxMarks: number;
  /** Most items added to lists/dicts in total. */
  readonly maxItems: number;
  /** Longest single str/bytes value in bytes. */
  readonly maxStringBytes: number;
}

/** Defaults: generous for real SD checkpoints (~1-3k tensors), small next to a hostile file's ambitions. */
export const DEFAULT_UNPICKLE_LIMITS: UnpickleLimits = {
  maxStack: 1_000_000, maxMemo: 1_000_000, maxMarks: 1_000, maxItems: 20_000_000, maxStringBytes: 64 * 1024 * 1024,
};

const utf8 = new TextDecoder('utf-8', { fatal: true });
const tuple = (items: unknown[]): readonly unknown[] => Object.freeze(items);

function limit(what: string, max: number): never {
  throw new UnsafeCheckpointError(`Refusing to load checkpoint: its pickle exceeds the ${what} limit (${max}); the file looks hostile or corrupt.`);
}

/** Interprets `('storage', StorageType, key, location, numel)` from BINPERSID. */
function persistentLoad(pid: unknown): StorageRef {
  if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) throw new CkptFormatError('Unsupported persistent id in checkpoint pickle.');
  const [, type, key, location, numel] = pid as unknown[];
  if (!(type instanceof StorageType)) throw new CkptFormatError('Persistent storage id does not name a torch storage type.');
  if (typeof key !== 'string' || !/^[\w.-]+$/.test(key)) throw new CkptFormatError('Persistent storage id has an invalid key.');
  if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) throw new CkptFormatError('Persistent storage id has an invalid size.');
  return { kind: 'storage', dtype: type.dtype, key, location: typeof location === 'string' ? location : '', numel };
}

function call(fn: unknown, args: unknown, op: string): unknown {
  if (!Array.isArray(args)) throw new CkptFormatError(`${op} arguments are not a tuple.`);
  if (fn instanceof SafeFn) return fn.call(args);
  if (fn instanceof OpaqueType) return new Opaque(fn.name, args);
  throw new UnsafeCheckpointError(`Refusing to load checkpoint: ${op} targets something that is not an allowed callable.`);
}

/**
 * Runs the pickle in `data` and returns its top value. Throws {@link UnsafeCheckpointError} for any global outside
 * the allow-list or any exceeded limit, and CkptFormatError for malformed or unsupported pickles.
 */
export function unpickle(data: Uint8Array, limits: UnpickleLimits = DEFAULT_UNPICKLE_LIMITS): unknown {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  let stack: unknown[] = [];
  const marks: unknown[][] = [];
  const memo = new Map<number, unknown>();
  let items = 0;

  const need = (n: number): number => {
    if (n < 0 || pos + n > data.length) throw new CkptFormatError('Checkpoint pickle is truncated.');
    const at = pos;
    pos += n;
    return at;
  };
  const u8 = (): number => data[need(1)] ?? 0;
  const u16 = (): number => view.getUint16(need(2), true);
  const u32 = (): number => view.getUint32(need(4), true);
  const u64 = (): number => {
    const v = view.getBigUint64(need(8), true);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
  };
  const bytes = (n: number): Uint8Array => {
    if (n > limits.maxStringBytes) limit('string size', limits.maxStringBytes);
    const at = need(n);
    return data.subarray(at, at + n);
  };
  const text = (n: number): string => {
    try {
      return utf8.decode(bytes(n));
    } catch (e) {
      if (e instanceof UnsafeCheckpointError || e instanceof CkptFormatError) throw e;
      throw new CkptFormatError('Checkpoint pickle contains invalid UTF-8 text.');
    }
  };
  const line = (): string => {
    const end = data.indexOf(0x0a, pos);
    if (end < 0 || end - pos > 1024) throw new CkptFormatError('Checkpoint pickle has a malformed GLOBAL.');
    return Buffer.from(data.subarray(need(end - pos + 1), end)).toString('latin1');
  };
  const push = (v: unknown): void => {
    if (stack.length >= limits.maxStack) limit('stack', limits.maxStack);
    stack.push(v);
  };
  const pop = (): unknown => {
    if (stack.length === 0) throw new CkptFormatError('Checkpoint pickle pops an empty stack.');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) throw new CkptFormatError('Checkpoint pickle reads an empty stack.');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const inner = stack;
    const outer = marks.pop();
    if (outer === undefined) throw new CkptFormatError('Checkpoint pickle has no MARK to pop to.');
    stack = outer;
    return inner;
  };
  const put = (i: number): void => {
    if (!memo.has(i) && memo.size >= limits.maxMemo) limit('memo', limits.maxMemo);
    memo.set(i, top());
  };
  const get = (i: number): void => {
    if (!memo.has(i)) throw new CkptFormatError(`Checkpoint pickle reads missing memo entry ${i}.`);
    push(memo.get(i));
  };
  const count = (n: number): void => {
    items += n;
    if (items > limits.maxItems) limit('container item', limits.maxItems);
  };
  const setItems = (target: unknown, kv: unknown[]): void => {
    if (!(target instanceof Map) || kv.length % 2 !== 0) throw new CkptFormatError('SETITEM(S) on a non-dict.');
    count(kv.length / 2);
    for (let i = 0; i < kv.length; i += 2) target.set(kv[i], kv[i + 1]);
  };
  const append = (target: unknown, vs: unknown[]): void => {
    if (!Array.isArray(target) || Object.isFrozen(target)) throw new CkptFormatError('APPEND(S) on a non-list.');
    count(vs.length);
    for (const v of vs) target.push(v);
  };
  const long = (n: number): number | bigint => {
    const b = bytes(n);
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i] ?? 0);
    if (n > 0 && ((b[n - 1] ?? 0) & 0x80) !== 0) v -= 1n << BigInt(8 * n);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: { const proto = u8(); if (proto > 5) throw new CkptFormatError(`Unsupported pickle protocol ${proto}.`); break; } // PROTO
      case 0x95: u64(); break; // FRAME: framing is only a read hint
      case 0x2e: { // STOP
        if (marks.length !== 0 || stack.length !== 1) throw new CkptFormatError('Checkpoint pickle ends with an unbalanced stack.');
        return stack[0];
      }
      case 0x28: if (marks.length >= limits.maxMarks) limit('nesting (MARK)', limits.maxMarks); marks.push(stack); stack = []; break;
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: push(top()); break; // DUP
      case 0x4e: push(null); break; // NONE
      case 0x88: push(true); break; // NEWTRUE
      case 0x89: push(false); break; // NEWFALSE
      case 0x4a: push(view.getInt32(need(4), true)); break; // BININT
      case 0x4b: push(u8()); break; // BININT1
      case 0x4d: push(u16()); break; // BININT2
      case 0x8a: push(long(u8())); break; // LONG1
      case 0x8b: push(long(u32())); break; // LONG4
      case 0x47: push(view.getFloat64(need(8), false)); break; // BINFLOAT (big-endian)
      case 0x8c: push(text(u8())); break; // SHORT_BINUNICODE
      case 0x58: push(text(u32())); break; // BINUNICODE
      case 0x8d: push(text(u64())); break; // BINUNICODE8
      case 0x55: push(Buffer.from(bytes(u8())).toString('latin1')); break; // SHORT_BINSTRING
      case 0x54: push(Buffer.from(bytes(u32())).toString('latin1')); break; // BINSTRING
      case 0x43: push(bytes(u8()).slice()); break; // SHORT_BINBYTES
      case 0x42: push(bytes(u32()).slice()); break; // BINBYTES
      case 0x8e: push(bytes(u64()).slice()); break; // BINBYTES8
      case 0x7d: push(new Map<unknown, unknown>()); break; // EMPTY_DICT
      case 0x5d: push([]); break; // EMPTY_LIST
      case 0x29: push(tuple([])); break; // EMPTY_TUPLE
      case 0x8f: push(new Set<unknown>()); break; // EMPTY_SET
      case 0x64: { const kv = popMark(); const d = new Map<unknown, unknown>(); setItems(d, kv); push(d); break; } // DICT
      case 0x6c: { const vs = popMark(); const l: unknown[] = []; append(l, vs); push(l); break; } // LIST
      case 0x74: push(tuple(popMark())); break; // TUPLE
      case 0x85: push(tuple([pop()])); break; // TUPLE1
      case 0x86: { const b = pop(); push(tuple([pop(), b])); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); push(tuple([pop(), b, c])); break; } // TUPLE3
      case 0x91: push(new Set(popMark())); break; // FROZENSET
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const kv = popMark(); setItems(top(), kv); break; } // SETITEMS
      case 0x61: { const v = pop(); append(top(), [v]); break; } // APPEND
      case 0x65: { const vs = popMark(); append(top(), vs); break; } // APPENDS
      case 0x90: { const vs = popMark(); const s = top(); if (!(s instanceof Set)) throw new CkptFormatError('ADDITEMS on a non-set.'); count(vs.length); vs.forEach((v) => s.add(v)); break; }
      case 0x71: put(u8()); break; // BINPUT
      case 0x72: put(u32()); break; // LONG_BINPUT
      case 0x94: put(memo.size); break; // MEMOIZE
      case 0x68: get(u8()); break; // BINGET
      case 0x6a: get(u32()); break; // LONG_BINGET
      case 0x63: { const module = line(); push(resolveGlobal(module, line())); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw new CkptFormatError('STACK_GLOBAL needs two strings.');
        push(resolveGlobal(module, name));
        break;
      }
      case 0x52: { const args = pop(); push(call(pop(), args, 'REDUCE')); break; } // REDUCE
      case 0x81: { const args = pop(); push(call(pop(), args, 'NEWOBJ')); break; } // NEWOBJ
      case 0x62: { // BUILD
        const state = pop();
        const obj = top();
        if (obj instanceof Opaque) obj.state = state;
        else if (obj instanceof Map && state instanceof Map) for (const [k, v] of state) obj.set(k, v);
        else if (!(typeof obj === 'object' && obj !== null && (obj as { kind?: unknown }).kind === 'tensor')) {
          throw new CkptFormatError('BUILD on an object that cannot take state.');
        }
        break;
      }
      case 0x51: push(persistentLoad(pop())); break; // BINPERSID
      default:
        throw new CkptFormatError(`Unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${pos - 1}.`);
    }
  }
}
