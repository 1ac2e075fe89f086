import type { CatalogDownload } from './catalog';

// Whether HordeDesk can check what Install downloads. The reference's `config.files` may give a
// sha256 per file; a file without one could be damaged or replaced on its host unnoticed, so it
// is installed only when the user says so on the Models page.

/** The file Install fetches and converts: the first .safetensors or .ckpt of the entry. */
export function checkpointDownload(downloads: readonly CatalogDownload[]): CatalogDownload | undefined {
  return downloads.find((d) => /\.(safetensors|ckpt)$/i.test(d.fileName));
}

/** True when the file Install fetches has a sha256 to check it against (or there is no such file). */
export function isVerifiable(downloads: readonly CatalogDownload[]): boolean {
  const file = checkpointDownload(downloads);
  return file === undefined || file.sha256 !== null;
}

/** Why a file cannot be verified, in the words the Models page shows under "This file cannot be verified." */
export function unverifiedReason(downloads: readonly CatalogDownload[]): string {
  const file = checkpointDownload(downloads);
  let host = 'its host';
  try {
    if (file) host = new URL(file.url).host;
  } catch {
    // A reference URL that does not parse keeps the generic words.
  }
  return `The model reference gives no sha256 for it, so a damaged or replaced download from ${host} would go unnoticed. Install it only if you trust that source.`;
}
