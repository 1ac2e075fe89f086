import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The safety check's word-list text features, kept in the model folder so a check is one image-tower run
 * plus dot products. One file per set of texts computed together, named by a hash of the model's identity
 * and those texts; a file is read only when its header names the same model, so features of another model
 * (or another conversion of it) are never used. Files are written whole and renamed into place.
 *
 * Layout: `text-features/<key>.bin` = u32 LE header length · JSON header {format, model, dim, texts} ·
 * float32 LE unit vectors, one per text, in header order.
 */

/** The folder inside a safety model folder. */
export const TEXT_FEATURE_FOLDER = 'text-features';
const FORMAT = 'hordedesk-text-features-1';

interface Header {
  format: string;
  model: string;
  dim: number;
  texts: string[];
}

/** The model's identity for the cache: a hash of the files that say what it is (its manifests). */
export function modelIdentity(manifests: readonly string[]): string {
  const hash = createHash('sha256');
  for (const m of manifests) hash.update(m).update('\0');
  return hash.digest('hex');
}

/** The cache file name of `texts` computed by the model `identity`. */
export function textFeatureKey(identity: string, texts: readonly string[]): string {
  const hash = createHash('sha256').update(identity).update('\0');
  for (const t of texts) hash.update(t).update('\0');
  return hash.digest('hex').slice(0, 32);
}

function parseFile(bytes: Buffer, identity: string): Map<string, Float32Array> | null {
  if (bytes.length < 4) return null;
  const headerLength = bytes.readUInt32LE(0);
  if (4 + headerLength > bytes.length) return null;
  const header = JSON.parse(bytes.subarray(4, 4 + headerLength).toString('utf8')) as Partial<Header>;
  if (header.format !== FORMAT || header.model !== identity || !Array.isArray(header.texts) || !Number.isInteger(header.dim)) return null;
  const dim = header.dim as number;
  const body = bytes.subarray(4 + headerLength);
  if (body.length !== header.texts.length * dim * 4) return null;
  // Copied out of the Buffer: its offset need not be a multiple of 4.
  const all = new Float32Array(Uint8Array.from(body).buffer);
  return new Map(header.texts.map((t, i) => [t, all.slice(i * dim, (i + 1) * dim)]));
}

/**
 * Every cached text feature of the model `identity` in `modelDir`. A file that cannot be read, or that
 * belongs to another model, is skipped (and one that is damaged removed, so it is written again).
 */
export function readTextFeatures(modelDir: string, identity: string): Map<string, Float32Array> {
  const folder = join(modelDir, TEXT_FEATURE_FOLDER);
  const features = new Map<string, Float32Array>();
  let names: string[];
  try {
    names = readdirSync(folder).filter((n) => n.endsWith('.bin'));
  } catch {
    return features;
  }
  for (const name of names) {
    let parsed: Map<string, Float32Array> | null;
    try {
      parsed = parseFile(readFileSync(join(folder, name)), identity);
    } catch {
      rmSync(join(folder, name), { force: true });
      continue;
    }
    for (const [t, v] of parsed ?? []) features.set(t, v);
  }
  return features;
}

/** Writes the features of `texts` (each `dim` long, in order) as one cache file; returns its path. */
export function writeTextFeatures(modelDir: string, identity: string, texts: readonly string[], vectors: readonly Float32Array[]): string {
  const dim = vectors[0]?.length ?? 0;
  if (vectors.length !== texts.length || vectors.some((v) => v.length !== dim)) throw new RangeError('one vector of one size per text');
  const folder = join(modelDir, TEXT_FEATURE_FOLDER);
  mkdirSync(folder, { recursive: true });
  const header = Buffer.from(JSON.stringify({ format: FORMAT, model: identity, dim, texts: [...texts] } satisfies Header), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(header.length, 0);
  const body = new Float32Array(texts.length * dim);
  vectors.forEach((v, i) => body.set(v, i * dim));
  const path = join(folder, `${textFeatureKey(identity, texts)}.bin`);
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, Buffer.concat([length, header, Buffer.from(body.buffer)]));
  renameSync(temp, path);
  return path;
}
