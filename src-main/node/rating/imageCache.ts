import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { ImageCachePort } from '../../core/rating/ports';

const EXT: Record<string, string> = { 'image/webp': 'webp', 'image/png': 'png', 'image/jpeg': 'jpg' };

/** Rating images as files under `<dataDir>/rating-cache/`, written atomically (temp + rename). */
export function createImageCache(dir: string): ImageCachePort {
  mkdirSync(dir, { recursive: true });
  return {
    write(imageId, bytes, mime) {
      const name = `${imageId.replace(/[^A-Za-z0-9_-]/g, '_')}.${EXT[mime] ?? 'bin'}`;
      const temp = join(dir, `.${name}.partial`);
      writeFileSync(temp, bytes);
      renameSync(temp, join(dir, name));
      return name;
    },
    dataUrl(file, mime) {
      try {
        return `data:${mime};base64,${readFileSync(join(dir, file)).toString('base64')}`;
      } catch {
        return null;
      }
    },
    async thumbnail(file) {
      try {
        const out = await sharp(join(dir, file)).resize(96, 96, { fit: 'inside' }).webp({ quality: 70 }).toBuffer();
        return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
      } catch {
        return null;
      }
    },
    remove(file) {
      if (file) rmSync(join(dir, file), { force: true });
    },
  };
}
