// A restricted pickle virtual machine (protocols 2-5, the binary opcodes torch.save emits).
// It builds plain data only: dicts become Map, lists arrays, tuples frozen arrays, str string, bytes Uint8Array,
// int number (bigint beyond 2^53), float number. Globals resolve through the allow-list and are never executed;
// REDUCE/NEWOBJ/BUILD only ever call the TypeScript stand-ins in allowList.ts. The VM is iterative (no recursion).
// pickleMachine.ts holds its state and the budgeted operations; this file is the opcode table and the loop.
import { type StorageRef, StorageType, resolveGlobal } from './allowList';
import { CheckpointFormatError } from '../formatError';
import { DEFAULT_UNPICKLE_LIMITS, PickleMachine, limit, type UnpickleLimits } from './pickleMachine';

export { DEFAULT_UNPICKLE_LIMITS, type UnpickleLimits } from './pickleMachine';

/** Interprets `('storage', StorageType, key, location, numel)` from BINPERSID. */
function persistentLoad(pid: unknown): StorageRef {
  if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5)
    throw new CheckpointFormatError('Unsupported persistent id in checkpoint pickle.');
  const [, type, key, , numel] = pid as unknown[]; // the location ('cpu', 'cuda:0') does not matter here
  if (!(type instanceof StorageType)) throw new CheckpointFormatError('Persistent storage id does not name a torch storage type.');
  if (typeof key !== 'string' || key.length > 256 || !/^[\w.-]+$/.test(key))
    throw new CheckpointFormatError('Persistent storage id has an invalid key.');
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

/** One opcode's work on the machine (STOP, which ends the run, is the loop's own). */
type OpHandler = (m: PickleMachine) => void;

const STOP = 0x2e;

/** Every opcode the VM knows, by byte; anything else is refused. */
const OPS: Readonly<Record<number, OpHandler>> = {
  // framing and the stack
  0x80: (m) => {
    const proto = m.u8();
    if (proto > 5) throw new CheckpointFormatError(`Unsupported pickle protocol ${proto}.`);
  }, // PROTO
  0x95: (m) => void m.u64(), // FRAME: framing is only a read hint
  0x28: (m) => m.mark(), // MARK
  0x30: (m) => void m.pop(), // POP
  0x31: (m) => void m.popMark(), // POP_MARK
  0x32: (m) => m.push(m.top()), // DUP
  // constants and numbers
  0x4e: (m) => m.push(null), // NONE
  0x88: (m) => m.push(true), // NEWTRUE
  0x89: (m) => m.push(false), // NEWFALSE
  0x4a: (m) => m.push(m.i32()), // BININT
  0x4b: (m) => m.push(m.u8()), // BININT1
  0x4d: (m) => m.push(m.u16()), // BININT2
  0x8a: (m) => m.push(decodeLong(m.bytes(m.u8()))), // LONG1
  0x8b: (m) => m.push(decodeLong(m.bytes(m.u32()))), // LONG4
  0x47: (m) => m.push(m.f64()), // BINFLOAT
  // strings and bytes
  0x8c: (m) => m.push(m.text(m.u8())), // SHORT_BINUNICODE
  0x58: (m) => m.push(m.text(m.u32())), // BINUNICODE
  0x8d: (m) => m.push(m.text(m.u64())), // BINUNICODE8
  0x55: (m) => m.push(Buffer.from(m.bytes(m.u8())).toString('latin1')), // SHORT_BINSTRING
  0x54: (m) => m.push(Buffer.from(m.bytes(m.u32())).toString('latin1')), // BINSTRING
  0x43: (m) => m.push(m.bytes(m.u8()).slice()), // SHORT_BINBYTES
  0x42: (m) => m.push(m.bytes(m.u32()).slice()), // BINBYTES
  0x8e: (m) => m.push(m.bytes(m.u64()).slice()), // BINBYTES8
  // containers
  0x7d: (m) => m.push(m.container(new Map<unknown, unknown>())), // EMPTY_DICT
  0x5d: (m) => m.push(m.container<unknown[]>([])), // EMPTY_LIST
  0x29: (m) => m.push(m.tuple([])), // EMPTY_TUPLE
  0x8f: (m) => m.push(m.container(new Set<unknown>())), // EMPTY_SET
  0x64: (m) => {
    const kv = m.popMark();
    const d = m.container(new Map<unknown, unknown>());
    m.setItems(d, kv);
    m.push(d);
  }, // DICT
  0x6c: (m) => {
    const vs = m.popMark();
    const l = m.container<unknown[]>([]);
    m.append(l, vs);
    m.push(l);
  }, // LIST
  0x74: (m) => m.push(m.tuple(m.popMark())), // TUPLE
  0x85: (m) => m.push(m.tuple([m.pop()])), // TUPLE1
  0x86: (m) => {
    const b = m.pop();
    m.push(m.tuple([m.pop(), b]));
  }, // TUPLE2
  0x87: (m) => {
    const c = m.pop();
    const b = m.pop();
    m.push(m.tuple([m.pop(), b, c]));
  }, // TUPLE3
  0x91: (m) => {
    const vs = m.popMark();
    const fs = m.container(new Set<unknown>());
    m.addItems(fs, vs);
    m.push(fs);
  }, // FROZENSET
  0x73: (m) => {
    const v = m.pop();
    const k = m.pop();
    m.setItems(m.top(), [k, v]);
  }, // SETITEM
  0x75: (m) => {
    const kv = m.popMark();
    m.setItems(m.top(), kv);
  }, // SETITEMS
  0x61: (m) => {
    const v = m.pop();
    m.append(m.top(), [v]);
  }, // APPEND
  0x65: (m) => {
    const vs = m.popMark();
    m.append(m.top(), vs);
  }, // APPENDS
  0x90: (m) => {
    const vs = m.popMark();
    m.addItems(m.top(), vs);
  }, // ADDITEMS
  // the memo
  0x71: (m) => m.put(m.u8()), // BINPUT
  0x72: (m) => m.put(m.u32()), // LONG_BINPUT
  0x94: (m) => m.put(m.memo.size), // MEMOIZE
  0x68: (m) => m.get(m.u8()), // BINGET
  0x6a: (m) => m.get(m.u32()), // LONG_BINGET
  // globals, calls and state: only through the allow-list
  0x63: (m) => {
    const module = m.line();
    m.push(resolveGlobal(module, m.line()));
  }, // GLOBAL
  0x93: (m) => {
    // STACK_GLOBAL
    const name = m.pop();
    const module = m.pop();
    if (typeof module !== 'string' || typeof name !== 'string') throw new CheckpointFormatError('STACK_GLOBAL needs two strings.');
    m.push(resolveGlobal(module, name));
  },
  0x52: (m) => {
    const args = m.pop();
    m.push(m.call(m.pop(), args, 'REDUCE'));
  }, // REDUCE
  0x81: (m) => {
    const args = m.pop();
    m.push(m.call(m.pop(), args, 'NEWOBJ'));
  }, // NEWOBJ
  0x62: (m) => {
    const state = m.pop();
    m.build(state, m.top());
  }, // BUILD
  0x51: (m) => m.push(m.created(persistentLoad(m.pop()))), // BINPERSID
};

/**
 * Runs the pickle in `data` and returns its top value. Throws {@link UnsafeCheckpointError} for any global outside
 * the allow-list or any exceeded limit, and CheckpointFormatError for malformed or unsupported pickles.
 */
export function unpickle(data: Uint8Array, limits: UnpickleLimits = DEFAULT_UNPICKLE_LIMITS): unknown {
  return unpickleFirst(data, limits).value;
}

/**
 * Runs the first pickle in `data` and says how many bytes it took: the legacy torch.save format writes several
 * pickles back to back, then the storages' bytes. Same errors as {@link unpickle}.
 */
export function unpickleFirst(data: Uint8Array, limits: UnpickleLimits = DEFAULT_UNPICKLE_LIMITS): { value: unknown; length: number } {
  const m = new PickleMachine(data, limits);
  for (let opcodes = 1; ; opcodes++) {
    if (opcodes > limits.maxOpcodes) limit('opcode', limits.maxOpcodes);
    const op = m.u8();
    if (op === STOP) {
      if (m.marks.length !== 0 || m.stack.length !== 1) throw new CheckpointFormatError('Checkpoint pickle ends with an unbalanced stack.');
      return { value: m.stack[0], length: m.pos };
    }
    const handler = OPS[op];
    if (!handler) throw new CheckpointFormatError(`Unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${m.pos - 1}.`);
    handler(m);
  }
}
