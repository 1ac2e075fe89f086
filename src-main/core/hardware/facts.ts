import type { SiGraphicsController } from './gpus';

/** Everything the capability profile is computed from; gathered by the Node adapter, or written by hand in tests. */
export interface HardwareFacts {
  /** Node's names: 'win32', 'linux', 'darwin' (si's 'Windows' is accepted and normalized). */
  platform: string;
  /** The arch of the Node process, which decides which onnxruntime-node binary loads. */
  arch: string;
  release: string;
  cpuBrand: string;
  cores: number;
  memoryMiB: number;
  graphics: { controllers: readonly SiGraphicsController[] };
  /** Raw stdout of `nvidia-smi` with NVIDIA_SMI_ARGS; absent when it was not run or not installed. */
  nvidiaSmi?: string | undefined;
  /** Linux x64: whether onnxruntime-node's CUDA libraries are present; undefined when not known. */
  cudaLibrariesInstalled?: boolean | undefined;
  /** ISO 8601 time of detection (the pure layer has no clock). */
  detectedAt: string;
}

/** The parts of systeminformation's graphics(), osInfo(), cpu() and mem() results the profile needs. */
export interface SystemInformationSnapshot {
  /** si resolves null on the BSDs and SunOS. */
  graphics: { controllers: readonly SiGraphicsController[] } | null;
  osInfo: { platform: string; arch: string; distro?: string; release?: string };
  cpu: { manufacturer?: string; brand?: string; cores?: number; physicalCores?: number };
  /** Bytes. */
  mem: { total: number };
}

const MIB = 1024 * 1024;

/** Node's platform name for what si or a user may write ('Windows' → 'win32', 'macOS' → 'darwin'). */
export function normalizePlatform(platform: string): string {
  const name = platform.trim().toLowerCase();
  if (name === 'windows' || name === 'win32') return 'win32';
  if (name === 'macos' || name === 'mac' || name === 'darwin') return 'darwin';
  return name;
}

/** Maps a systeminformation snapshot (live or from a fixture) to `HardwareFacts`. */
export function hardwareFactsFromSystemInformation(
  snapshot: SystemInformationSnapshot,
  extra: { detectedAt: string; nvidiaSmi?: string | undefined; cudaLibrariesInstalled?: boolean | undefined },
): HardwareFacts {
  const { osInfo, cpu } = snapshot;
  const manufacturer = cpu.manufacturer?.trim() ?? '';
  const brand = cpu.brand?.trim() ?? '';
  // si splits "AMD" from "Ryzen 5 5600X"; put them back together unless the brand already says it.
  const cpuBrand = brand.toLowerCase().startsWith(manufacturer.toLowerCase()) ? brand : `${manufacturer} ${brand}`.trim();
  // Physical cores: onnxruntime's intra-op threads scale with them, hyper-threads add little.
  const cores = positiveInt(cpu.physicalCores) ?? positiveInt(cpu.cores) ?? 0;
  return {
    platform: normalizePlatform(osInfo.platform),
    arch: osInfo.arch.trim(),
    release: [osInfo.distro, osInfo.release]
      .map((part) => part?.trim() ?? '')
      .filter((part) => part !== '')
      .join(' '),
    cpuBrand: cpuBrand || 'Unknown processor',
    cores,
    memoryMiB: Math.max(0, Math.floor(snapshot.mem.total / MIB)),
    graphics: { controllers: snapshot.graphics?.controllers ?? [] },
    nvidiaSmi: extra.nvidiaSmi,
    cudaLibrariesInstalled: extra.cudaLibrariesInstalled,
    detectedAt: extra.detectedAt,
  };
}

function positiveInt(value: number | undefined): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : undefined;
}
