import type { InstallProgress } from './useModelInstalls';

/** An install's progress in words: percent, speed and time left while downloading, else the phase. */
export function progressText(p: InstallProgress): string {
  if (p.phase === 'downloading') {
    const pct = p.total ? ` ${Math.floor((100 * p.bytes) / p.total)}%` : '';
    const speed = p.bytesPerSecond ? ` · ${(p.bytesPerSecond / 1024 ** 2).toFixed(1)} MB/s` : '';
    const eta = p.etaSeconds !== null ? ` · ${Math.ceil(p.etaSeconds)} s left` : '';
    return `Downloading${pct}${speed}${eta}`;
  }
  return p.message ?? p.phase;
}

/** Bytes in GB, two decimals under 1 GB; '?' when the size is not known. */
export const gb = (bytes: number | null): string => (bytes === null ? '?' : `${(bytes / 1024 ** 3).toFixed(bytes < 1024 ** 3 ? 2 : 1)} GB`);
