import { UserFacingError } from '../../common/result';

/**
 * A malformed, truncated or unsupported checkpoint file (.safetensors or .ckpt). The message names
 * the problem (and, where it helps, the file and the tensor) and reaches the user as the install's
 * failure, so both readers throw this one class.
 */
export class CheckpointFormatError extends UserFacingError {
  constructor(message: string) {
    super('ckpt-format', message);
    this.name = 'CheckpointFormatError';
  }
}
