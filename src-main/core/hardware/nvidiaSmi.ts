/** One GPU as nvidia-smi describes it. */
export interface NvidiaSmiGpu {
  name: string;
  /** memory.total in MiB; null when nvidia-smi printed "[N/A]" (some unified-memory boards do). */
  memoryMiB: number | null;
  driverVersion: string | null;
}

/** What came out of an nvidia-smi run: the GPUs it listed and sentences about anything it could not read. */
export interface NvidiaSmiReport {
  gpus: NvidiaSmiGpu[];
  notes: string[];
}

/**
 * The arguments the parser expects: exactly three columns, no header, numbers without units.
 * Kept next to the parser so the query and its reading cannot drift apart.
 */
export const NVIDIA_SMI_ARGS: readonly string[] = ['--query-gpu=name,memory.total,driver_version', '--format=csv,noheader,nounits'];

const NOT_AVAILABLE = /^\[?(n\/a|not supported|unknown error|insufficient permissions)\]?$/i;
const NOTE_LINE_LIMIT = 160;

/**
 * Parses `nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader,nounits`.
 * Lines that are not GPU rows (driver errors, "No devices were found", warnings) are skipped, each
 * with a note, so a broken driver shows up in the profile instead of as an exception.
 */
export function parseNvidiaSmi(text: string): NvidiaSmiReport {
  const gpus: NvidiaSmiGpu[] = [];
  const notes: string[] = [];
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '') continue;
    const gpu = parseRow(line);
    if (gpu) gpus.push(gpu);
    else notes.push(`The NVIDIA tool (nvidia-smi) printed a line HordeDesk could not use, so it was ignored: "${shorten(line)}".`);
  }
  for (const gpu of gpus) {
    if (gpu.memoryMiB === null) {
      notes.push(`The NVIDIA tool (nvidia-smi) did not say how much graphics memory the ${gpu.name} has.`);
    }
  }
  return { gpus, notes };
}

function parseRow(line: string): NvidiaSmiGpu | null {
  const fields = line.split(',').map((field) => field.trim());
  // Read from the right: the last two columns are fixed, so a name that ever contained a comma
  // would still come out whole.
  if (fields.length < 3) return null;
  const driverField = fields[fields.length - 1] ?? '';
  const memoryField = fields[fields.length - 2] ?? '';
  const name = fields.slice(0, -2).join(', ');
  if (name === '' || NOT_AVAILABLE.test(name)) return null;

  let memoryMiB: number | null;
  if (/^\d+(\.\d+)?$/.test(memoryField)) memoryMiB = Math.floor(Number(memoryField));
  else if (NOT_AVAILABLE.test(memoryField)) memoryMiB = null;
  else return null;

  let driverVersion: string | null;
  if (/^\d+(\.\d+)*$/.test(driverField)) driverVersion = driverField;
  else if (NOT_AVAILABLE.test(driverField)) driverVersion = null;
  else return null;

  return { name, memoryMiB, driverVersion };
}

function shorten(line: string): string {
  return line.length <= NOTE_LINE_LIMIT ? line : `${line.slice(0, NOTE_LINE_LIMIT - 1)}…`;
}
