import { useRef, useState } from 'react';
import { loadImage } from './canvasImages';
import { bytesToBase64, sniffImageType, sourceFileProblem, sourceSizeProblem } from './sourceFile';

/** An image file the user picked: its bytes as base64 (what a request carries), its size, and a decoded copy to draw. */
export interface PickedImage {
  /** Grows with each pick, so a canvas drawn over an older image starts afresh. */
  id: number;
  name: string;
  base64: string;
  width: number;
  height: number;
  /** A data: URL of the file, for previews. */
  url: string;
  img: HTMLImageElement;
}

/** Reads, checks and decodes one file; throws the reason in words. */
async function readImageFile(file: File, id: number): Promise<PickedImage> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const problem = sourceFileProblem(file, bytes.subarray(0, 16));
  if (problem) throw new Error(problem);
  const base64 = bytesToBase64(bytes);
  const url = `data:${sniffImageType(bytes) ?? 'image/png'};base64,${base64}`;
  const img = await loadImage(url).catch(() => {
    throw new Error(`${file.name} could not be decoded as an image.`);
  });
  const sizeProblem = sourceSizeProblem(file.name, img.naturalWidth, img.naturalHeight);
  if (sizeProblem) throw new Error(sizeProblem);
  return { id, name: file.name, base64, width: img.naturalWidth, height: img.naturalHeight, url, img };
}

/** One picked image file (source or mask): pick replaces it, a bad file keeps the old one and says why. */
export interface ImageFile {
  image: PickedImage | null;
  error: string;
  reading: boolean;
  pick: (file: File | undefined) => void;
  clear: () => void;
}

/** The state of one image file input. */
export function useImageFile(): ImageFile {
  const [image, setImage] = useState<PickedImage | null>(null);
  const [error, setError] = useState('');
  const [reading, setReading] = useState(false);
  const next = useRef(0);
  const pick = (file: File | undefined): void => {
    if (!file) return;
    setReading(true);
    setError('');
    next.current += 1;
    readImageFile(file, next.current)
      .then(setImage)
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)))
      .finally(() => setReading(false));
  };
  const clear = (): void => {
    setImage(null);
    setError('');
  };
  return { image, error, reading, pick, clear };
}
