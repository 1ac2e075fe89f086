/** The largest image file the page reads: a phone photo fits, a raw scan does not. */
export const MAX_SOURCE_BYTES = 20 * 1024 * 1024;
/** The largest side the page decodes (the horde's own cap on a generated side is 3072). */
export const MAX_SOURCE_SIDE = 8192;

/** The image files a horde request may carry. */
export type SourceImageType = 'image/webp' | 'image/png' | 'image/jpeg';

const startsWith = (head: Uint8Array, bytes: number[], at = 0): boolean => bytes.every((b, i) => head[at + i] === b);

/** The file's type from its first 12 bytes (its magic number), whatever its name says; null when none of the three. */
export function sniffImageType(head: Uint8Array): SourceImageType | null {
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (startsWith(head, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  // RIFF <size> WEBP
  if (startsWith(head, [0x52, 0x49, 0x46, 0x46]) && startsWith(head, [0x57, 0x45, 0x42, 0x50], 8)) return 'image/webp';
  return null;
}

const megabytes = (bytes: number): string => `${(bytes / (1024 * 1024)).toFixed(1)} MB`;

/** Why a picked file cannot be a source image or mask, in words; null when it can be read. */
export function sourceFileProblem(file: { name: string; size: number }, head: Uint8Array): string | null {
  if (file.size === 0) return `${file.name} is empty.`;
  if (file.size > MAX_SOURCE_BYTES)
    return `${file.name} is ${megabytes(file.size)}; pick an image of at most ${megabytes(MAX_SOURCE_BYTES)}.`;
  if (!sniffImageType(head)) return `${file.name} is not a WebP, PNG or JPEG image.`;
  return null;
}

/** Why decoded dimensions are refused; null when they are fine. */
export function sourceSizeProblem(name: string, width: number, height: number): string | null {
  if (width < 1 || height < 1) return `${name} has no pixels.`;
  if (width > MAX_SOURCE_SIDE || height > MAX_SOURCE_SIDE) {
    return `${name} is ${width}×${height}; pick an image of at most ${MAX_SOURCE_SIDE} pixels a side.`;
  }
  return null;
}

/** Bytes as base64 (no data: prefix), in chunks so a large file does not overflow the call stack. */
export function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  return btoa(binary);
}

/** The base64 part of a `data:…;base64,` URL (what the horde's fields carry). */
export function base64OfDataUrl(url: string): string {
  const comma = url.indexOf(',');
  return comma < 0 ? '' : url.slice(comma + 1);
}
