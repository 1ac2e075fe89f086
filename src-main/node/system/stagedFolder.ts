import { renameSync, rmSync } from 'node:fs';

/**
 * Writes a folder in one go: `write` fills `<dir>.partial-<pid>`, which then replaces `dir` with one
 * rename, so a half-written folder is never listed or loaded; on an error the staging folder is removed.
 */
export function writeFolderStaged(dir: string, write: (staging: string) => void): string {
  const staging = `${dir}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  try {
    write(staging);
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  return dir;
}
