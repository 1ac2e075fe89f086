import { UserFacingError } from '../../common/result';

/**
 * An upscaler file HordeDesk cannot map to one of its graphs: an unknown layout, a missing, mis-shaped or left-over
 * tensor, numbers the horde's loader would not accept. `tensor` names the tensor (as the file spells it) when one is
 * the reason; the message says it too and reaches the user as the install's failure.
 */
export class UpscalerFormatError extends UserFacingError {
  constructor(
    message: string,
    readonly tensor?: string,
  ) {
    super('upscaler-format', message, tensor === undefined ? undefined : { fields: { tensor } });
    this.name = 'UpscalerFormatError';
  }
}

/** Out of memory even with the smallest tile ComfyUI tries (128), as ComfyUI itself gives up. */
export class UpscalerMemoryError extends UserFacingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('upscale-out-of-memory', message, options);
    this.name = 'UpscalerMemoryError';
  }
}
