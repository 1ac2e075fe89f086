/**
 * Draws the tray and app icons into resources/ (run: npx tsx scripts/makeIcons.ts).
 * A ring in the state's colour around a dot; pure code so the icons can be regenerated anywhere.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (CRC_TABLE[(c ^ b) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

function png(size: number, pixel: (x: number, y: number) => [number, number, number, number]): Buffer {
  const rows: Buffer[] = [];
  for (let y = 0; y < size; y += 1) {
    const row = Buffer.alloc(1 + size * 4);
    for (let x = 0; x < size; x += 1) Buffer.from(pixel(x, y)).copy(row, 1 + x * 4);
    rows.push(row);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function badge(size: number, rgb: [number, number, number], dot: boolean): Buffer {
  const c = (size - 1) / 2;
  return png(size, (x, y) => {
    const d = Math.hypot(x - c, y - c) / (size / 2);
    const alpha = (edge: number): number => Math.round(255 * Math.min(1, Math.max(0, (edge - d) * size * 0.5)));
    if (d > 0.62 && d <= 0.95) return [...rgb, alpha(0.95)];
    if (dot && d <= 0.38) return [...rgb, alpha(0.38)];
    return [0, 0, 0, 0];
  });
}

const out = join(import.meta.dirname, '..', 'resources');
const states: Record<string, [number, number, number]> = {
  idle: [91, 91, 214],
  working: [26, 160, 70],
  paused: [150, 150, 150],
  error: [210, 50, 40],
};
for (const [name, rgb] of Object.entries(states)) writeFileSync(join(out, `tray-${name}.png`), badge(32, rgb, name !== 'paused'));
writeFileSync(join(out, 'icon.png'), badge(512, [91, 91, 214], true));
console.log(`icons written to ${out}`);
