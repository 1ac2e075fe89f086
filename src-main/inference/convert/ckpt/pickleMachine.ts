// The state of the restricted pickle VM (unpickle.ts) and the operations its opcodes are made of. Each operation
// charges its work to one of the UnpickleLimits budgets, so an opcode handler cannot forget a limit.
import { Opaque, OpaqueType, SafeFn, UnsafeCheckpointError, isTensor } from './allowList';
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

/** Throws the error for an exceeded budget. */
export function limit(what: string, max: number): never {
  throw new UnsafeCheckpointError(
    `Refusing to load checkpoint: its pickle exceeds the ${what} limit (${max}); the file looks hostile or corrupt.`,
  );
}

/** One run of the VM over one pickle: read position, stack, marks, memo and the budgets spent so far. */
export class PickleMachine {
  pos = 0;
  stack: unknown[] = [];
  readonly marks: unknown[][] = [];
  readonly memo = new Map<number, unknown>();
  // Nesting depth of each container, as built: a container is 1 deeper than the deepest thing put into it.
  private readonly depths = new WeakMap<object, number>();
  private readonly view: DataView;
  private objects = 0;
  private items = 0;
  private totalBytes = 0;

  constructor(
    readonly data: Uint8Array,
    readonly limits: UnpickleLimits,
  ) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  // --- reading the pickle ---

  /** Claims the next `n` bytes and returns where they start. */
  need(n: number): number {
    if (this.pos + n > this.data.length) throw new CheckpointFormatError('Checkpoint pickle is truncated.');
    const at = this.pos;
    this.pos += n;
    return at;
  }
  u8(): number {
    return this.data[this.need(1)] ?? 0;
  }
  u16(): number {
    return this.view.getUint16(this.need(2), true);
  }
  u32(): number {
    return this.view.getUint32(this.need(4), true);
  }
  // Beyond 2^53 the number is approximate, but then far past every length limit anyway.
  u64(): number {
    return Number(this.view.getBigUint64(this.need(8), true));
  }
  i32(): number {
    return this.view.getInt32(this.need(4), true);
  }
  /** BINFLOAT's float64 is big-endian. */
  f64(): number {
    return this.view.getFloat64(this.need(8), false);
  }
  /** `n` raw bytes (a view into the pickle), charged to the string budgets. */
  bytes(n: number): Uint8Array {
    if (n > this.limits.maxStringBytes) limit('string size', this.limits.maxStringBytes);
    const at = this.need(n);
    this.totalBytes += n;
    if (this.totalBytes > this.limits.maxTotalBytes) limit('total string size', this.limits.maxTotalBytes);
    this.created(null);
    return this.data.subarray(at, at + n);
  }
  text(n: number): string {
    const raw = this.bytes(n);
    try {
      return utf8.decode(raw);
    } catch {
      throw new CheckpointFormatError('Checkpoint pickle contains invalid UTF-8 text.');
    }
  }
  /** One newline-ended GLOBAL line. */
  line(): string {
    const { data } = this;
    const end = data.subarray(this.pos, this.pos + MAX_GLOBAL_LINE + 1).indexOf(0x0a);
    if (end < 0) throw new CheckpointFormatError('Checkpoint pickle has a malformed GLOBAL.');
    return Buffer.from(data.subarray(this.need(end + 1), this.pos - 1)).toString('latin1');
  }

  // --- budgets ---

  created<T>(v: T): T {
    if (++this.objects > this.limits.maxObjects) limit('object', this.limits.maxObjects);
    return v;
  }
  count(n: number): void {
    this.items += n;
    if (this.items > this.limits.maxItems) limit('container item', this.limits.maxItems);
  }
  /** Records that `children` went into `container`: it is 1 deeper than the deepest of them. */
  nest(container: object, children: readonly unknown[]): void {
    let d = this.depths.get(container) ?? 1;
    for (const c of children) d = Math.max(d, (this.depths.get(c as object) ?? 0) + 1); // a WeakMap has nothing for a primitive
    this.setDepth(container, d);
  }
  private setDepth(container: object, depth: number): void {
    if (depth > this.limits.maxDepth) limit('nesting depth', this.limits.maxDepth);
    this.depths.set(container, depth);
  }
  /** A new, empty container: one more object, at depth 1. */
  container<T extends object>(v: T): T {
    this.created(v);
    this.setDepth(v, 1);
    return v;
  }
  tuple(children: unknown[]): readonly unknown[] {
    this.count(children.length);
    const t = this.created(Object.freeze(children));
    this.nest(t, children);
    return t;
  }

  // --- stack, marks, memo ---

  push(v: unknown): void {
    if (this.stack.length >= this.limits.maxStack) limit('stack', this.limits.maxStack);
    this.stack.push(v);
  }
  pop(): unknown {
    if (this.stack.length === 0) throw new CheckpointFormatError('Checkpoint pickle pops an empty stack.');
    return this.stack.pop();
  }
  top(): unknown {
    if (this.stack.length === 0) throw new CheckpointFormatError('Checkpoint pickle reads an empty stack.');
    return this.stack[this.stack.length - 1];
  }
  mark(): void {
    if (this.marks.length >= this.limits.maxMarks) limit('nesting (MARK)', this.limits.maxMarks);
    this.marks.push(this.stack);
    this.stack = [];
  }
  /** The values pushed since the last MARK; the stack before it comes back. */
  popMark(): unknown[] {
    const inner = this.stack;
    const outer = this.marks.pop();
    if (outer === undefined) throw new CheckpointFormatError('Checkpoint pickle has no MARK to pop to.');
    this.stack = outer;
    return inner;
  }
  put(i: number): void {
    if (!this.memo.has(i) && this.memo.size >= this.limits.maxMemo) limit('memo', this.limits.maxMemo);
    this.memo.set(i, this.top());
  }
  get(i: number): void {
    if (!this.memo.has(i)) throw new CheckpointFormatError(`Checkpoint pickle reads missing memo entry ${i}.`);
    this.push(this.memo.get(i));
  }

  // --- filling containers, calls ---

  setItems(target: unknown, kv: unknown[]): void {
    if (!(target instanceof Map) || kv.length % 2 !== 0) throw new CheckpointFormatError('SETITEM(S) on a non-dict.');
    this.count(kv.length / 2);
    this.nest(target, kv);
    for (let i = 0; i < kv.length; i += 2) target.set(kv[i], kv[i + 1]);
  }
  append(target: unknown, vs: unknown[]): void {
    if (!Array.isArray(target) || Object.isFrozen(target)) throw new CheckpointFormatError('APPEND(S) on a non-list.');
    this.count(vs.length);
    this.nest(target, vs);
    for (const v of vs) target.push(v);
  }
  addItems(target: unknown, vs: unknown[]): void {
    if (!(target instanceof Set)) throw new CheckpointFormatError('ADDITEMS on a non-set.');
    this.count(vs.length);
    this.nest(target, vs);
    for (const v of vs) target.add(v);
  }
  /** REDUCE/NEWOBJ: only allow-listed stand-ins run, and the work they do is charged to the item budget. */
  call(fn: unknown, args: unknown, op: string): unknown {
    if (!Array.isArray(args)) throw new CheckpointFormatError(`${op} arguments are not a tuple.`);
    this.count(args.length);
    if (fn instanceof SafeFn) return this.created(fn.call(args, (n) => this.count(n)));
    if (fn instanceof OpaqueType) return this.created(new Opaque(fn.name, args));
    throw new UnsafeCheckpointError(`Refusing to load checkpoint: ${op} targets something that is not an allowed callable.`);
  }
  /** BUILD: state goes onto an opaque object, merges into a dict, or is ignored by a tensor. */
  build(state: unknown, obj: unknown): void {
    if (obj instanceof Opaque) obj.state = state;
    else if (obj instanceof Map && state instanceof Map) {
      this.count(state.size);
      this.nest(obj, [...state.values()]);
      for (const [k, v] of state) obj.set(k, v);
    } else if (!isTensor(obj)) {
      throw new CheckpointFormatError('BUILD on an object that cannot take state.');
    }
  }
}
