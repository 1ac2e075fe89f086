import { crc32, deflateSync } from 'node:zlib';

// Small pictures the stand-in draws itself, as a requester's source images and masks for the
// request kinds (img2img, inpainting with a mask or with a transparent hole, outpainting with a
// transparent border): a landscape with a sky, hills and a sun, so an img2img result can be told
// from noise. Encoded as PNG here (synchronously, so queuing a request stays synchronous); the
// horde turns sources into WebP itself (sources.ts).

/** An RGBA picture, row by row. */
export interface Picture {
  width: number;
  height: number;
  rgba: Uint8Array;
}

/** A landscape: a sky fading to the horizon, green hills, a yellow sun; fully opaque. */
export function landscape(width: number, height: number): Picture {
  const rgba = new Uint8Array(width * height * 4);
  const sun = { x: width * 0.7, y: height * 0.3, r: Math.max(2, Math.min(width, height) * 0.15) };
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const hill = height * (0.62 + 0.08 * Math.sin((x / width) * Math.PI * 2));
      const inSun = (x - sun.x) ** 2 + (y - sun.y) ** 2 <= sun.r ** 2;
      const t = y / height;
      const rgb = inSun ? [250, 215, 60] : y > hill ? [40 + 60 * t, 120 + 50 * t, 50] : [70 + 120 * t, 130 + 90 * t, 230];
      rgba.set([...rgb.map(Math.round), 255], (y * width + x) * 4);
    }
  }
  return { width, height, rgba };
}

/** The picture with a transparent disk in its middle: inpainting by the source's alpha alone. */
export function withHole(picture: Picture): Picture {
  const { width, height } = picture;
  const rgba = picture.rgba.slice();
  const r = Math.min(width, height) / 4;
  for (let y = 0; y < height; y += 1)
    for (let x = 0; x < width; x += 1) if ((x - width / 2) ** 2 + (y - height / 2) ** 2 <= r ** 2) rgba[(y * width + x) * 4 + 3] = 0;
  return { width, height, rgba };
}

/** The picture with a transparent border `border` pixels wide: outpainting fills the border. */
export function withBorder(picture: Picture, border: number): Picture {
  const { width, height } = picture;
  const rgba = picture.rgba.slice();
  for (let y = 0; y < height; y += 1)
    for (let x = 0; x < width; x += 1) {
      const inside = x >= border && y >= border && x < width - border && y < height - border;
      if (!inside) rgba[(y * width + x) * 4 + 3] = 0;
    }
  return { width, height, rgba };
}

/** A mask as requesters send one: black (keep) with a white disk (repaint) in the middle, opaque. */
export function diskMask(width: number, height: number): Picture {
  const rgba = new Uint8Array(width * height * 4);
  const r = Math.min(width, height) / 4;
  for (let y = 0; y < height; y += 1)
    for (let x = 0; x < width; x += 1) {
      const v = (x - width / 2) ** 2 + (y - height / 2) ** 2 <= r ** 2 ? 255 : 0;
      rgba.set([v, v, v, 255], (y * width + x) * 4);
    }
  return { width, height, rgba };
}

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/** The picture as a PNG file (8-bit RGBA, no filtering). */
export function encodePng(picture: Picture): Buffer {
  const { width, height, rgba } = picture;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  const rows = Buffer.alloc(height * (width * 4 + 1));
  for (let y = 0; y < height; y += 1) rows.set(rgba.subarray(y * width * 4, (y + 1) * width * 4), y * (width * 4 + 1) + 1);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(rows)), chunk('IEND', new Uint8Array(0))]);
}
