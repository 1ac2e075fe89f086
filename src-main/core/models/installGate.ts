import { UserFacingError } from '../../common/result';
import type { CatalogEntry } from './catalog';
import { isVerifiable, unverifiedReason } from './verification';

/** What Install may go ahead with: the entry, and whether its file is installed without a sha256. */
export interface InstallPermit {
  entry: CatalogEntry;
  /** True only when the file has no sha256 and the user chose "Install anyway". */
  allowUnverified: boolean;
}

/**
 * Whether the catalog entry called `name` may be installed. Throws a UserFacingError for a name
 * the reference lacks, a model that does not fit this machine, and a file with no sha256 to check
 * unless the user chose "Install anyway" (`allowUnverified`).
 */
export function permitInstall(name: string, entry: CatalogEntry | null, allowUnverified: boolean): InstallPermit {
  if (!entry) throw new UserFacingError('unknown-model', `The model reference has no model called ${name}.`);
  if (!entry.fits) throw new UserFacingError('model-does-not-fit', `${name}: ${entry.fitReason}`);
  const verifiable = isVerifiable(entry.downloads);
  if (!verifiable && !allowUnverified) {
    throw new UserFacingError(
      'unverified-model',
      `${name}: this file cannot be verified. ${unverifiedReason(entry.downloads)} To go ahead, choose Install anyway on the Models page.`,
    );
  }
  return { entry, allowUnverified: !verifiable && allowUnverified };
}

/** Refuses to delete the model the inference worker has loaded (`loadedModel`). */
export function permitDelete(name: string, loadedModel: string | null): void {
  if (loadedModel === name)
    throw new UserFacingError('model-in-use', `${name} is loaded; stop the worker (and the Generate page) before deleting it.`);
}
