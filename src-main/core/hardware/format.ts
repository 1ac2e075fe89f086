/** MiB as the "GB" a home user reads on the box: one decimal, none when whole ("12 GB", "10.7 GB"). */
export function formatGb(mib: number): string {
  return `${Math.round((mib / 1024) * 10) / 10} GB`;
}

/** The side of a square image with this many pixels, rounded down to a multiple of 8 as SD sizes are. */
export function squareSide(pixels: number): number {
  return Math.floor(Math.sqrt(pixels) / 8) * 8;
}
