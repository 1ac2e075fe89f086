import type { Gpu, ModelFamily } from '../../common/hardware';
import { formatGb } from './format';
import {
  CPU_SD_MIN_RAM_MIB,
  INTEGRATED_SHARED_FRACTION,
  MAX_PIXELS_STEP,
  MAX_POWER_TIERS,
  MIN_MAX_PIXELS,
  PIXELS_PER_MAX_POWER,
  SD1_MIN_GPU_MIB,
  SD2_MIN_GPU_MIB,
  SDXL_MIN_GPU_MIB,
  SDXL_MIN_SYSTEM_RAM_MIB,
} from './thresholds';

/** Whether a model family fits this machine, with the sentence shown to the user. */
export interface FamilyVerdict {
  family: ModelFamily;
  fits: boolean;
  reason: string;
}

const GPU_NEEDS: Readonly<Record<ModelFamily, { minMiB: number; label: string; what: string }>> = {
  sd1: { minMiB: SD1_MIN_GPU_MIB, label: '6 GB', what: 'SD 1.x models (512×512)' },
  sd2: { minMiB: SD2_MIN_GPU_MIB, label: '8 GB', what: 'SD 2.x models (768×768)' },
  sdxl: { minMiB: SDXL_MIN_GPU_MIB, label: '8 GB', what: 'SDXL models (1024×1024)' },
};
const FAMILIES: readonly ModelFamily[] = ['sd1', 'sd2', 'sdxl'];

/** Whether the GPU borrows ordinary system RAM (Intel/AMD integrated graphics; Apple's share is computed apart). */
export function borrowsSystemMemory(gpu: Gpu): boolean {
  return gpu.integrated && gpu.vramSource !== 'unified-memory';
}

/**
 * The memory the worker can plan with on this GPU: its VRAM, Apple's unified share, or for other
 * integrated graphics the part of system RAM they may borrow (si only shows their small fixed carve-out).
 */
export function gpuMemoryBudgetMiB(gpu: Gpu, memoryMiB: number): number | null {
  return borrowsSystemMemory(gpu) ? Math.floor(memoryMiB * INTEGRATED_SHARED_FRACTION) : gpu.vramMiB;
}

/** Whether the GPU has at least the memory SD 1.x needs (unknown counts as yes: it is a real GPU, we cannot tell). */
export function canRunSd1(budgetMiB: number | null): boolean {
  return budgetMiB === null || budgetMiB >= SD1_MIN_GPU_MIB;
}

/**
 * Suggested `max_pixels` for pops: HORDE-PROTOCOL §6 tiers by graphics memory, the 512×512 floor for the
 * CPU, integrated graphics and unknown memory. Always a multiple of 64×64 and never below 512×512.
 */
export function suggestMaxPixels(primary: Gpu | null, budgetMiB: number | null): { maxPixels: number; why: string } {
  let maxPower = MIN_MAX_PIXELS / PIXELS_PER_MAX_POWER;
  let why: string;
  if (primary === null) why = 'the smallest setting, because the processor is slow';
  else if (borrowsSystemMemory(primary)) why = 'the smallest setting, because built-in graphics are slow';
  else if (budgetMiB === null) why = 'the smallest setting, because the graphics memory size is unknown';
  else {
    const tier = MAX_POWER_TIERS.find((candidate) => budgetMiB >= candidate.minMiB);
    if (tier) {
      maxPower = tier.maxPower;
      why = tier.label;
    } else why = 'the smallest setting, for graphics memory under 8 GB';
  }
  const pixels = Math.floor((maxPower * PIXELS_PER_MAX_POWER) / MAX_PIXELS_STEP) * MAX_PIXELS_STEP;
  return { maxPixels: Math.max(MIN_MAX_PIXELS, pixels), why };
}

/** Which of SD1.x, SD2.x and SDXL fit, on the chosen GPU or, without one, on the CPU by system RAM. */
export function assessModelFamilies(input: {
  primary: Gpu | null;
  budgetMiB: number | null;
  memoryMiB: number;
  canGenerate: boolean;
}): FamilyVerdict[] {
  if (!input.canGenerate) {
    const reason = 'onnxruntime-node has no build for this computer, so HordeDesk cannot generate images here.';
    return FAMILIES.map((family) => ({ family, fits: false, reason }));
  }
  const gpu = input.primary;
  return gpu
    ? FAMILIES.map((family) => onGpu(family, gpu, input.budgetMiB, input.memoryMiB))
    : FAMILIES.map((family) => onCpu(family, input.memoryMiB));
}

function onGpu(family: ModelFamily, gpu: Gpu, budgetMiB: number | null, memoryMiB: number): FamilyVerdict {
  const need = GPU_NEEDS[family];
  if (budgetMiB === null) {
    return family === 'sd1'
      ? {
          family,
          fits: true,
          reason: `HordeDesk could not read how much graphics memory the ${gpu.name} has; SD 1.x is the smallest family (about 6 GB), so it assumes it fits.`,
        }
      : {
          family,
          fits: false,
          reason: `${need.what} need about ${need.label} of graphics memory, and HordeDesk could not read how much the ${gpu.name} has.`,
        };
  }
  const have = describeGpuMemory(gpu, budgetMiB);
  if (family === 'sdxl' && borrowsSystemMemory(gpu)) {
    // SD-ONNX §7.1: an SDXL step is about 8 times an SD 1.x step; built-in graphics already take minutes per SD 1.x image.
    return {
      family,
      fits: false,
      reason: `Built-in graphics are too slow for SDXL models: an image would take far longer than the Horde waits; ${have}.`,
    };
  }
  if (budgetMiB < need.minMiB) {
    return { family, fits: false, reason: `${need.what} need about ${need.label} of graphics memory; ${have}.` };
  }
  // Unified memory is already counted in the GPU share; a separate card still needs room in system RAM for SDXL.
  if (family === 'sdxl' && gpu.vramSource !== 'unified-memory' && memoryMiB < SDXL_MIN_SYSTEM_RAM_MIB) {
    return {
      family,
      fits: false,
      reason: `The ${gpu.name} has enough graphics memory, but SDXL also needs about 9 GB of free system memory: 16 GB in total, and this computer has ${formatGb(memoryMiB)}.`,
    };
  }
  const slow = borrowsSystemMemory(gpu) ? ' Built-in graphics are slow, so expect minutes per image.' : '';
  return { family, fits: true, reason: `${need.what} need about ${need.label} of graphics memory; ${have}.${slow}` };
}

function onCpu(family: ModelFamily, memoryMiB: number): FamilyVerdict {
  if (family === 'sdxl') {
    // SD-ONNX §7.1: 13.5 TFLOP per SDXL step vs 1.61 for SD 1.5; §7.2: ≈5 min for a 20-step SD 1.5 image on
    // a CPU. HORDE-PROTOCOL §2.10: a 1024² job expires after a few minutes.
    return {
      family,
      fits: false,
      reason:
        'Too slow on the processor: an SDXL image is about 8 times the work of an SD 1.x image, close to an hour, far longer than the Horde waits for a job.',
    };
  }
  const what = GPU_NEEDS[family].what;
  return memoryMiB >= CPU_SD_MIN_RAM_MIB
    ? {
        family,
        fits: true,
        reason: `${what} can run on the processor with ${formatGb(memoryMiB)} of memory (16 GB needed), but slowly: several minutes per image.`,
      }
    : {
        family,
        fits: false,
        reason: `${what} need about 16 GB of system memory on the processor; this computer has ${formatGb(memoryMiB)}.`,
      };
}

function describeGpuMemory(gpu: Gpu, budgetMiB: number): string {
  if (gpu.vramSource === 'unified-memory') return `the ${gpu.name} may use about ${formatGb(budgetMiB)} of this Mac's memory`;
  if (borrowsSystemMemory(gpu)) return `the ${gpu.name} can borrow about ${formatGb(budgetMiB)} of system memory`;
  return `the ${gpu.name} has ${formatGb(budgetMiB)}`;
}
