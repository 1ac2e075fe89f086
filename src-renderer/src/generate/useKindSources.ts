import { useRef, useState, type RefObject } from 'react';
import type { Border, BorderChoice } from './outpaint';
import { useImageFile, type ImageFile } from './useImageFile';

/** Where an inpainting mask comes from: painted here, the source's own transparency, or a mask file. */
export type MaskChoice = 'paint' | 'alpha' | 'file';

/** The images behind a request with a source: the source file, the mask (painted or a file) and the outpainting border. */
export interface KindSources {
  source: ImageFile;
  maskFile: ImageFile;
  /** The painting overlay, while the painter is shown. */
  overlay: RefObject<HTMLCanvasElement | null>;
  maskChoice: MaskChoice;
  setMaskChoice: (choice: MaskChoice) => void;
  /** The border as outpaintLayout takes it, from the two below. */
  border: BorderChoice;
  /** The pixels per side, kept while "expand to the chosen size" is chosen. */
  sides: Border;
  setSides: (sides: Border) => void;
  setBorderKind: (kind: BorderChoice['kind']) => void;
}

/** 64 pixels on each side: one latent tile of 8 at SD's 8× downscale, a common outpainting step. */
export const INITIAL_SIDES: Border = { top: 64, right: 64, bottom: 64, left: 64 };

/** The state of the source image, the mask and the border. */
export function useKindSources(): KindSources {
  const source = useImageFile();
  const maskFile = useImageFile();
  const overlay = useRef<HTMLCanvasElement | null>(null);
  const [maskChoice, setMaskChoice] = useState<MaskChoice>('paint');
  const [sides, setSides] = useState<Border>(INITIAL_SIDES);
  const [borderKind, setBorderKind] = useState<BorderChoice['kind']>('sides');
  const border: BorderChoice = borderKind === 'sides' ? { kind: 'sides', border: sides } : { kind: 'fit' };
  return { source, maskFile, overlay, maskChoice, setMaskChoice, border, sides, setSides, setBorderKind };
}
