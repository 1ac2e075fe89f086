import { statfs as fsStatfs } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

// Free-space checks before long downloads, so a full disk fails before the first byte.

/** The part of `fs.statfs` this module reads; tests pass a fake. */
export type StatfsFn = (path: string) => Promise<{ bavail: number | bigint; bsize: number | bigint }>;

/** Raised when a download would not fit on the disk. */
export class DiskSpaceError extends Error {
  override readonly name = 'DiskSpaceError';
  constructor(
    readonly neededBytes: number,
    readonly freeBytes: number,
  ) {
    super(`Not enough disk space: needs ${formatGb(neededBytes)}, ${formatGb(freeBytes)} free.`);
  }
}

/** Bytes as gigabytes with one decimal, e.g. "2.1 GB". */
export function formatGb(bytes: number): string {
  return `${(bytes / 1e9).toFixed(1)} GB`;
}

/**
 * Bytes available to this user on the file system holding `path`. A path that does not exist
 * yet is measured at its nearest existing ancestor.
 */
export async function freeBytes(path: string, statfs: StatfsFn = fsStatfs): Promise<number> {
  let current = resolve(path);
  for (;;) {
    try {
      const s = await statfs(current);
      return Number(s.bavail) * Number(s.bsize);
    } catch (error) {
      const parent = dirname(current);
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || parent === current) throw error;
      current = parent;
    }
  }
}

/** Throws {@link DiskSpaceError} unless `neededBytes` fit under `path`. */
export async function ensureFreeSpace(path: string, neededBytes: number, statfs?: StatfsFn): Promise<void> {
  if (neededBytes <= 0) return;
  const free = await freeBytes(path, statfs);
  if (free < neededBytes) throw new DiskSpaceError(neededBytes, free);
}
