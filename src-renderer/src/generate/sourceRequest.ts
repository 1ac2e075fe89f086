import type { SourceProcessing } from '../../../src-main/common/inference';
import { canvasForRequest, imageCanvas, imagePixels, maskCanvas, paddedCanvas, REQUEST_IMAGE_CHARS } from './canvasImages';
import { countPainted, countTransparent } from './mask';
import { layoutProblem, outpaintLayout } from './outpaint';
import type { KindSources } from './useKindSources';
import type { PickedImage } from './useImageFile';

interface Size {
  width: number;
  height: number;
}

/** The images a request carries for its kind, and a note for the result on where they came from. */
export interface SourcePart {
  source_image?: string;
  source_mask?: string;
  note: string;
}

/** A picked file as it is, when it fits in a request; else redrawn by canvasForRequest. */
function fileForRequest(picked: PickedImage, size: Size): string {
  return picked.base64.length <= REQUEST_IMAGE_CHARS ? picked.base64 : canvasForRequest(imageCanvas(picked.img), size);
}

/** The inpainting mask: painted here (white where painted), the source's alpha (no mask sent), or a mask file. */
function inpaintingPart(source: PickedImage, sources: KindSources, size: Size): SourcePart {
  const source_image = fileForRequest(source, size);
  if (sources.maskChoice === 'alpha') {
    if (countTransparent(imagePixels(source.img)) === 0) {
      throw new Error(`${source.name} has no transparent pixels: paint the area to repaint, or pick a mask file.`);
    }
    return { source_image, note: "mask: the source's transparency" };
  }
  if (sources.maskChoice === 'file') {
    const mask = sources.maskFile.image;
    if (!mask) throw new Error('Pick a mask file (white repaints, black keeps), or paint the area to repaint.');
    return { source_image, source_mask: fileForRequest(mask, size), note: `mask: ${mask.name}` };
  }
  const overlay = sources.overlay.current;
  const painted = overlay?.getContext('2d')?.getImageData(0, 0, overlay.width, overlay.height).data;
  if (!overlay || !painted || countPainted(painted) === 0) throw new Error('Paint the area to repaint on the image first.');
  return { source_image, source_mask: canvasForRequest(maskCanvas(overlay), size), note: 'mask painted here' };
}

/**
 * The source image (and mask) a request of this kind carries, built as a horde client builds
 * them: the file for img2img, the file and a mask for inpainting, the source inside a
 * transparent border for outpainting. Throws what is missing, in words.
 */
export function sourcePart(mode: SourceProcessing, sources: KindSources, size: Size): SourcePart {
  if (mode === 'txt2img') return { note: '' };
  const source = sources.source.image;
  if (!source) throw new Error('Pick a source image first.');
  if (mode === 'img2img') return { source_image: fileForRequest(source, size), note: `from ${source.name}` };
  if (mode === 'inpainting') return inpaintingPart(source, sources, size);
  const layout = outpaintLayout(source, sources.border, size);
  const problem = layoutProblem(layout);
  if (problem) throw new Error(problem);
  return {
    source_image: canvasForRequest(paddedCanvas(source.img, layout), size),
    note: `${source.name} in a transparent border, ${layout.width}×${layout.height}`,
  };
}
