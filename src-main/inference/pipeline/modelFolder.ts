import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ModelFormatError } from './tensors';

/** The SD components HordeDesk runs, by their folder names in published ONNX exports. */
export const SD_COMPONENTS = ['text_encoder', 'unet', 'vae_decoder'] as const;
export type SdComponent = (typeof SD_COMPONENTS)[number];

export interface ModelFolder {
  dir: string;
  /** Path of each component's model.onnx. */
  components: Record<SdComponent, string>;
  tokenizerDir: string;
  /** Our own manifest when the builder or converter wrote the folder; null for published exports. */
  manifest: Record<string, unknown> | null;
}

/**
 * Checks that `dir` has the diffusers/optimum ONNX layout (text_encoder/, unet/, vae_decoder/
 * with model.onnx, tokenizer/ with vocab.json + merges.txt) and says exactly what is missing.
 */
export function inspectModelFolder(dir: string): ModelFolder {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ModelFormatError(`The model folder ${dir} does not exist.`);
  const missing: string[] = [];
  const components = {} as Record<SdComponent, string>;
  for (const component of SD_COMPONENTS) {
    const path = join(dir, component, 'model.onnx');
    if (!existsSync(path)) missing.push(`${component}/model.onnx`);
    else if (statSync(path).size < 16) missing.push(`${component}/model.onnx (empty or truncated)`);
    components[component] = path;
  }
  const tokenizerDir = join(dir, 'tokenizer');
  if (!existsSync(join(tokenizerDir, 'merges.txt'))) missing.push('tokenizer/merges.txt');
  if (missing.length) throw new ModelFormatError(`The model folder ${dir} is incomplete: missing ${missing.join(', ')}.`);
  let manifest: Record<string, unknown> | null = null;
  const manifestPath = join(dir, 'hordedesk-model.json');
  if (existsSync(manifestPath)) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(manifestPath, 'utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      manifest = parsed as Record<string, unknown>;
    } catch (error) {
      throw new ModelFormatError(`The model manifest ${manifestPath} is not valid JSON.`, { cause: error });
    }
  }
  return { dir, components, tokenizerDir, manifest };
}
