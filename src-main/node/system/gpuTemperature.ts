import { execFile } from 'node:child_process';
import path from 'node:path';
import type { TemperaturePort } from '../../core/schedule/scheduler';

/** nvidia-smi arguments for the temperature of every GPU, one number per line. */
export const NVIDIA_SMI_TEMPERATURE_ARGS = ['--query-gpu=temperature.gpu', '--format=csv,noheader,nounits'] as const;

const TIMEOUT_MS = 3_000;

/**
 * The hottest GPU's temperature in °C from nvidia-smi's output; null when no line is a number
 * ("[N/A]", driver failure messages, empty output).
 */
export function parseGpuTemperature(stdout: string): number | null {
  const readings = stdout
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => /^-?\d+(\.\d+)?$/.test(line))
    .map(Number);
  return readings.length === 0 ? null : Math.max(...readings);
}

// Same places as hardware.ts looks: PATH, and the pre-2019 Windows driver folder.
function candidates(): string[] {
  if (process.platform !== 'win32') return ['nvidia-smi'];
  const programFiles = process.env['ProgramFiles'] ?? 'C:\\Program Files';
  return ['nvidia-smi', path.win32.join(programFiles, 'NVIDIA Corporation', 'NVSMI', 'nvidia-smi.exe')];
}

function run(command: string): Promise<string | 'missing' | null> {
  return new Promise((resolve) => {
    try {
      execFile(command, [...NVIDIA_SMI_TEMPERATURE_ARGS], { timeout: TIMEOUT_MS, windowsHide: true, encoding: 'utf8' }, (error, stdout) => {
        if (!error) return resolve(stdout);
        resolve((error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : null);
      });
    } catch {
      resolve(null);
    }
  });
}

/**
 * Reads the GPU temperature (the hottest NVIDIA GPU) with nvidia-smi, 3 s timeout. Resolves null when
 * nvidia-smi is absent (macOS, AMD, Intel), fails, times out or prints something unparsable; never rejects.
 */
export async function readGpuTemperature(): Promise<number | null> {
  if (process.platform === 'darwin') return null;
  for (const command of candidates()) {
    const out = await run(command);
    if (out === 'missing') continue;
    return out === null ? null : parseGpuTemperature(out);
  }
  return null;
}

/** readGpuTemperature as the scheduler's TemperaturePort. */
export function createGpuTemperatureSource(): TemperaturePort {
  return { gpuTempC: readGpuTemperature };
}
