/**
 * The sizes the Generate page offers for a model's family. SD 1.x is made for 512 pixels on a side; SDXL for about
 * 1024² pixels in one of the aspect-ratio buckets it was trained on (Stability AI's SDXL report, arXiv 2307.01952,
 * multi-aspect training), which is also what horde requesters ask SDXL models for.
 */
export interface SizePreset {
  width: number;
  height: number;
}

const SD1_SIZES: readonly SizePreset[] = [
  { width: 512, height: 512 },
  { width: 512, height: 768 },
  { width: 768, height: 512 },
  { width: 768, height: 768 },
];

const SDXL_SIZES: readonly SizePreset[] = [
  { width: 1024, height: 1024 },
  { width: 896, height: 1152 },
  { width: 1152, height: 896 },
  { width: 832, height: 1216 },
  { width: 1216, height: 832 },
  { width: 768, height: 1344 },
  { width: 1344, height: 768 },
  { width: 640, height: 1536 },
  { width: 1536, height: 640 },
];

/** The presets for a model of `family` (SD 1.x's when unknown). */
export function sizePresets(family: 'sd1' | 'sdxl' | undefined): readonly SizePreset[] {
  return family === 'sdxl' ? SDXL_SIZES : SD1_SIZES;
}

/** "1024×1024 (1:1)", "832×1216 (2:3)": the size and its ratio in small whole numbers where there is one. */
export function presetLabel({ width, height }: SizePreset): string {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  const g = gcd(width, height);
  const [w, h] = [width / g, height / g];
  return w <= 16 && h <= 16 ? `${width}×${height} (${w}:${h})` : `${width}×${height}`;
}

/** The preset a size is, or null for a custom size. */
export function presetOf(family: 'sd1' | 'sdxl' | undefined, width: number, height: number): SizePreset | null {
  return sizePresets(family).find((p) => p.width === width && p.height === height) ?? null;
}
