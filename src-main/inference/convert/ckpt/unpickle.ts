// A restricted pickle virtual machine (protocols 2-5, the binary opcodes torch.save emits).
// It builds plain data only: dicts become Map, lists arrays, tuples frozen arrays, str string, bytes Uint8Array,
// int number (bigint beyond 2^53), float number. Globals resolve through the allow-list and are never executed;
// REDUCE/NEWOBJ/BUILD only ever call the TypeScript stand-ins in allowList.ts. The VM is iterative (no recursion).
import {
  type StorageRef, Opaque, OpaqueType, SafeFn, StorageType, UnsafeCheckpointError, isTensor, resolveGlobal,
} from './allowList';
import { CheckpointFormatError } from '../formatError';

/**
 * Resource limits that bound what a hostile pickle can make the VM do. Every opcode costs O(1) plus work that is
 * charged to one of these budgets, so time is linear in the pickle and memory is bounded by the limits.
 */
export interface UnpickleLimits {
  /** Most opcodes executed. */
  readonly maxOpcodes: number;
  /** Most values on the stack at once. */
  readonly maxStack: number;
  /** Most memo entries. */
  readonly maxMemo: number;
  /** Most open MARKs. */
  readonly maxMarks: number;
  /** Deepest container nesting, as the containers are built (a list in a dict in a tuple is 3). */
  readonly maxDepth: number;
  /** Most objects created: containers, strings, bytes, big ints, call results. */
  readonly maxObjects: number;
  /** Most items put into containers or handed to calls, in total (BUILD merges count each key). */
  readonly maxItems: number;
  /** Longest single str/bytes/LONG value in bytes. */
  readonly maxStringBytes: number;
  /** Most str/bytes/LONG bytes materialised in total. */
  readonly maxTotalBytes: number;
}

/**
 * Defaults. Real SD checkpoints (1-3k tensors, optimizer state included) use a few hundred thousand opcodes and
 * under 100k objects; a hostile file is stopped at a few hundred MB of heap at most.
 */
export const DEFAULT_UNPICKLE_LIMITS: UnpickleLimits = {
  maxOpcodes: 20_000_000,
  maxStack: 1_000_000,
  maxMemo: 500_000,
  maxMarks: 100,
  maxDepth: 100,
  maxObjects: 500_000,
  maxItems: 2_000_000,
  maxStringBytes: 16 * 1024 * 1024,
  maxTotalBytes: 128 * 1024 * 1024,
};

/** Longest GLOBAL line read (module or name); allowed names are far shorter. */
const MAX_GLOBAL_LINE = 256;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function limit(what: string, max: number): never {
  throw new UnsafeCheckpointError(`Refusing to load checkpoint: its pickle exceeds the ${what} limit (${max}); the file looks hostile or corrupt.`);
}

/** Interprets `('storage', StorageType, key, location, numel)` from BINPERSID. */
function persistentLoad(pid: unknown): StorageRef {
  if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) throw new CheckpointFormatError('Unsupported persistent id in checkpoint pickle.');
  const [, type, key, , numel] = pid as unknown[]; // the location ('cpu', 'cuda:0') does not matter here
  if (!(type instanceof StorageType)) throw new CheckpointFormatError('Persistent storage id does not name a torch storage type.');
  if (typeof key !== 'string' || key.length > 256 || !/^[\w.-]+$/.test(key)) throw new CheckpointFormatError('Persistent storage id has an invalid key.');
  if (!Number.isSafeInteger(numel) || (numel as number) < 0) throw new CheckpointFormatError('Persistent storage id has an invalid size.');
  return { kind: 'storage', dtype: type.dtype, key, numel: numel as number };
}

/**
 * Decodes a little-endian two's-complement integer in linear time (building a BigInt byte by byte with shifts is
 * quadratic: a 256 KB LONG4 took 87 s that way). Safe integers come back as numbers, the rest as bigint.
 */
export function decodeLong(b: Uint8Array): number | bigint {
  const n = b.length;
  if (n === 0) return 0; // BigInt('0x') is a SyntaxError
  const negative = ((b[n - 1] ?? 0) & 0x80) !== 0;
  let v = BigInt(`0x${Buffer.from(b).reverse().toString('hex')}`);
  if (negative) v -= 1n << BigInt(8 * n);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/**
 * Runs the pickle in `data` and returns its top value. Throws {@link UnsafeCheckpointError} for any global outside
 * the allow-list or any exceeded limit, and CheckpointFormatError for malformed or unsupported pickles.
 */
export function unpickle(data: Uint8Array, limits: UnpickleLimits = DEFAULT_UNPICKLE_LIMITS): unknown {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  let stack: unknown[] = [];
  const marks: unknown[][] = [];
  const memo = new Map<number, unknown>();
  // Nesting depth of each container, as built: a container is 1 deeper than the deepest thing put into it.
  const depths = new WeakMap<object, number>();
  let opcodes = 0;
  let objects = 0;
  let items = 0;
  let totalBytes = 0;

  const need = (n: number): number => {
    if (pos + n > data.length) throw new CheckpointFormatError('Checkpoint pickle is truncated.');
    const at = pos;
    pos += n;
    return at;
  };
  const u8 = (): number => data[need(1)] ?? 0;
  const u16 = (): number => view.getUint16(need(2), true);
  const u32 = (): number => view.getUint32(need(4), true);
  // Beyond 2^53 the number is approximate, but then far past every length limit anyway.
  const u64 = (): number => Number(view.getBigUint64(need(8), true));
  const created = <T>(v: T): T => {
    if (++objects > limits.maxObjects) limit('object', limits.maxObjects);
    return v;
  };
  const count = (n: number): void => {
    items += n;
    if (items > limits.maxItems) limit('container item', limits.maxItems);
  };
  const chargeBytes = (n: number): void => {
    totalBytes += n;
    if (totalBytes > limits.maxTotalBytes) limit('total string size', limits.maxTotalBytes);
  };
  const bytes = (n: number): Uint8Array => {
    if (n > limits.maxStringBytes) limit('string size', limits.maxStringBytes);
    const at = need(n);
    chargeBytes(n);
    created(null);
    return data.subarray(at, at + n);
  };
  const text = (n: number): string => {
    const raw = bytes(n);
    try {
      return utf8.decode(raw);
    } catch {
      throw new CheckpointFormatError('Checkpoint pickle contains invalid UTF-8 text.');
    }
  };
  const line = (): string => {
    const end = data.subarray(pos, pos + MAX_GLOBAL_LINE + 1).indexOf(0x0a);
    if (end < 0) throw new CheckpointFormatError('Checkpoint pickle has a malformed GLOBAL.');
    return Buffer.from(data.subarray(need(end + 1), pos - 1)).toString('latin1');
  };
  const depthOf = (v: unknown): number => depths.get(v as object) ?? 0; // a WeakMap has nothing for a primitive
  /** Records that `children` went into `container`, refusing nesting past the limit. */
  const nest = (container: object, children: readonly unknown[]): void => {
    let d = depths.get(container) ?? 1;
    for (const c of children) d = Math.max(d, depthOf(c) + 1);
    if (d > limits.maxDepth) limit('nesting depth', limits.maxDepth);
    depths.set(container, d);
  };
  const container = <T extends object>(v: T, children: readonly unknown[] = []): T => {
    created(v);
    nest(v, children);
    return v;
  };
  const tuple = (children: unknown[]): readonly unknown[] => {
    count(children.length);
    return container(Object.freeze(children), children);
  };
  const push = (v: unknown): void => {
    if (stack.length >= limits.maxStack) limit('stack', limits.maxStack);
    stack.push(v);
  };
  const pop = (): unknown => {
    if (stack.length === 0) throw new CheckpointFormatError('Checkpoint pickle pops an empty stack.');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) throw new CheckpointFormatError('Checkpoint pickle reads an empty stack.');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const inner = stack;
    const outer = marks.pop();
    if (outer === undefined) throw new CheckpointFormatError('Checkpoint pickle has no MARK to pop to.');
    stack = outer;
    return inner;
  };
  const put = (i: number): void => {
    if (!memo.has(i) && memo.size >= limits.maxMemo) limit('memo', limits.maxMemo);
    memo.set(i, top());
  };
  const get = (i: number): void => {
    if (!memo.has(i)) throw new CheckpointFormatError(`Checkpoint pickle reads missing memo entry ${i}.`);
    push(memo.get(i));
  };
  const setItems = (target: unknown, kv: unknown[]): void => {
    if (!(target instanceof Map) || kv.length % 2 !== 0) throw new CheckpointFormatError('SETITEM(S) on a non-dict.');
    count(kv.length / 2);
    nest(target, kv);
    for (let i = 0; i < kv.length; i += 2) target.set(kv[i], kv[i + 1]);
  };
  const append = (target: unknown, vs: unknown[]): void => {
    if (!Array.isArray(target) || Object.isFrozen(target)) throw new CheckpointFormatError('APPEND(S) on a non-list.');
    count(vs.length);
    nest(target, vs);
    for (const v of vs) target.push(v);
  };
  const addItems = (target: unknown, vs: unknown[]): void => {
    if (!(target instanceof Set)) throw new CheckpointFormatError('ADDITEMS on a non-set.');
    count(vs.length);
    nest(target, vs);
    for (const v of vs) target.add(v);
  };
  /** REDUCE/NEWOBJ: only allow-listed stand-ins run, and the work they do is charged to the item budget. */
  const call = (fn: unknown, args: unknown, op: string): unknown => {
    if (!Array.isArray(args)) throw new CheckpointFormatError(`${op} arguments are not a tuple.`);
    count(args.length);
    if (fn instanceof SafeFn) return created(fn.call(args, count));
    if (fn instanceof OpaqueType) return created(new Opaque(fn.name, args));
    throw new UnsafeCheckpointError(`Refusing to load checkpoint: ${op} targets something that is not an allowed callable.`);
  };

  for (;;) {
    if (++opcodes > limits.maxOpcodes) limit('opcode', limits.maxOpcodes);
    const op = u8();
    switch (op) {
      case 0x80: { const proto = u8(); if (proto > 5) throw new CheckpointFormatError(`Unsupported pickle protocol ${proto}.`); break; } // PROTO
      case 0x95: u64(); break; // FRAME: framing is only a read hint
      case 0x2e: { // STOP
        if (marks.length !== 0 || stack.length !== 1) throw new CheckpointFormatError('Checkpoint pickle ends with an unbalanced stack.');
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
      case 0x8a: push(decodeLong(bytes(u8()))); break; // LONG1
      case 0x8b: push(decodeLong(bytes(u32()))); break; // LONG4
      case 0x47: push(view.getFloat64(need(8), false)); break; // BINFLOAT (big-endian)
      case 0x8c: push(text(u8())); break; // SHORT_BINUNICODE
      case 0x58: push(text(u32())); break; // BINUNICODE
      case 0x8d: push(text(u64())); break; // BINUNICODE8
      case 0x55: push(Buffer.from(bytes(u8())).toString('latin1')); break; // SHORT_BINSTRING
      case 0x54: push(Buffer.from(bytes(u32())).toString('latin1')); break; // BINSTRING
      case 0x43: push(bytes(u8()).slice()); break; // SHORT_BINBYTES
      case 0x42: push(bytes(u32()).slice()); break; // BINBYTES
      case 0x8e: push(bytes(u64()).slice()); break; // BINBYTES8
      case 0x7d: push(container(new Map<unknown, unknown>())); break; // EMPTY_DICT
      case 0x5d: push(container<unknown[]>([])); break; // EMPTY_LIST
      case 0x29: push(tuple([])); break; // EMPTY_TUPLE
      case 0x8f: push(container(new Set<unknown>())); break; // EMPTY_SET
      case 0x64: { const kv = popMark(); const d = container(new Map<unknown, unknown>()); setItems(d, kv); push(d); break; } // DICT
      case 0x6c: { const vs = popMark(); const l = container<unknown[]>([]); append(l, vs); push(l); break; } // LIST
      case 0x74: push(tuple(popMark())); break; // TUPLE
      case 0x85: push(tuple([pop()])); break; // TUPLE1
      case 0x86: { const b = pop(); push(tuple([pop(), b])); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); push(tuple([pop(), b, c])); break; } // TUPLE3
      case 0x91: { const vs = popMark(); const fs = container(new Set<unknown>()); addItems(fs, vs); push(fs); break; } // FROZENSET
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const kv = popMark(); setItems(top(), kv); break; } // SETITEMS
      case 0x61: { const v = pop(); append(top(), [v]); break; } // APPEND
      case 0x65: { const vs = popMark(); append(top(), vs); break; } // APPENDS
      case 0x90: { const vs = popMark(); addItems(top(), vs); break; } // ADDITEMS
      case 0x71: put(u8()); break; // BINPUT
      case 0x72: put(u32()); break; // LONG_BINPUT
      case 0x94: put(memo.size); break; // MEMOIZE
      case 0x68: get(u8()); break; // BINGET
      case 0x6a: get(u32()); break; // LONG_BINGET
      case 0x63: { const module = line(); push(resolveGlobal(module, line())); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw new CheckpointFormatError('STACK_GLOBAL needs two strings.');
        push(resolveGlobal(module, name));
        break;
      }
      case 0x52: { const args = pop(); push(call(pop(), args, 'REDUCE')); break; } // REDUCE
      case 0x81: { const args = pop(); push(call(pop(), args, 'NEWOBJ')); break; } // NEWOBJ
      case 0x62: { // BUILD
        const state = pop();
        const obj = top();
        if (obj instanceof Opaque) obj.state = state;
        else if (obj instanceof Map && state instanceof Map) {
          count(state.size);
          nest(obj, [...state.values()]);
          for (const [k, v] of state) obj.set(k, v);
        } else if (!isTensor(obj)) {
          throw new CheckpointFormatError('BUILD on an object that cannot take state.');
        }
        break;
      }
      case 0x51: push(created(persistentLoad(pop()))); break; // BINPERSID
      default:
        throw new CheckpointFormatError(`Unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${pos - 1}.`);
    }
  }
}
