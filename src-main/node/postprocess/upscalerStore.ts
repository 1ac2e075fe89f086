import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { familyOf } from '../../core/worker/postProcessing';
// Not '../../inference/postprocess': its index also exports the runner, which loads onnxruntime-node; the
// main thread only reads manifests.
import { describe as describeUpscaler } from '../../inference/postprocess/architecture';
import { readUpscalerManifest } from '../../inference/postprocess/convert';
import { assertInside, folderNameOf } from '../models/modelStore';
import type { InstalledPostProcessor } from './postProcessors';

// The converted upscalers: `<dataDir>/postprocess/<horde name>/` with `model.onnx` and `hordedesk-upscaler.json`
// (inference/postprocess/convert.ts writes it last). A folder named `<name>.partial` is an install in progress.

/** One upscaler folder. */
export interface InstalledUpscaler extends InstalledPostProcessor {
  dir: string;
}

/** The upscaler folders under one root. */
export interface UpscalerStore {
  readonly root: string;
  /** The folder an upscaler lives (or will live) in. */
  dirFor(name: string): string;
  list(): InstalledUpscaler[];
  /** Deletes an upscaler's folder by name; refuses anything outside the store. */
  remove(name: string): void;
}

function bytesUnder(path: string): number {
  const info = statSync(path, { throwIfNoEntry: false });
  if (!info) return 0;
  if (!info.isDirectory()) return info.size;
  return readdirSync(path).reduce((total, entry) => total + bytesUnder(join(path, entry)), 0);
}

/** One folder as the pages show it: ready with what it is, or why it cannot be used. */
function readFolder(dir: string, folder: string): InstalledUpscaler {
  try {
    const manifest = readUpscalerManifest(dir);
    const family = familyOf(manifest.name);
    const served = family === 'esrgan';
    return {
      name: manifest.name,
      family: 'esrgan',
      ready: served,
      problem: served ? null : `${manifest.name} is not one of the horde's ESRGAN upscalers.`,
      bytes: bytesUnder(dir),
      detail: describeUpscaler(manifest.spec),
      scale: manifest.spec.scale,
      dir,
    };
  } catch (error) {
    const problem = error instanceof Error ? error.message : String(error);
    return {
      name: folder,
      family: 'esrgan',
      ready: false,
      problem,
      bytes: bytesUnder(dir),
      detail: 'unfinished install',
      scale: null,
      dir,
    };
  }
}

/** The store under `root` (created by the first install). */
export function createUpscalerStore(root: string): UpscalerStore {
  const base = resolve(root);
  const dirFor = (name: string): string => {
    const dir = join(base, folderNameOf(name));
    assertInside(base, dir);
    return dir;
  };
  return {
    root: base,
    dirFor,
    list() {
      if (!existsSync(base)) return [];
      return readdirSync(base, { withFileTypes: true })
        .filter((entry) => entry.isDirectory() && !entry.name.endsWith('.partial') && !entry.name.startsWith('.'))
        .map((entry) => readFolder(join(base, entry.name), entry.name))
        .sort((a, b) => a.name.localeCompare(b.name));
    },
    remove(name) {
      rmSync(dirFor(name), { recursive: true, force: true });
    },
  };
}
