import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readOnnxInputs } from '../graph/onnxRead';
import { ModelFormatError } from './tensors';

/** The SD components every model folder must have, by their folder names in published ONNX exports. */
export const SD_COMPONENTS = ['text_encoder', 'unet', 'vae_decoder'] as const;
export type SdComponent = (typeof SD_COMPONENTS)[number];

/** The seamless-tiling variant's file name, next to a component's model.onnx (graph/modelFolder.ts writes it). */
const TILED_MODEL_FILE = 'model.tiled.onnx';

export interface ModelFolder {
  dir: string;
  /** 'sdxl' when the manifest says so or the folder has `text_encoder_2/` (the published SDXL layout); else 'sd1'. */
  family: 'sd1' | 'sdxl';
  /**
   * Path of each component's model.onnx. `vae_encoder` (img2img, inpainting) is undefined in folders installed
   * before HordeDesk wrote it.
   */
  components: Record<SdComponent, string> & { vae_encoder?: string; text_encoder_2?: string };
  /**
   * The seamless-tiling variants (circular padding), sharing their component's weights: undefined when the
   * folder has none (older installs, published exports). `vae_encoder` only where the encoder has one.
   */
  tiled?: { unet: string; vae_decoder: string; vae_encoder?: string };
  /** Channels of the UNet's `sample` input: 4, or 9 for an inpainting model (latent, mask, masked-image latent). */
  unetInChannels: number;
  tokenizerDir: string;
  /** Our own manifest when the builder or converter wrote the folder; null for published exports. */
  manifest: Record<string, unknown> | null;
}

/** The path of `<dir>/<component>/<file>` when it is there; a file too short to be a model is a broken install. */
function modelFile(dir: string, component: string, file: string, missing: string[]): string | undefined {
  const path = join(dir, component, file);
  if (!existsSync(path)) return undefined;
  if (statSync(path).size < 16) missing.push(`${component}/${file} (empty or truncated)`);
  return path;
}

function readManifest(dir: string): Record<string, unknown> | null {
  const manifestPath = join(dir, 'hordedesk-model.json');
  if (!existsSync(manifestPath)) return null;
  try {
    const parsed: unknown = JSON.parse(readFileSync(manifestPath, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as Record<string, unknown>;
  } catch (error) {
    throw new ModelFormatError(`The model manifest ${manifestPath} is not valid JSON.`, { cause: error });
  }
}

/**
 * The UNet's input channels: the manifest's config when we wrote the folder, else the `sample` input's second
 * dimension read from the model file's header (published exports), else 4.
 */
function unetInChannels(manifest: Record<string, unknown> | null, unetPath: string): number {
  const config = manifest?.config as { unet?: { inChannels?: unknown } } | undefined;
  const recorded = config?.unet?.inChannels;
  if (typeof recorded === 'number') return recorded;
  try {
    const channels = readOnnxInputs(unetPath).find((i) => i.name === 'sample')?.shape?.[1];
    return typeof channels === 'number' ? channels : 4;
  } catch {
    return 4;
  }
}

/**
 * Checks that `dir` has the diffusers/optimum ONNX layout (text_encoder/, unet/, vae_decoder/
 * with model.onnx, tokenizer/ with vocab.json + merges.txt) and says exactly what is missing.
 * `vae_encoder/` and the tiled variants are optional.
 */
export function inspectModelFolder(dir: string): ModelFolder {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ModelFormatError(`The model folder ${dir} does not exist.`);
  const missing: string[] = [];
  const components = {} as ModelFolder['components'];
  for (const component of SD_COMPONENTS) {
    const path = modelFile(dir, component, 'model.onnx', missing);
    if (!path) missing.push(`${component}/model.onnx`);
    components[component] = path ?? join(dir, component, 'model.onnx');
  }
  const manifest = readManifest(dir);
  const secondEncoder = modelFile(dir, 'text_encoder_2', 'model.onnx', missing);
  const family = manifest?.family === 'sdxl' || secondEncoder ? 'sdxl' : 'sd1';
  if (secondEncoder) components.text_encoder_2 = secondEncoder;
  else if (family === 'sdxl') missing.push('text_encoder_2/model.onnx');
  const encoder = modelFile(dir, 'vae_encoder', 'model.onnx', missing);
  if (encoder) components.vae_encoder = encoder;
  const tiledUnet = modelFile(dir, 'unet', TILED_MODEL_FILE, missing);
  const tiledDecoder = modelFile(dir, 'vae_decoder', TILED_MODEL_FILE, missing);
  const tiledEncoder = modelFile(dir, 'vae_encoder', TILED_MODEL_FILE, missing);
  const tokenizerDir = join(dir, 'tokenizer');
  if (!existsSync(join(tokenizerDir, 'merges.txt'))) missing.push('tokenizer/merges.txt');
  if (missing.length) throw new ModelFormatError(`The model folder ${dir} is incomplete: missing ${missing.join(', ')}.`);
  const tiled =
    tiledUnet && tiledDecoder
      ? { unet: tiledUnet, vae_decoder: tiledDecoder, ...(tiledEncoder ? { vae_encoder: tiledEncoder } : {}) }
      : undefined;
  return {
    dir,
    family,
    components,
    ...(tiled ? { tiled } : {}),
    unetInChannels: unetInChannels(manifest, components.unet),
    tokenizerDir,
    manifest,
  };
}
