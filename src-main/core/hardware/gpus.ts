import type { Gpu, GpuVendor } from '../../common/hardware';
import type { NvidiaSmiGpu } from './nvidiaSmi';
import {
  LINUX_PCI_WINDOW_MAX_MIB,
  UNIFIED_LARGE_MAC_ABOVE_MIB,
  UNIFIED_SHARE_LARGE_MAC,
  UNIFIED_SHARE_SMALL_MAC,
  WINDOWS_ADAPTER_RAM_CAP_MIB,
} from './thresholds';
import { formatGb } from './format';

/**
 * The fields of a systeminformation `graphics().controllers[]` entry this module reads. All optional:
 * which ones si fills depends on the OS (Windows: WMI, Linux: lspci + nvidia-smi + clinfo, macOS: system_profiler).
 */
export interface SiGraphicsController {
  vendor?: string;
  vendorId?: string;
  model?: string;
  /** Set by si only when its own nvidia-smi query matched this card. */
  name?: string;
  bus?: string;
  vram?: number | null;
  vramDynamic?: boolean;
  driverVersion?: string;
  /** MiB, from si's own nvidia-smi query. */
  memoryTotal?: number;
}

const PCI_VENDOR_IDS: Readonly<Record<string, GpuVendor>> = {
  '10de': 'nvidia',
  '1002': 'amd',
  '8086': 'intel',
  '106b': 'apple',
  // si's macOS code writes Apple's USB vendor id here.
  '05ac': 'apple',
};

// Adapters that exist but cannot run Stable Diffusion: virtual machine and remote-desktop displays,
// software rasterizers, and server management chips (ASPEED, Matrox G200) that only drive a console.
const UNUSABLE_ADAPTERS: readonly { pattern: RegExp; why: string }[] = [
  { pattern: /microsoft basic (display|render)|standard vga/i, why: 'Windows uses it when a graphics card has no driver installed' },
  {
    pattern: /vmware|virtualbox|vbox(s)?vga|innotek|hyper-v|parallels|\bqxl\b|virtio|bochs|\bqemu\b|cirrus logic/i,
    why: 'it is the virtual screen of a virtual machine',
  },
  {
    pattern: /llvmpipe|softpipe|lavapipe|swiftshader|microsoft remote display|citrix|parsec|indirect display|virtual display|displaylink/i,
    why: 'it is a software or remote display, not a graphics processor',
  },
  { pattern: /aspeed|matrox g200/i, why: 'it is a server management chip that only drives a basic screen' },
];

const INTEL_DISCRETE = /\barc(\(tm\))?\s*(pro\s*)?[ab]\d{2,3}|\bdg[12]\b|iris(\(r\))?\s*xe\s*max/i;
// AMD integrated graphics: names without a model number ("AMD Radeon(TM) Graphics"), the mobile
// "780M"-style names, Vega/R-series APU names, and Linux lspci codenames of APU dies.
const AMD_INTEGRATED =
  /radeon(\(tm\))?\s*graphics\s*$|radeon(\(tm\))?\s*(vega\s*\d+|r[2-7])\s*graphics|radeon(\(tm\))?\s*\d{3}m\b|vega (mobile|series)|\b(renoir|cezanne|lucienne|rembrandt|raphael|phoenix\d?|hawk point|strix|barcelo|picasso|raven\d?|mendocino|van gogh|granite ridge)\b/i;
const NVIDIA_INTEGRATED = /tegra|orin|xavier|jetson/i;

/** Vendor from si's vendor string, then the card's name, then the PCI vendor id. */
export function detectGpuVendor(controller: SiGraphicsController): GpuVendor {
  for (const text of [controller.vendor, controller.name, controller.model, controller.vendorId]) {
    const vendor = vendorFromText(text ?? '');
    if (vendor !== 'other') return vendor;
  }
  const id = (controller.vendorId ?? '').toLowerCase().replace(/^0x/, '');
  return PCI_VENDOR_IDS[id] ?? 'other';
}

function vendorFromText(text: string): GpuVendor {
  if (/nvidia|geforce|quadro/i.test(text)) return 'nvidia';
  if (/advanced micro devices|\bamd\b|\bati\b|radeon/i.test(text)) return 'amd';
  if (/intel/i.test(text)) return 'intel';
  if (/apple/i.test(text)) return 'apple';
  return 'other';
}

/** Why an adapter is not a usable GPU (virtual, software or management display), or null when it may be one. */
export function unusableAdapterReason(controller: SiGraphicsController): string | null {
  const text = `${controller.vendor ?? ''} ${controller.model ?? ''} ${controller.name ?? ''}`;
  return UNUSABLE_ADAPTERS.find((entry) => entry.pattern.test(text))?.why ?? null;
}

/** Whether the GPU is part of the processor and shares system memory. */
export function isIntegratedGpu(controller: SiGraphicsController, vendor: GpuVendor, platform: string): boolean {
  const names = [controller.model ?? '', controller.name ?? ''].map((name) => name.trim());
  // si sets vramDynamic from Win32_VideoController.VideoMemoryType == 2, which means "Unknown" and is what
  // most Windows drivers report, discrete cards included, so it only counts off Windows.
  const sharedMemory = platform !== 'win32' && controller.vramDynamic === true;
  if (platform === 'darwin' && controller.bus === 'Built-In') return true;
  switch (vendor) {
    case 'apple':
      return true;
    case 'intel':
      return !names.some((name) => INTEL_DISCRETE.test(name));
    case 'amd':
      return sharedMemory || names.some((name) => AMD_INTEGRATED.test(name));
    case 'nvidia':
      return names.some((name) => NVIDIA_INTEGRATED.test(name));
    default:
      return sharedMemory;
  }
}

/** The share of unified memory an Apple silicon GPU may use (see the thresholds for the source). */
export function unifiedMemoryShareMiB(memoryMiB: number): number {
  const share = memoryMiB > UNIFIED_LARGE_MAC_ABOVE_MIB ? UNIFIED_SHARE_LARGE_MAC : UNIFIED_SHARE_SMALL_MAC;
  return Math.floor(memoryMiB * share);
}

/**
 * Turns si's controllers into `Gpu`s: drops unusable adapters, fixes the vendor and the integrated flag,
 * and lets nvidia-smi's figures replace si's for NVIDIA cards. NVIDIA cards that only nvidia-smi lists
 * (si found no PCI device, as in some containers) are added.
 */
export function normalizeGpus(input: {
  controllers: readonly SiGraphicsController[];
  platform: string;
  memoryMiB: number;
  nvidiaSmi: readonly NvidiaSmiGpu[];
}): { gpus: Gpu[]; notes: string[] } {
  const gpus: Gpu[] = [];
  const notes: string[] = [];
  const nvidiaSlots: number[] = [];
  for (const controller of input.controllers) {
    const name = controllerName(controller);
    const why = unusableAdapterReason(controller);
    if (why !== null) {
      notes.push(`Ignored "${name}": ${why}, and it cannot run Stable Diffusion.`);
      continue;
    }
    const vendor = detectGpuVendor(controller);
    const gpu = fromController(controller, vendor, name, input);
    if (vendor === 'nvidia') nvidiaSlots.push(gpus.length);
    gpus.push(gpu);
  }

  for (const smi of input.nvidiaSmi) {
    const slot = takeMatchingSlot(nvidiaSlots, gpus, smi.name);
    const before = slot === undefined ? undefined : gpus[slot];
    const merged: Gpu = {
      vendor: 'nvidia',
      name: smi.name,
      vramMiB: smi.memoryMiB ?? before?.vramMiB ?? null,
      vramSource: smi.memoryMiB !== null ? 'nvidia-smi' : (before?.vramSource ?? 'unknown'),
      integrated: before?.integrated ?? NVIDIA_INTEGRATED.test(smi.name),
      driverVersion: smi.driverVersion ?? before?.driverVersion ?? null,
    };
    if (slot === undefined || before === undefined) {
      gpus.push(merged);
      continue;
    }
    // On Windows si's figure is often the 4095 MiB AdapterRAM cap (see WINDOWS_ADAPTER_RAM_CAP_MIB);
    // nvidia-smi asks the driver, so it wins. Say so when the two disagree, since the user may have seen the other number.
    if (
      input.platform === 'win32' &&
      before.vramSource === 'systeminformation' &&
      before.vramMiB !== null &&
      merged.vramMiB !== null &&
      Math.abs(before.vramMiB - merged.vramMiB) > merged.vramMiB * 0.05
    ) {
      notes.push(
        `Windows reported ${formatGb(before.vramMiB)} of graphics memory for the ${merged.name}; NVIDIA's own tool reports ${formatGb(merged.vramMiB)}, which HordeDesk uses.`,
      );
    }
    gpus[slot] = merged;
  }

  for (const gpu of gpus) {
    if (input.platform === 'win32' && gpu.vramSource === 'systeminformation' && gpu.vramMiB === WINDOWS_ADAPTER_RAM_CAP_MIB) {
      notes.push(
        `Windows reports exactly 4 GB for the ${gpu.name}, which is often a reporting limit rather than the real size; HordeDesk plans with 4 GB to be safe.`,
      );
    }
  }
  return { gpus, notes };
}

function fromController(
  controller: SiGraphicsController,
  vendor: GpuVendor,
  name: string,
  input: { platform: string; memoryMiB: number },
): Gpu {
  const integrated = isIntegratedGpu(controller, vendor, input.platform);
  const driverVersion = controller.driverVersion?.trim() || null;
  if (vendor === 'apple') {
    return { vendor, name, vramMiB: unifiedMemoryShareMiB(input.memoryMiB), vramSource: 'unified-memory', integrated, driverVersion };
  }
  if (vendor === 'nvidia' && positive(controller.memoryTotal) !== null) {
    return { vendor, name, vramMiB: positive(controller.memoryTotal), vramSource: 'nvidia-smi', integrated, driverVersion };
  }
  let vramMiB = positive(controller.vram);
  // On Linux si takes the largest PCI memory window from lspci: the whole VRAM with Resizable BAR, but a
  // 256 MiB window without it. A figure that small on a discrete card says nothing about its memory.
  if (input.platform === 'linux' && !integrated && vramMiB !== null && vramMiB <= LINUX_PCI_WINDOW_MAX_MIB) vramMiB = null;
  return { vendor, name, vramMiB, vramSource: vramMiB === null ? 'unknown' : 'systeminformation', integrated, driverVersion };
}

function positive(value: number | null | undefined): number | null {
  // Windows figures come from bytes / 1024², so 4095.99… is common; MiB below the next whole one.
  return typeof value === 'number' && Number.isFinite(value) && value >= 1 ? Math.floor(value) : null;
}

/** A readable name: si's nvidia-smi name, else the model; Linux lspci models keep the marketing name in brackets. */
function controllerName(controller: SiGraphicsController): string {
  const name = controller.name?.trim() || controller.model?.trim() || '';
  const bracketed = [...name.matchAll(/\[([^\]]+)\]/g)].pop()?.[1]?.trim();
  return bracketed || name || controller.vendor?.trim() || 'Unknown graphics adapter';
}

function comparableName(name: string): string {
  return name
    .toLowerCase()
    .replace(/\(tm\)|\(r\)|nvidia|geforce|corporation/g, '')
    .replace(/[^a-z0-9]/g, '');
}

// Pairs an nvidia-smi row with an si NVIDIA controller: same name first, then one name inside the other
// ("RTX 3060" in lspci's "RTX 3060 Lite Hash Rate"), then bus order, which both tools follow.
function takeMatchingSlot(slots: number[], gpus: readonly Gpu[], smiName: string): number | undefined {
  const wanted = comparableName(smiName);
  const nameAt = (slot: number): string => comparableName(gpus[slot]?.name ?? '');
  let index = slots.findIndex((slot) => nameAt(slot) === wanted);
  if (index < 0)
    index = slots.findIndex(
      (slot) => wanted !== '' && nameAt(slot) !== '' && (nameAt(slot).includes(wanted) || wanted.includes(nameAt(slot))),
    );
  if (index < 0 && slots.length > 0) index = 0;
  return index < 0 ? undefined : slots.splice(index, 1)[0];
}
