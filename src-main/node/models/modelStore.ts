import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { inspectModelFolder } from '../../inference/pipeline/modelFolder';

// The models folder: one sub-folder per model, each with a `hordedesk-model.json` manifest
// saying where it came from and how it was converted.

/** The manifest file name inside a model folder (shared with the inference pipeline). */
export const MANIFEST_FILE = 'hordedesk-model.json';

/** What HordeDesk records about an installed model. */
export interface ModelManifest {
  /** The horde model name the folder serves. */
  name?: string;
  /** Where the weights came from (a URL or a path). */
  source: string;
  /** sha256 of the downloaded source file; null when unknown. */
  sha256: string | null;
  converterVersion: string;
  /** The execution provider the export targets, e.g. 'cuda' or 'cpu'. */
  provider: string;
}

/** One model folder found in the store. */
export interface InstalledModel {
  /** The horde model name from the manifest, else the folder name. */
  name: string;
  dir: string;
  manifest: (ModelManifest & Record<string, unknown>) | null;
  /** Bytes used by every file under the folder. */
  bytes: number;
  /** True when the ONNX layout is complete; else `problem` says what is missing. */
  ready: boolean;
  problem: string | null;
}

/** Turns a model name into a safe folder name (no separators, no dot-only names). */
export function folderNameOf(modelName: string): string {
  const safe = modelName.replace(/[^A-Za-z0-9 ._()+-]/g, '_').trim();
  return safe === '' || /^\.+$/.test(safe) ? `_${safe}` : safe;
}

/** Total bytes of the files under `path` (0 when it does not exist). */
export async function diskUse(path: string): Promise<number> {
  let info;
  try {
    info = await stat(path);
  } catch {
    return 0;
  }
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const entry of await readdir(path)) total += await diskUse(join(path, entry));
  return total;
}

/**
 * Writes (atomically) the manifest of `modelDir`, keeping keys other writers put there.
 * Adds `writtenAt`.
 */
export async function writeManifest(modelDir: string, manifest: ModelManifest): Promise<void> {
  await mkdir(modelDir, { recursive: true });
  const path = join(modelDir, MANIFEST_FILE);
  const previous = await readManifest(modelDir);
  const body = { ...previous, ...manifest, writtenAt: new Date().toISOString() };
  await writeFile(`${path}.tmp`, `${JSON.stringify(body, null, 2)}\n`);
  await rename(`${path}.tmp`, path);
}

/** Reads a folder's manifest; null when absent or not a JSON object. */
export async function readManifest(modelDir: string): Promise<(ModelManifest & Record<string, unknown>) | null> {
  try {
    const parsed: unknown = JSON.parse(await readFile(join(modelDir, MANIFEST_FILE), 'utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
    return parsed as ModelManifest & Record<string, unknown>;
  } catch {
    return null;
  }
}

/** The store's operations, bound to one models folder. */
export interface ModelStore {
  readonly root: string;
  /** The folder a model lives (or will live) in. */
  dirFor(modelName: string): string;
  writeManifest(modelDir: string, manifest: ModelManifest): Promise<void>;
  listInstalled(): Promise<InstalledModel[]>;
  /** Deletes a model folder by model name; refuses anything outside the store. */
  deleteModel(modelName: string): Promise<void>;
  diskUse(modelName: string): Promise<number>;
}

/** Throws unless `target` is strictly inside `root`. */
export function assertInside(root: string, target: string): void {
  const rel = relative(resolve(root), resolve(target));
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new Error(`Refusing to touch ${target}: it is not inside the models folder ${root}.`);
  }
}

/** Opens the store under `modelsDir` (created on first write). */
export function createModelStore(modelsDir: string): ModelStore {
  const root = resolve(modelsDir);
  const dirFor = (modelName: string): string => {
    const dir = join(root, folderNameOf(modelName));
    assertInside(root, dir);
    return dir;
  };
  return {
    root,
    dirFor,
    writeManifest: async (modelDir, manifest) => {
      assertInside(root, modelDir);
      await writeManifest(modelDir, manifest);
    },
    listInstalled: async () => {
      let entries;
      try {
        entries = await readdir(root, { withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw error;
      }
      const models: InstalledModel[] = [];
      // `<name>.partial` is a conversion in progress (or one a crash cut short): never an installed model.
      for (const entry of entries
        .filter((e) => e.isDirectory() && !e.name.endsWith('.partial'))
        .sort((a, b) => a.name.localeCompare(b.name))) {
        const dir = join(root, entry.name);
        const manifest = await readManifest(dir);
        let problem: string | null = null;
        try {
          inspectModelFolder(dir);
        } catch (error) {
          problem = (error as Error).message;
        }
        const name = typeof manifest?.name === 'string' ? manifest.name : entry.name;
        models.push({ name, dir, manifest, bytes: await diskUse(dir), ready: problem === null, problem });
      }
      return models;
    },
    deleteModel: async (modelName) => {
      const dir = dirFor(modelName);
      await rm(dir, { recursive: true, force: true });
    },
    diskUse: (modelName) => diskUse(dirFor(modelName)),
  };
}
