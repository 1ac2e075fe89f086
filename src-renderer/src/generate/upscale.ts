import type { InstalledPostProcessorDto } from '../../../src-main/common/contract';

// The Generate page's Upscale choice: the post-processors installed and ready, and what choosing one sends
// (`postProcessing` of `inference.generate`, the horde's names in order, as a job's `post_processing`).

/** One choice of the Upscale list. */
export interface UpscaleOption {
  name: string;
  /** "RealESRGAN_x4plus (×4)": the name and what it does to the size. */
  label: string;
  scale: number | null;
}

/** The value of the "no post-processing" choice. */
export const NO_UPSCALE = '';

/** The installed post-processors that can run now, in the order listed, as choices. */
export function upscaleOptions(installed: readonly InstalledPostProcessorDto[] | undefined): UpscaleOption[] {
  return (installed ?? [])
    .filter((p) => p.ready)
    .map((p) => ({ name: p.name, label: p.scale !== null && p.scale > 1 ? `${p.name} (×${p.scale})` : p.name, scale: p.scale }));
}

/** What the request carries for a choice: [] for none, or for a name no longer installed. */
export function postProcessingOf(choice: string, options: readonly UpscaleOption[]): string[] {
  return choice !== NO_UPSCALE && options.some((o) => o.name === choice) ? [choice] : [];
}

/** The size each image comes out at, in words ("512×512 → 2048×2048"), or null when it stays the same or is unknown. */
export function upscaledSize(choice: string, options: readonly UpscaleOption[], size: { width: number; height: number }): string | null {
  const scale = options.find((o) => o.name === choice)?.scale ?? null;
  if (scale === null || scale <= 1) return null;
  return `${size.width}×${size.height} → ${size.width * scale}×${size.height * scale}`;
}
