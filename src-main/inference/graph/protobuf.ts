/**
 * A minimal protocol-buffers *writer* (encode only), enough for ONNX's ModelProto.
 *
 * Wire format facts used: a field key is `(field << 3) | wireType`, varints are little-endian base-128,
 * wire type 0 = varint, 1 = 64-bit, 2 = length-delimited, 5 = 32-bit. Negative int32/int64 values are
 * sign-extended to 64 bits and so always take 10 bytes.
 *
 * Nested messages are kept as lists of chunks and only concatenated once at the end, so a large
 * `raw_data` byte array is referenced, never copied, until `finish()` or `writeChunks()`.
 */

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const WIRE_32 = 5;

/** Accumulates one protobuf message. Nested messages are other writers passed to `message()`. */
export class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private pending: number[] = [];
  private flushedLength = 0;

  /** Encoded size in bytes so far. */
  get length(): number {
    return this.flushedLength + this.pending.length;
  }

  private pushVarint(value: number | bigint): void {
    if (typeof value === 'number' && value >= 0 && value <= 0xffffffff && Number.isInteger(value)) {
      let v = value;
      while (v > 0x7f) {
        this.pending.push((v & 0x7f) | 0x80);
        v = Math.floor(v / 128);
      }
      this.pending.push(v);
      return;
    }
    // Everything else goes through BigInt so negatives become their 64-bit two's complement.
    let v = BigInt.asUintN(64, BigInt(value));
    while (v > 0x7fn) {
      this.pending.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.pending.push(Number(v));
  }

  private key(field: number, wireType: number): void {
    this.pushVarint(field * 8 + wireType);
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    this.chunks.push(Uint8Array.from(this.pending));
    this.flushedLength += this.pending.length;
    this.pending = [];
  }

  private pushChunk(bytes: Uint8Array): void {
    if (bytes.length < 64) {
      for (const b of bytes) this.pending.push(b);
      return;
    }
    this.flush();
    this.chunks.push(bytes);
    this.flushedLength += bytes.length;
  }

  /** A varint field (int32, int64, enum, bool). Integers beyond 2^53 must be passed as bigint. */
  varint(field: number, value: number | bigint): this {
    if (typeof value === 'number' && !Number.isSafeInteger(value))
      throw new RangeError(`varint field ${field}: ${value} is not a safe integer`);
    this.key(field, WIRE_VARINT);
    this.pushVarint(value);
    return this;
  }

  /** A 32-bit float field (`float`). */
  float(field: number, value: number): this {
    this.key(field, WIRE_32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    for (const x of b) this.pending.push(x);
    return this;
  }

  /** A length-delimited byte field; the array is referenced, not copied. */
  bytes(field: number, value: Uint8Array): this {
    this.key(field, WIRE_LEN);
    this.pushVarint(value.length);
    this.pushChunk(value);
    return this;
  }

  /** A UTF-8 string field. */
  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  /** An embedded message field. The nested writer must not be written to afterwards. */
  message(field: number, nested: ProtoWriter): this {
    nested.flush();
    this.key(field, WIRE_LEN);
    this.pushVarint(nested.length);
    this.flush();
    for (const c of nested.chunks) this.chunks.push(c);
    this.flushedLength += nested.flushedLength;
    return this;
  }

  /** A packed repeated varint field (proto3 style; proto2 parsers accept packed input too). */
  packedVarints(field: number, values: readonly (number | bigint)[]): this {
    if (values.length === 0) return this;
    const inner = new ProtoWriter();
    for (const v of values) inner.pushVarint(v);
    inner.flush();
    this.key(field, WIRE_LEN);
    this.pushVarint(inner.length);
    for (const c of inner.chunks) this.pushChunk(c);
    return this;
  }

  /** A packed repeated 32-bit float field. */
  packedFloats(field: number, values: readonly number[]): this {
    if (values.length === 0) return this;
    const b = new Uint8Array(values.length * 4);
    const view = new DataView(b.buffer);
    values.forEach((v, i) => view.setFloat32(i * 4, v, true));
    return this.bytes(field, b);
  }

  /** The encoded chunks, in order; use this to stream a message to a file without joining it. */
  encodedChunks(): readonly Uint8Array[] {
    this.flush();
    return this.chunks;
  }

  /** The whole message as one array (one copy). */
  finish(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.flushedLength);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}
