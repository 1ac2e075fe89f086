// Builds torch.save-style zip checkpoints (STORED entries, `<prefix>/data.pkl`, `<prefix>/data/<key>`) in memory,
// so tests can wrap any pickle, hostile ones included, in a real archive.
import { crc32 } from 'node:zlib';

const u16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

/** A STORED zip of `files` (name → bytes), in order, without ZIP64 (keep it under 4 GB). */
export function storedZip(files: readonly (readonly [string, Uint8Array])[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let at = 0;
  for (const [name, data] of files) {
    const nameBuf = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.concat([
      u32(0x04034b50),
      u16(20),
      u16(0),
      u16(0),
      u32(0),
      u32(crc),
      u32(data.length),
      u32(data.length),
      u16(nameBuf.length),
      u16(0),
      nameBuf,
    ]);
    central.push(
      Buffer.concat([
        u32(0x02014b50),
        u16(20),
        u16(20),
        u16(0),
        u16(0),
        u32(0),
        u32(crc),
        u32(data.length),
        u32(data.length),
        u16(nameBuf.length),
        u16(0),
        u16(0),
        u16(0),
        u16(0),
        u32(0),
        u32(at),
        nameBuf,
      ]),
    );
    parts.push(local, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    at += local.length + data.length;
  }
  const dir = Buffer.concat(central);
  const eocd = Buffer.concat([u32(0x06054b50), u16(0), u16(0), u16(files.length), u16(files.length), u32(dir.length), u32(at), u16(0)]);
  return Buffer.concat([...parts, dir, eocd]);
}

/** A `.ckpt` whose `archive/data.pkl` is `pickle`, plus `archive/data/<key>` storages. */
export function ckptWithPickle(pickle: Uint8Array, storages: Record<string, Uint8Array> = {}): Buffer {
  return storedZip([
    ['archive/data.pkl', pickle],
    ['archive/byteorder', Buffer.from('little')],
    ...Object.entries(storages).map(([key, bytes]): [string, Uint8Array] => [`archive/data/${key}`, bytes]),
    ['archive/version', Buffer.from('3\n')],
  ]);
}

/**
 * The bomb: `levels` nested dicts, 9 pickle bytes each. The root stays in memo slot 1 so the whole chain
 * stays alive, the tail moves through slot 0, and the stack never holds more than three values.
 */
export function nestedDictBomb(levels: number): Uint8Array {
  const level = [0x4b, 0, 0x7d, 0x71, 0, 0x73, 0x30, 0x68, 0]; // K 0, }, BINPUT 0, SETITEM, POP, BINGET 0
  const head = [0x80, 2, 0x7d, 0x71, 1]; // PROTO 2, } (the root), BINPUT 1
  const tail = [0x30, 0x68, 1, 0x2e]; // POP, BINGET 1, STOP
  const body = new Uint8Array(head.length + levels * level.length + tail.length);
  body.set(head, 0);
  for (let i = 0; i < levels; i++) body.set(level, head.length + i * level.length);
  body.set(tail, head.length + levels * level.length);
  return body;
}
