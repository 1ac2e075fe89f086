import { UserFacingError } from '../../common/result';

/**
 * A LoRA or textual-inversion file HordeDesk cannot apply: unreadable, a layout it does not know, a key that names
 * no layer of this model, or a shape that does not fit. The message names the file and, where there is one, the
 * key (`key`), so a job's fault and the log say exactly what was refused.
 */
export class AddonFormatError extends UserFacingError {
  constructor(
    message: string,
    readonly key?: string,
  ) {
    super('addon-format', message);
    this.name = 'AddonFormatError';
  }
}

/** At most this many refused keys are named in one message; the count of the rest follows. */
export const LISTED_KEYS = 8;

/** "a, b, c and 12 more" for a message. */
export function listKeys(keys: readonly string[]): string {
  const shown = keys.slice(0, LISTED_KEYS).map((k) => `"${k.length > 160 ? `${k.slice(0, 160)}…` : k}"`);
  const more = keys.length - shown.length;
  return more > 0 ? `${shown.join(', ')} and ${more} more` : shown.join(', ');
}
