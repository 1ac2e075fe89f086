// Numbers the capability profile is built from, each with where it comes from.
// "SD-ONNX" is shared/docs/SD-ONNX.md and "PROTOCOL" is shared/docs/HORDE-PROTOCOL.md.
// All memory figures are MiB.

// Size classes sit a little under the marketing size, because tools report less than the label:
// nvidia-smi shows 24564 MiB on a "24 GB" RTX 4090 and 8188 MiB on an "8 GB" RTX 4060, and
// Windows keeps part of the RAM of a "16 GB" laptop for firmware and the integrated GPU.

/** "6 GB" class: a 6144 MiB card (RTX 2060, GTX 1660, RTX 3060 Laptop) and up. */
export const MEMORY_CLASS_6GB_MIB = 5632;
/** "8 GB" class. */
export const MEMORY_CLASS_8GB_MIB = 7680;
/**
 * "12 GB" class. Placed above 11264 MiB on purpose: PROTOCOL §6 jumps from the 8–10 GB tier to the
 * 12–16 GB tier, so the 11 GB GTX 1080 Ti / RTX 2080 Ti stay with the lower, safer tier.
 */
export const MEMORY_CLASS_12GB_MIB = 11776;
/** "16 GB" class (system RAM). */
export const MEMORY_CLASS_16GB_MIB = 14336;
/** "24 GB" class; a 20 GB card (RX 7900 XT) falls into the 12–16 GB tier, which is the safer side. */
export const MEMORY_CLASS_24GB_MIB = 23552;

/** PROTOCOL §6: max_pixels = max_power × 8 × 64 × 64. */
export const PIXELS_PER_MAX_POWER = 32_768;
/** Pops are sized in 64×64 blocks (schema comment on `maxPixels`). */
export const MAX_PIXELS_STEP = 64 * 64;
/** 512×512 = max_power 8 (PROTOCOL §6 reference point "8 → 512²"); also the floor for CPU-only machines. */
export const MIN_MAX_PIXELS = 512 * 512;

/**
 * PROTOCOL §6, reGen README tiers: 8–10 GB → max_power 32, 12–16 GB → 50, 24 GB+ → 64.
 * Below the 8 GB class the table says nothing; we stay at the 512² floor because SD 1.5 alone
 * peaks at 4.1–4.6 GB at 512² even with an optimized graph (SD-ONNX §7.3).
 * Ordered from the largest tier down: the first tier the memory reaches wins.
 */
export const MAX_POWER_TIERS: readonly { minMiB: number; maxPower: number; label: string }[] = [
  { minMiB: MEMORY_CLASS_24GB_MIB, maxPower: 64, label: 'the usual Horde setting for 24 GB cards' },
  { minMiB: MEMORY_CLASS_12GB_MIB, maxPower: 50, label: 'the usual Horde setting for 12–16 GB cards' },
  { minMiB: MEMORY_CLASS_8GB_MIB, maxPower: 32, label: 'the usual Horde setting for 8–10 GB cards' },
];

/**
 * SD 1.x on a GPU. PROTOCOL §6 quotes the legacy worker's "at least 6G VRAM"; SD-ONNX §7.3 measured
 * 4.1–4.6 GB peak for a fully optimized fp16 SD 1.5 pipeline at 512², and plain graphs need more.
 */
export const SD1_MIN_GPU_MIB = MEMORY_CLASS_6GB_MIB;
/**
 * SD 2.x on a GPU. Same ≈2 GB of weights as SD 1.x, but its native 768² means a 96² latent: 9216 tokens,
 * so one unfused attention layer holds 8 × 9216² fp16 scores ≈ 1.36 GB (computed the way SD-ONNX §7.3
 * gets its 256 MB at 512²). PROTOCOL §6 puts 768² (max_power 18) inside the 8–10 GB tier.
 */
export const SD2_MIN_GPU_MIB = MEMORY_CLASS_8GB_MIB;
/**
 * What an SDXL base model's graphs hold, measured on the full-size conversion of `npm run bench -- inference --family
 * sdxl` (fp16 install): UNet 4.784 GiB of weights, OpenCLIP-G 1.294 GiB, CLIP-L 0.229 GiB, the VAE decoder (kept in
 * fp32, SDXL's VAE overflows in half precision) 0.185 GiB and its encoder 0.127 GiB.
 */
export const SDXL_MEASURED_WEIGHTS_MIB = { unet: 4899, textEncoders: 1560, vaeDecoder: 189, vaeEncoder: 130 } as const;
/**
 * Room left for activations, ONNX Runtime's workspace and the desktop next to the UNet and the VAE decoder. Not
 * measured on a GPU: the fused-attention UNet's largest activation at a 128² latent is tens of MB, and the VAE
 * decoder's full-size 128-channel fp32 tensors at 1024² are 512 MB each, so a couple of GB covers a 1024² run.
 */
export const SDXL_ACTIVATION_ALLOWANCE_MIB = 2560;
/**
 * SDXL on a GPU: the UNet and VAE decoder's measured weights plus the allowance, the text encoders being released
 * before the UNet runs (the SDXL pipeline does so on every GPU). 4899 + 189 + 2560 = 7648 MiB: the 8 GB class.
 */
export const SDXL_MIN_GPU_MIB = Math.max(
  MEMORY_CLASS_8GB_MIB,
  SDXL_MEASURED_WEIGHTS_MIB.unet + SDXL_MEASURED_WEIGHTS_MIB.vaeDecoder + SDXL_ACTIVATION_ALLOWANCE_MIB,
);
/** PROTOCOL §6: SDXL needs ~9 GB of free system RAM, so a 16 GB machine at the very least. */
export const SDXL_MIN_SYSTEM_RAM_MIB = MEMORY_CLASS_16GB_MIB;
/**
 * SD 1.x / 2.x on the CPU. SD-ONNX §4.6: onnxruntime's CPU UNet peaked at 5.1–7.35 GB RSS (OnnxStream),
 * before the VAE, the app and the operating system are counted.
 */
export const CPU_SD_MIN_RAM_MIB = MEMORY_CLASS_16GB_MIB;

/**
 * Apple silicon: macOS lets the GPU wire only part of unified memory (Metal's
 * `recommendedMaxWorkingSetSize`). Apple does not publish the rule; users of Metal tools report about
 * two thirds on Macs with up to 36 GB and three quarters above. We take those figures as the GPU's share.
 */
export const UNIFIED_SHARE_SMALL_MAC = 2 / 3;
export const UNIFIED_SHARE_LARGE_MAC = 3 / 4;
export const UNIFIED_LARGE_MAC_ABOVE_MIB = 36 * 1024;

/**
 * Integrated Intel/AMD graphics borrow system RAM; Windows shows half of RAM as "shared GPU memory".
 * We plan with that half, knowing the rest of the machine needs the same memory.
 */
export const INTEGRATED_SHARED_FRACTION = 1 / 2;

/**
 * Win32_VideoController.AdapterRAM is a 32-bit byte count, so it saturates just under 4 GiB; when
 * systeminformation cannot read the registry size it falls back to it and reports 4095 MiB.
 */
export const WINDOWS_ADAPTER_RAM_CAP_MIB = 4095;

/**
 * Linux: the largest PCI memory window lspci shows is 256 MiB on a discrete card without Resizable BAR;
 * anything up to this size is read as a window, not as the card's memory.
 */
export const LINUX_PCI_WINDOW_MAX_MIB = 512;
