import { existsSync, readFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CLIP_MANIFEST_FILE } from '../../inference/clip';

/**
 * The model the safety check runs: openai's CLIP ViT-L/14, as the horde's reference worker runs it
 * (horde-safety's interrogator loads `ViT-L-14/openai`). HordeDesk takes the Hugging Face copy of the
 * same weights, `openai/clip-vit-large-patch14` `model.safetensors` (CLIPModel: both towers, F32), pinned
 * by the Git LFS object id the Hub lists for it at revision 32bd64288804d66eefd0ccbe215aa642df71cc41
 * (a sha256 of the file, found identical in several independent pins of that file).
 */
export const CLIP_SAFETY_MODEL = Object.freeze({
  name: 'CLIP ViT-L/14 (openai)',
  /** Its folder under `<dataDir>/safety`. */
  folder: 'clip-vit-large-patch14',
  /** The file under the CLIP download base URL (Settings: the same repository as the tokenizer's). */
  file: 'model.safetensors',
  bytes: 1_710_540_580,
  sha256: 'a2bf730a0c7debf160f7a6b50b3aaf3703e7e88ac73de7a314903141db026dcb',
});

/** The tiny random-weight safety model's folder (demo and tests): used only when the real one is not installed. */
export const TINY_SAFETY_FOLDER = 'tiny-safety-clip';

/** The install record beside the CLIP manifest, written last: a folder without it is not installed. */
export const SAFETY_MANIFEST_FILE = 'hordedesk-safety.json';

/** `hordedesk-safety.json`. */
export interface SafetyModelManifest {
  name: string;
  /** Where the weights came from (a URL), or how they were made (the tiny model). */
  source: string;
  /** sha256 of the downloaded checkpoint; null for generated weights. */
  sha256: string | null;
  /** Bytes the install downloaded (0 when nothing was). */
  downloadBytes: number;
  /** Random weights: runs the whole path but recognises nothing. */
  tiny: boolean;
}

/** An installed safety model folder. */
export interface InstalledSafetyModel {
  dir: string;
  manifest: SafetyModelManifest;
}

/** `<dataDir>/safety`: where safety models live (apart from SD models, which the Models page lists). */
export function safetyDirOf(dataDir: string): string {
  return join(dataDir, 'safety');
}

function readInstalled(dir: string): InstalledSafetyModel | null {
  const path = join(dir, SAFETY_MANIFEST_FILE);
  if (!existsSync(path) || !existsSync(join(dir, CLIP_MANIFEST_FILE))) return null;
  try {
    return { dir, manifest: JSON.parse(readFileSync(path, 'utf8')) as SafetyModelManifest };
  } catch {
    return null;
  }
}

/** The safety model to run: ViT-L/14 when installed, else the tiny one when present, else null. */
export function findSafetyModel(safetyDir: string): InstalledSafetyModel | null {
  return readInstalled(join(safetyDir, CLIP_SAFETY_MODEL.folder)) ?? readInstalled(join(safetyDir, TINY_SAFETY_FOLDER));
}

/** Bytes of every file under `dir`. */
export async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await folderBytes(path);
    else if (entry.isFile()) total += (await stat(path)).size;
  }
  return total;
}
